"""Issue 17's attacks on Mix's files: compressed and oddly encoded downloads, a cancelled download,
uploads whose file changes while it is sent, a failing upload source, and text that is not Unicode.

Every network wait is guarded (`GUARD`) so a regression fails instead of hanging; no assertion reads
the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sessionkit import Err, InvalidRequestError, Ok, RequestOptions, ResponseValidationError, Timeout
from sessionkit.mix import MixCore, Upload, sessions_files_download, sessions_files_upload, sessions_get

from .fault_server import Conn, FaultServer, Recorded, head, redirect
from .hostile import MiB, bomb, eventually, traced_peak

GUARD = 60.0  # seconds: only so that a regression fails instead of stalling the suite
CHUNK = 64 * 1024
FILE = {"id": "s-1", "filename": "big.bin"}


def leftovers(folder: Path) -> list[str]:
    """What a download left in `folder` (the file, or its `.part`)."""
    return sorted(os.listdir(folder))


def undecodable_file(folder: Path) -> str:
    """A file named by the byte 0xFF (not UTF-8); Python names it with the lone surrogate U+DCFF."""
    raw = os.fsencode(folder) + b"/\xff.bin"
    with open(raw, "wb") as f:
        f.write(b"content")
    return os.fsdecode(raw)


def encoded_download(body: bytes, encoding: str, *, hold: asyncio.Event | None = None) -> Any:
    """A download of `body` sent with `Content-Encoding: encoding`; with `hold`, only its first 64 KiB
    until `hold` is set."""

    async def behave(req: Recorded, conn: Conn) -> None:
        hdrs = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Encoding", encoding),
            ("Content-Length", str(len(body))),
        ]
        await conn.send(head(200, hdrs))
        for i in range(0, len(body), CHUNK):
            await conn.send(body[i : i + CHUNK])
            if hold is not None:
                await hold.wait()

    return behave


# --- item 2 ------------------------------------------------------------------------------------------

ZEROS = bytes(4 * MiB)
GIB_OF_ZEROS = 256  # copies of ZEROS: 1 GiB inflated, 1.05 MB of gzip


async def test_a_gzip_bomb_download_is_handed_out_in_64_kib_chunks_within_bounded_memory() -> None:
    """issue 17, item 2: a ~1 MB gzip download that inflates to 1 GiB, at the default cap.

    Measured: the `tracemalloc` peak (client and server) while 256 MiB of it is read; a chunk held
    whole (the old reader handed out 257 MiB chunks) would be far above it."""
    body = bomb(ZEROS, GIB_OF_ZEROS)
    sizes: list[int] = []
    with traced_peak() as peak:
        async with FaultServer(default=encoded_download(body, "gzip")) as srv, MixCore(srv.url, retries=0) as core:
            opened = await asyncio.wait_for(sessions_files_download(core, FILE), GUARD)
            assert isinstance(opened, Ok), opened

            async def read() -> None:
                async with opened.value as stream:
                    async for chunk in stream:
                        assert isinstance(chunk, Ok), chunk
                        sizes.append(len(chunk.value))
                        assert not any(chunk.value)
                        if sum(sizes) >= 256 * MiB:
                            break

            await asyncio.wait_for(read(), GUARD)
    assert sum(sizes) >= 256 * MiB
    assert max(sizes) <= CHUNK, f"a chunk of {max(sizes)} bytes"
    assert peak.bytes < 64 * MiB, f"peak {peak.bytes / MiB:.0f} MiB"


async def test_a_gzip_bomb_download_to_a_file_is_refused_at_its_cap_with_nothing_left(tmp_path: Path) -> None:
    """issue 17, item 2: with `to=` and a 256 MiB cap, the bomb is written in 64 KiB steps and refused
    once 256 MiB are inflated: `Err(ResponseValidationError)`, no file and no part file left, and the
    `tracemalloc` peak stays far below the cap (the old reader held a 600 MiB chunk)."""
    body = bomb(ZEROS, GIB_OF_ZEROS)
    to = tmp_path / "big.bin"
    cap = 256 * MiB
    with traced_peak() as peak:
        async with FaultServer(default=encoded_download(body, "gzip")) as srv, MixCore(srv.url, retries=0) as core:
            result = await asyncio.wait_for(sessions_files_download(core, FILE, to=to, max_bytes=cap), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert str(cap) in result.error.message
    assert leftovers(tmp_path) == []
    assert peak.bytes < 64 * MiB, f"peak {peak.bytes / MiB:.0f} MiB"


async def test_a_gzip_bomb_behind_devins_storage_redirect_is_refused_at_its_cap_with_nothing_left(
    tmp_path: Path,
) -> None:
    """The same bomb served by the storage origin Devin's attachment download is redirected to: the
    redirect changes nothing of the bound (refused at the cap, no file left, peak far below it)."""
    from sessionkit.devin.v3 import DevinCore, attachments_download

    body = bomb(ZEROS, GIB_OF_ZEROS)
    to = tmp_path / "big.bin"
    cap = 256 * MiB

    def route(req: Recorded) -> Any:
        return encoded_download(body, "gzip") if req.path.startswith("/storage/") else redirect(307, "/storage/big")

    with traced_peak() as peak:
        async with FaultServer(route=route) as srv, DevinCore("cog_k", "org-1", server_url=srv.url, retries=0) as core:
            request = {"uuid": "u-1", "name": "big.bin"}
            result = await asyncio.wait_for(attachments_download(core, request, to=to, max_bytes=cap), GUARD)
    assert [r.path.startswith("/storage/") for r in srv.requests] == [False, True]
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert str(cap) in result.error.message
    assert leftovers(tmp_path) == []
    assert peak.bytes < 64 * MiB, f"peak {peak.bytes / MiB:.0f} MiB"


# --- item 12 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["br", "x-custom"])
async def test_a_download_in_an_encoding_not_asked_for_is_refused(encoding: str, tmp_path: Path) -> None:
    """issue 17, item 12: `Content-Encoding: br` or `x-custom` is refused, never saved still encoded."""
    body = b"\x1b\x03\x00\xf8\xa5" * 100  # what the server claims is encoded: never handed out
    to = tmp_path / "file.bin"
    async with FaultServer(default=encoded_download(body, encoding)) as srv, MixCore(srv.url, retries=0) as core:
        saved = await asyncio.wait_for(sessions_files_download(core, FILE, to=to), GUARD)
        opened = await asyncio.wait_for(sessions_files_download(core, FILE), GUARD)
        assert isinstance(opened, Ok), opened
        async with opened.value as stream:
            chunks = [chunk async for chunk in stream]
    assert isinstance(saved, Err), saved
    assert isinstance(saved.error, ResponseValidationError)
    assert encoding in saved.error.message
    assert leftovers(tmp_path) == []  # no file, no part file
    [only] = chunks
    assert isinstance(only, Err), chunks
    assert isinstance(only.error, ResponseValidationError)


# --- minor: a cancelled download ---------------------------------------------------------------------


async def test_cancelling_a_download_to_a_file_leaves_no_part_file(tmp_path: Path) -> None:
    """issue 17, minor: a `to=` download cancelled mid-way leaves neither `<to>` nor `<to>.part`."""
    hold = asyncio.Event()
    to = tmp_path / "file.bin"
    part = tmp_path / "file.bin.part"
    srv = FaultServer(default=encoded_download(bytes(4 * MiB), "identity", hold=hold))
    async with srv, MixCore(srv.url, retries=0) as core:
        task = asyncio.create_task(sessions_files_download(core, FILE, to=to))

        await eventually(lambda: part.exists() and part.stat().st_size > 0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        hold.set()
    assert leftovers(tmp_path) == []


# --- item 11 -----------------------------------------------------------------------------------------

UPLOAD_SIZE = 4 * MiB
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
_INFO = json.dumps({"name": "up.bin", "size": 1, "modified": 1, "isDir": False, "url": "/f/up.bin"}).encode()
CREATED = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_INFO),
    _INFO,
)


class FramingServer:
    """A raw HTTP/1.1 server that frames requests by `Content-Length`, one after another on a
    connection, as a real server does: it reads a head, awaits `before_body(i)`, reads exactly the
    announced body, sends `answers[i]`; after the last answer it keeps whatever else the client sends
    until it closes (`after`: bytes a server would parse as further requests)."""

    def __init__(self, answers: list[bytes], before_body: Callable[[int], Awaitable[None]]) -> None:
        self.answers, self.before_body = answers, before_body
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.after = b""
        self.finished = asyncio.Event()
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FramingServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while len(self.heads) < len(self.answers):
                raw = await reader.readuntil(b"\r\n\r\n")
                index = len(self.heads)
                self.heads.append(raw)
                lengths = [
                    line.split(b":", 1)[1] for line in raw.split(b"\r\n") if line.lower().startswith(b"content-length:")
                ]
                await self.before_body(index)
                self.bodies.append(await reader.readexactly(int(lengths[0]) if lengths else 0))
                writer.write(self.answers[index])
                await writer.drain()
            self.after = await reader.read()  # until the client closes
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.finished.set()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def file_part(body: bytes) -> bytes:
    """The content of the one file part of a multipart body."""
    boundary = body.split(b"\r\n", 1)[0]
    part = body.split(boundary)[1]
    return part.split(b"\r\n\r\n", 1)[1][: -len(b"\r\n")]


async def upload_while(path: Path, change: Callable[[], None]) -> tuple[FramingServer, Any]:
    """Upload `path` while its size changes: the core has one connection, held by a first call the
    server does not answer yet, so the upload's request (its Content-Length fixed) waits for it; then
    `change()` runs, and the first call is answered."""
    release = asyncio.Event()

    async def before_body(index: int) -> None:
        if index == 0:
            await release.wait()

    async with FramingServer([NOT_FOUND, CREATED], before_body) as srv:
        options = RequestOptions(timeout=Timeout(attempt=5))
        async with MixCore(srv.url, retries=0, max_connections=1) as core:
            holder = asyncio.create_task(sessions_get(core, {"id": "hold"}, options=options))

            await eventually(lambda: bool(srv.heads))
            upload = asyncio.create_task(sessions_files_upload(core, {"id": "s-1", "file": str(path)}, options=options))
            for _ in range(200):  # no I/O until the connection is free: the upload's request is built, waiting
                await asyncio.sleep(0)
            assert len(srv.heads) == 1
            change()
            release.set()
            result = await asyncio.wait_for(upload, GUARD)
            await asyncio.wait_for(holder, GUARD)
        await asyncio.wait_for(srv.finished.wait(), GUARD)
    return srv, result


async def test_a_file_that_grows_while_it_is_uploaded_is_sent_as_announced(tmp_path: Path) -> None:
    """issue 17, item 11: the file grows by 1 MiB after the upload's Content-Length is fixed: the server
    receives exactly the announced bytes, one upload request, and nothing after it (no bytes a
    server framing by Content-Length would read as further requests)."""
    path = tmp_path / "up.bin"
    path.write_bytes(b"a" * UPLOAD_SIZE)

    def grow() -> None:
        with open(path, "ab") as f:
            f.write(b"b" * MiB)

    srv, result = await upload_while(path, grow)
    assert isinstance(result, Ok), result
    assert len(srv.heads) == 2  # the held call and the upload
    assert srv.after == b"", f"{len(srv.after)} bytes after the announced body"
    content = file_part(srv.bodies[1])
    assert len(content) == UPLOAD_SIZE
    assert content == b"a" * UPLOAD_SIZE


async def test_a_file_that_shrinks_while_it_is_uploaded_is_an_invalid_request_at_the_file(tmp_path: Path) -> None:
    """issue 17, item 11: the file is cut to half after the upload's Content-Length is fixed:
    `Err(InvalidRequestError)` at `$.file`."""
    path = tmp_path / "up.bin"
    path.write_bytes(b"a" * UPLOAD_SIZE)

    def shrink() -> None:
        os.truncate(path, UPLOAD_SIZE // 2)

    _, result = await upload_while(path, shrink)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError), result.error
    assert result.error.field_path == "$.file"
    assert "shrank" in result.error.message


# --- minor: a failing upload source ------------------------------------------------------------------


async def test_an_async_source_that_raises_is_an_invalid_request_carrying_its_exception() -> None:
    """issue 17, minor: the caller's iterator raises `ValueError("boom")` mid-upload: the error says so
    and its `cause` is that very exception (not "Failed to send bytes")."""
    boom = ValueError("boom")

    async def source() -> AsyncIterator[bytes]:
        yield b"x" * 1024
        raise boom

    async with FaultServer() as srv, MixCore(srv.url, retries=0) as core:
        upload = Upload(source(), filename="up.bin")
        result = await asyncio.wait_for(sessions_files_upload(core, {"id": "s-1", "file": upload}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError), result.error
    assert result.error.cause is boom
    assert "boom" in result.error.message
    assert result.error.field_path == "$.file"


# --- item 16 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Upload(b"x", filename="a\ud800.txt"),
        lambda: Upload(b"x", filename="a.txt", content_type="text/\udcff"),
    ],
    ids=["filename", "content_type"],
)
def test_an_upload_with_a_lone_surrogate_is_a_value_error(make: Callable[[], Upload]) -> None:
    """issue 17, item 16: a lone surrogate in an upload's filename or content type."""
    with pytest.raises(ValueError, match="surrogate"):
        make()


async def test_a_file_name_that_is_not_unicode_is_blamed_on_the_file_not_the_server_url(tmp_path: Path) -> None:
    """issue 17, item 16: a path whose name is an undecodable byte (Python reads it as the lone
    surrogate U+DCFF) given in a request mapping: `Err(InvalidRequestError)` at the file field, and
    nothing is sent."""
    path = undecodable_file(tmp_path)
    async with FaultServer() as srv, MixCore(srv.url, retries=0) as core:
        result = await asyncio.wait_for(sessions_files_upload(core, {"id": "s-1", "file": path}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError), result.error
    assert result.error.field_path == "$.file"  # the old pipeline blamed `server_url`
    assert srv.requests == []
