"""A 200 MB attachment goes up to FakeDevinV3 and comes back down (through the redirect to its
storage origin) without the process holding it: the resident set grows by less than 32 MB for the
upload from a path and for the download to a file.

Measured in a fresh subprocess with `tests._support.rss.Peak` (sampled `VmRSS`, and `VmHWM` reset
before each transfer); client and fake share that process, so both sides count. On the 2-core
development box (Python 3.11) the growth was 48 KB for the upload and 52 KB for the download.
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
    from sessionkit.devin.v3 import DevinCore, DownloadAttachmentRequest, attachments_download, attachments_upload
    from sessionkit.testing import FakeDevinV3
    from tests._support.rss import BLOCK, Peak, digest_of, status, write_source

    SIZE, folder = int(sys.argv[1]), Path(sys.argv[2])

    async def main():
        source, target = folder / "source.bin", folder / "target.bin"
        expected = write_source(source, SIZE)
        options = RequestOptions(timeout=600.0)
        async with FakeDevinV3(api_key="cog_k", org_id="org-m") as fake:
            async with DevinCore("cog_k", "org-m", server_url=fake.url) as core:
                small = folder / "warm.bin"
                small.write_bytes(os.urandom(4 * BLOCK))
                for _ in range(3):  # the code paths and buffers of a transfer, before the baseline
                    warm = (await attachments_upload(core, {"file": small}, options=options)).unwrap()
                    request = DownloadAttachmentRequest.from_url(warm.url)
                    (await attachments_download(core, request, to=folder / "w", options=options)).unwrap()
                baseline = status("VmRSS")
                out = {"baseline": baseline}
                with Peak() as peak:
                    up = await attachments_upload(core, {"file": str(source)}, options=options)
                out["upload"] = peak.peak - baseline
                attachment = up.unwrap()
                out["uploaded_size"] = fake.attachments.files[attachment.attachment_id].size
                with Peak() as peak:
                    request = DownloadAttachmentRequest.from_url(attachment.url)
                    down = await attachments_download(core, request, to=target, max_bytes=None, options=options)
                out["download"] = peak.peak - baseline
                out["downloaded"] = down.unwrap().received
                out["redirected"] = fake.requests[-1].path.startswith("/_storage/")
                out["same_bytes"] = digest_of(target) == expected
                out["hwm"] = peak.hwm
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_a_200_mb_attachment_goes_up_and_down_in_bounded_memory(tmp_path: Path) -> None:
    result = run_script(SCRIPT, SIZE, tmp_path)
    assert result["uploaded_size"] == result["downloaded"] == SIZE
    assert result["redirected"]
    assert result["same_bytes"]
    for transfer in ("upload", "download"):
        assert result[transfer] < LIMIT, (transfer, result)
