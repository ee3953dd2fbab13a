"""A 200 MB file goes up and comes back down through FakeMix without the process holding it.

The measurement runs in a fresh subprocess (nothing else of the suite in its memory), with
`tests._support.rss.Peak`; the growth over the warmed-up baseline must stay under 32 MB for the
upload from a path, the upload from an async source, and the download to a file. Client and fake
share the process, so both sides are measured.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests._support.rss import run_script

SIZE = 200 * 1024 * 1024
LIMIT = 32 * 1024 * 1024

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from pathlib import Path

    from sessionkit import RequestOptions
    from sessionkit.mix import MixCore, Upload, sessions_files_download, sessions_files_upload
    from sessionkit.testing import FakeMix
    from tests._support.rss import BLOCK, Peak, digest_of, status, write_source

    SIZE, folder = int(sys.argv[1]), Path(sys.argv[2])

    async def chunks(path):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 16):
                yield chunk

    async def main():
        source, target = folder / "source.bin", folder / "target.bin"
        expected = write_source(source, SIZE)
        options = RequestOptions(timeout=600.0)
        async with FakeMix(version="0.11.4", max_upload_bytes=None) as fake, MixCore(fake.url) as core:
            [session] = fake.seed_sessions(1)
            sid = session["id"]
            small = folder / "warm.bin"
            small.write_bytes(os.urandom(4 * BLOCK))
            for _ in range(3):  # the code paths and buffers of a transfer, before the baseline
                (await sessions_files_upload(core, {"id": sid, "file": small}, options=options)).unwrap()
                got = await sessions_files_download(core, {"id": sid, "filename": "warm.bin"}, to=folder / "w")
                got.unwrap()
            baseline = status("VmRSS")
            out = {"baseline": baseline}
            with Peak() as peak:
                up = await sessions_files_upload(core, {"id": sid, "file": str(source)}, options=options)
            out["upload_path"] = peak.peak - baseline
            out["uploaded_size"] = up.unwrap().size
            with Peak() as peak:
                streamed = Upload(chunks(source), filename="streamed.bin")
                again = await sessions_files_upload(core, {"id": sid, "file": streamed}, options=options)
            out["upload_async"] = peak.peak - baseline
            out["streamed_size"] = again.unwrap().size
            with Peak() as peak:
                down = await sessions_files_download(
                    core, {"id": sid, "filename": "source.bin"}, to=target, max_bytes=None, options=options
                )
            out["download"] = peak.peak - baseline
            out["downloaded"] = down.unwrap().received
            out["same_bytes"] = digest_of(target) == expected
            out["hwm"] = peak.hwm
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_a_200_mb_file_goes_up_and_down_in_bounded_memory(tmp_path: Path) -> None:
    result = run_script(SCRIPT, SIZE, tmp_path)
    assert result["uploaded_size"] == result["streamed_size"] == SIZE
    assert result["downloaded"] == SIZE
    assert result["same_bytes"]
    for transfer in ("upload_path", "upload_async", "download"):
        assert result[transfer] < LIMIT, (transfer, result)
