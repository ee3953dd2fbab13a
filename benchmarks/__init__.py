"""Side-by-side benchmarks of sessionkit against raw aiohttp, raw httpx and the official Orq SDK.

Run `python -m benchmarks` (full) or `python -m benchmarks --quick`; see benchmarks/README.md.
"""
