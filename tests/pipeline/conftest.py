"""The pipeline's tests (deadlines, retries, the reader, the transport, aiohttp's private names)
share the reliability suite's loopback fault server and its test-sized core."""

from tests.reliability.conftest import jupyter_core

__all__ = ["jupyter_core"]
