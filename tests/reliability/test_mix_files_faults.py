"""Streamed bodies when the network misbehaves: downloads cut short, stalled or too slow, uploads
retried or not by their source, redirects of a streamed upload, and an event stream with odd framing.

Every outcome is a value (`Err(...)`); a download that fails leaves no file behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from sessionkit import (
    APIError,
    ConnectionError,
    Err,
    Ok,
    RequestOptions,
    RequestTimeoutError,
    RetryConfig,
    Timeout,
)
from sessionkit.mix import (
    ConnectedEvent,
    ContentEvent,
    MixCore,
    UnknownEvent,
    Upload,
    sessions_files_download,
    sessions_files_upload,
    sessions_stream,
)
from sessionkit.testing import FakeClock, FakeMix, Fault

from .fault_server import (
    Behaviour,
    Conn,
    FaultServer,
    Recorded,
    head,
    json_body,
    redirect,
    reset_mid_body,
    respond,
    truncated_body,
)

GUARD = 20.0
FILE_INFO = {"name": "a.bin", "size": 3, "modified": 0, "isDir": False, "url": "/f/a.bin"}
NO_RETRY = RequestOptions(retries=0)
DOWNLOAD = {"id": "s", "filename": "a.bin"}


def files_in(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def stall_mid_body(seconds: float) -> Behaviour:
    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(head(200, [("Content-Length", "1000")]) + b"x" * 100)
        await asyncio.sleep(seconds)
        conn.close()

    return behave


def trickle(pieces: int, every: float) -> Behaviour:
    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(head(200, [("Content-Length", str(pieces))]))
        for _ in range(pieces):
            await asyncio.sleep(every)
            await conn.send(b"x")

    return behave


async def download(srv: FaultServer, to: Path, options: RequestOptions = NO_RETRY) -> object:
    async with MixCore(srv.url) as core:
        return await asyncio.wait_for(sessions_files_download(core, DOWNLOAD, to=to, options=options), GUARD)


async def test_a_download_cut_short_is_a_connection_error_and_leaves_no_file(tmp_path: Path) -> None:
    for behaviour in (reset_mid_body(100_000, 5_000), truncated_body(100_000, 5_000)):
        async with FaultServer(default=behaviour) as srv:
            result = await download(srv, tmp_path / "a.bin")
        assert isinstance(result, Err), result
        assert isinstance(result.error, ConnectionError)
        assert files_in(tmp_path) == []


async def test_a_download_that_stalls_ends_at_the_attempt_timeout(tmp_path: Path) -> None:
    async with FaultServer(default=stall_mid_body(5.0)) as srv:
        result = await download(srv, tmp_path / "a.bin", RequestOptions(retries=0, timeout=Timeout(attempt=0.2)))
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "attempt"
    assert files_in(tmp_path) == []


async def test_a_download_too_slow_for_the_total_deadline_ends_there(tmp_path: Path) -> None:
    # Each byte comes before the silence limit, but the whole body cannot beat the total deadline.
    options = RequestOptions(retries=0, timeout=Timeout(attempt=2.0, total=0.4))
    async with FaultServer(default=trickle(100, 0.05)) as srv:
        result = await download(srv, tmp_path / "a.bin", options)
    assert isinstance(result, Err), result
    assert isinstance(result.error, RequestTimeoutError)
    assert result.error.deadline == "total"
    assert files_in(tmp_path) == []


async def test_a_failing_status_before_the_body_is_retried(tmp_path: Path) -> None:
    async with FaultServer(default=respond(200, b"abc", content_type="application/octet-stream")) as srv:
        srv.plan.append(respond(503, b""))
        async with MixCore(srv.url, retries=RetryConfig(initial_wait=0.01), clock=FakeClock()) as core:
            result = await sessions_files_download(core, DOWNLOAD, to=tmp_path / "a.bin")
    assert isinstance(result, Ok), result
    assert result.meta is not None
    assert result.meta.attempts == 2
    assert (tmp_path / "a.bin").read_bytes() == b"abc"


async def test_an_upload_from_a_path_is_sent_whole_again_on_a_retry(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"0123456789" * 10_000)
    async with FaultServer(default=json_body(FILE_INFO, 201)) as srv:
        srv.plan.append(respond(503, b""))
        async with MixCore(srv.url, retries=RetryConfig(initial_wait=0.01), clock=FakeClock()) as core:
            result = await sessions_files_upload(core, {"id": "s", "file": path})
    assert isinstance(result, Ok), result
    first, second = srv.requests
    assert first.body == second.body
    assert b"0123456789" * 10_000 in first.body
    assert b'name="file"; filename="a.bin"' in first.body


async def source() -> AsyncIterator[bytes]:
    yield b"once"


async def test_a_streamed_upload_is_not_retried_nor_redirected() -> None:
    # FakeMix, not the fault server: an async source goes chunked, which only a real HTTP server reads.
    async with (
        FakeMix(version="0.11.4") as fake,
        MixCore(fake.url, retries=RetryConfig(initial_wait=0.01), clock=FakeClock()) as core,
    ):
        [session] = fake.seed_sessions(1)
        request = {"id": session["id"], "file": Upload(source(), filename="a")}
        fake.faults.push(Fault.status(503))
        failed = await sessions_files_upload(core, request)
        assert isinstance(failed, Err)
        assert failed.error.attempts == 1
        upload_path = f"/api/sessions/{session['id']}/files/upload"
        fake.faults.push(Fault.status(307, headers={"Location": upload_path}))
        moved = await sessions_files_upload(core, {**request, "file": Upload(source(), filename="a")})
    assert isinstance(moved, Err)
    assert isinstance(moved.error, APIError)
    assert moved.error.status == 307
    assert "cannot be read again" in moved.error.message
    assert len(fake.requests) == 2


async def test_a_redirected_upload_from_a_path_is_sent_again_to_the_same_origin(tmp_path: Path) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    async with FaultServer(default=json_body(FILE_INFO, 201)) as srv:
        srv.plan.append(redirect(307, "/api/sessions/s/files/upload-elsewhere"))
        async with MixCore(srv.url) as core:
            result = await sessions_files_upload(core, {"id": "s", "file": path}, options=NO_RETRY)
    assert isinstance(result, Ok), result
    assert [r.path for r in srv.requests] == ["/api/sessions/s/files/upload", "/api/sessions/s/files/upload-elsewhere"]
    assert srv.requests[0].body == srv.requests[1].body


async def test_an_event_stream_with_cr_line_ends_a_bom_and_odd_chunks() -> None:
    stream = '\ufeff: hi\rid: 9\revent: connected\rdata: {"sessionId":"s"}\r\rdata: not json\revent: x\r\r'
    stream += 'event: content\r\ndata: {"type":"content",\r\ndata: "content":"a"}\r\n\r\n'
    raw = stream.encode()

    async def behave(req: Recorded, conn: Conn) -> None:
        await conn.send(head(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]))
        for i in range(0, len(raw), 7):  # chunks that split lines, CRLFs and the BOM's neighbours
            piece = raw[i : i + 7]
            await conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        await conn.send(b"0\r\n\r\n")

    async with FaultServer(default=behave) as srv, MixCore(srv.url) as core:
        items = [item async for item in sessions_stream(core, {"id": "s"})]
    values = [item.unwrap() for item in items]
    assert isinstance(values[0], ConnectedEvent)
    assert values[0].event_id == "9"
    assert isinstance(values[1], UnknownEvent)
    assert (values[1].event, values[1].data, values[1].event_id) == ("x", "not json", "9")
    assert isinstance(values[2], ContentEvent)
    assert values[2].content == "a"
    assert srv.requests[0].header("Accept") == "text/event-stream"
