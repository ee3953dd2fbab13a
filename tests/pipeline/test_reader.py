"""The bounded reader's edges of a compressed body: several gzip members are one body (RFC 1952),
and a compressed stream that ends early is a body cut short, never a complete download."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import pytest

from sessionkit import ConnectionError, Err, Ok, RetryConfig
from sessionkit.mix import MixCore, sessions_files_download
from tests.reliability.fault_server import FaultServer
from tests.reliability.hostile import stream_body

FILE = {"id": "s-1", "filename": "data.bin"}
TEXT = b"line of the file\n" * 5000


def _raw_deflate(data: bytes) -> bytes:
    """deflate without the zlib wrapper, as some servers send it."""
    raw = zlib.compressobj(wbits=-15)
    return raw.compress(data) + raw.flush()


def _served(body: bytes, encoding: str) -> FaultServer:
    pieces = [body[i : i + 1000] for i in range(0, len(body), 1000)]
    headers = [("Content-Encoding", encoding)]
    return FaultServer(default=stream_body(pieces, content_type="application/octet-stream", headers=headers))


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(TEXT[:40_000]) + gzip.compress(TEXT[40_000:])),  # two members
        ("gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),  # zlib-wrapped, as the RFC says
        ("deflate", _raw_deflate(TEXT)),
    ],
    ids=["two-gzip-members", "gzip", "deflate-zlib", "deflate-raw"],
)
async def test_a_compressed_download_is_saved_whole(tmp_path: Path, encoding: str, body: bytes) -> None:
    to = tmp_path / "data.bin"
    async with _served(body, encoding) as srv, MixCore(server_url=srv.url) as core:
        result = await sessions_files_download(core, FILE, to=to)
    assert isinstance(result, Ok), result
    assert to.read_bytes() == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_body_cut_short_is_an_error_and_leaves_no_file(tmp_path: Path, encoding: str) -> None:
    whole = gzip.compress(TEXT) if encoding == "gzip" else zlib.compress(TEXT)
    to = tmp_path / "data.bin"
    async with _served(whole[: len(whole) // 2], encoding) as srv, MixCore(server_url=srv.url, retries=0) as core:
        result = await sessions_files_download(core, FILE, to=to)
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert "cut short" in result.error.message
    assert not to.exists()
    assert not os.listdir(tmp_path)  # no .part file either


async def test_a_cut_short_json_answer_is_retried_like_a_dropped_one() -> None:
    from sessionkit.jupyter import JupyterCore, sessions_list

    whole = gzip.compress(b"[]" + b" " * 10_000)
    pieces = [whole[: len(whole) // 2]]
    retries = RetryConfig(max_retries=1, initial_wait=0.001, jitter=False)
    behaviour = stream_body(pieces, content_type="application/json", headers=[("Content-Encoding", "gzip")])
    async with (
        FaultServer(default=behaviour) as srv,
        JupyterCore(server_url=srv.url, token="t", retries=retries) as core,
    ):
        result = await sessions_list(core)
    assert isinstance(result, Err)
    assert isinstance(result.error, ConnectionError)
    assert result.error.attempts == 2  # a GET whose body was cut short is sent again
