"""Giving Devin a file, and reading what a finished session was: v3 attachments (upload, the session's
list, a download that follows a redirect to storage on another origin) and insights (get, generate,
every page); v1's upload and the `ATTACHMENT:` line. Against the fakes, and against servers that
stall, drop, send endless or strange bodies, or see secrets they should not."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sessionkit import (
    ConnectionError,
    Err,
    InvalidRequestError,
    Ok,
    RequestOptions,
    RequestTimeoutError,
    ResponseValidationError,
    Timeout,
)
from sessionkit import devin as v1
from sessionkit.devin.v3 import (
    Attachment,
    AttachmentSource,
    DevinCore,
    DevinV3NotFoundError,
    DownloadAttachmentRequest,
    InsightsStatus,
    SessionInsights,
    SessionSize,
    Upload,
    attachments_download,
    attachments_upload,
    insights_list,
    insights_list_all,
    sessions_attachments_list,
    sessions_create,
    sessions_insights_generate,
    sessions_insights_get,
    sessions_send_message,
)
from sessionkit.testing import FakeClock, FakeDevin, FakeDevinV3, Fault
from tests._support.fake_fixtures import fetch

KEY = "cog_s3cr3t-attachment-key"
ORG = "org-files"
GUARD = 20.0


@pytest.fixture
async def fake() -> AsyncIterator[FakeDevinV3]:
    async with FakeDevinV3(api_key=KEY, org_id=ORG) as server:
        yield server


def core_for(fake: FakeDevinV3, **kw: Any) -> DevinCore:
    return DevinCore(KEY, ORG, server_url=fake.url, **kw)


async def upload(core: DevinCore, data: bytes = b"hello, Devin", name: str = "notes.txt") -> Attachment:
    result = await attachments_upload(core, {"file": Upload(data, filename=name)})
    assert isinstance(result, Ok), result
    return result.value


# -- upload and download ---------------------------------------------------------------------------


async def test_a_file_goes_up_from_each_source_and_comes_back(fake: FakeDevinV3, tmp_path: Path) -> None:
    path = tmp_path / "report é.csv"
    path.write_bytes(b"a,b\n" * 50_000)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"z" * 10_000

    async with core_for(fake) as core:
        from_path = (await attachments_upload(core, {"file": str(path)})).unwrap()
        from_bytes = await upload(core)
        streamed = (await attachments_upload(core, {"file": Upload(chunks(), filename="z.bin")})).unwrap()
        back = tmp_path / "back.csv"
        saved = await attachments_download(core, DownloadAttachmentRequest.from_url(from_path.url), to=back)
        opened = await attachments_download(core, {"uuid": from_bytes.attachment_id, "name": from_bytes.name})
        assert isinstance(opened, Ok), opened
        async with opened.value as body:
            read = b"".join([chunk.unwrap() async for chunk in body])
    assert (from_path.name, from_bytes.name, streamed.name) == ("report é.csv", "notes.txt", "z.bin")
    assert fake.attachments.files[streamed.attachment_id].size == 40_000
    assert isinstance(saved, Ok), saved
    assert saved.value.saved_to == back
    assert back.read_bytes() == path.read_bytes()
    assert read == b"hello, Devin"


async def test_the_download_follows_the_redirect_to_storage_without_the_key(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        attachment = await upload(core)
        opened = (await attachments_download(core, DownloadAttachmentRequest.from_url(attachment.url))).unwrap()
        await opened.aclose()
    api, storage = fake.requests[-2:]
    assert api.path.endswith(f"/attachments/{attachment.attachment_id}/notes.txt")
    assert api.headers["Authorization"] == f"Bearer {KEY}"
    assert storage.path == f"/_storage/{attachment.attachment_id}/notes.txt"
    assert "Authorization" not in storage.headers  # another origin: the key stays behind
    assert KEY not in str(dict(storage.headers)) + storage.path + str(storage.query)


async def test_a_presigned_url_expires_and_refuses_a_key(raw_http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with FakeDevinV3(api_key=KEY, org_id=ORG, clock=clock) as fake, core_for(fake) as core:
        attachment = await upload(core)
        path = f"/v3/organizations/{ORG}/attachments/{attachment.attachment_id}/notes.txt"
        redirect = await fetch(raw_http, "GET", fake.url + path, headers={"Authorization": f"Bearer {KEY}"})
        assert redirect.status == 307
        location = redirect.headers["Location"]
        assert location.startswith(fake.storage_url)
        with_key = await fetch(raw_http, "GET", location, headers={"Authorization": f"Bearer {KEY}"})
        assert with_key.status == 400
        fine = await fetch(raw_http, "GET", location)
        assert (fine.status, fine.body) == (200, b"hello, Devin")
        clock.advance(61)
        assert (await fetch(raw_http, "GET", location)).status == 403
        tampered = await fetch(raw_http, "GET", location.replace("signature=", "signature=0"))
        assert tampered.status == 403


async def test_an_unknown_attachment_is_a_404_and_no_file_is_written(fake: FakeDevinV3, tmp_path: Path) -> None:
    async with core_for(fake) as core:
        result = await attachments_download(core, {"uuid": "nope", "name": "x.txt"}, to=tmp_path / "x.txt")
    assert isinstance(result, Err), result
    assert isinstance(result.error, DevinV3NotFoundError)
    assert os.listdir(tmp_path) == []


async def test_a_body_past_max_bytes_stops_and_leaves_no_file(fake: FakeDevinV3, tmp_path: Path) -> None:
    async with core_for(fake) as core:
        attachment = await upload(core, b"x" * 300_000, "big.bin")
        result = await attachments_download(
            core, DownloadAttachmentRequest.from_url(attachment.url), to=tmp_path / "big.bin", max_bytes=100_000
        )
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "max_bytes (100000 bytes)" in result.error.message
    assert os.listdir(tmp_path) == []


async def test_a_stalled_download_times_out_and_a_cut_one_is_a_connection_error(
    fake: FakeDevinV3, tmp_path: Path
) -> None:
    async with core_for(fake, retries=0) as core:
        attachment = await upload(core)
        request = DownloadAttachmentRequest.from_url(attachment.url)
        fake.faults.push(Fault.delay(5), path="/_storage/*")
        stalled = await attachments_download(
            core, request, to=tmp_path / "a", options=RequestOptions(timeout=Timeout(attempt=0.2))
        )
        fake.faults.push(Fault.reset(), path="/v3/*")
        cut = await attachments_download(core, request, to=tmp_path / "b")
        fake.faults.push(Fault.reset(), path="/_storage/*")
        reset = await attachments_download(core, request, to=tmp_path / "c")
    assert isinstance(stalled, Err)
    assert isinstance(stalled.error, RequestTimeoutError)
    assert stalled.error.deadline == "attempt"
    for result in (cut, reset):
        assert isinstance(result, Err), result
        assert isinstance(result.error, (ConnectionError, ResponseValidationError))
    assert os.listdir(tmp_path) == []


async def test_a_redirect_loop_and_a_redirect_elsewhere_are_bounded(fake: FakeDevinV3) -> None:
    async with core_for(fake, retries=0) as core:
        attachment = await upload(core)
        request = DownloadAttachmentRequest.from_url(attachment.url)
        here = f"/v3/organizations/{ORG}/attachments/{attachment.attachment_id}/notes.txt"
        fake.faults.push(
            Fault.status(307, body=b"", headers={"Location": here}), times=None, path="/v3/*/attachments/*"
        )
        looping = await attachments_download(core, request)
        fake.faults.clear()
        fake.faults.push(Fault.status(307, body=b"", headers={"Location": "ftp://files.example/x"}), path="/v3/*")
        elsewhere = await attachments_download(core, request)
    assert isinstance(looping, Err), looping
    assert "redirect" in looping.error.message
    assert isinstance(elsewhere, Err), elsewhere
    assert KEY not in repr(looping.error) + repr(elsewhere.error)


async def test_an_upload_that_cannot_be_read_sends_nothing(fake: FakeDevinV3, tmp_path: Path) -> None:
    async with core_for(fake) as core:
        missing = await attachments_upload(core, {"file": str(tmp_path / "absent.txt")})
        folder = await attachments_upload(core, {"file": str(tmp_path)})
        unknown = await attachments_upload(core, {"files": "x"})  # type: ignore[typeddict-unknown-key]
    for result, path in ((missing, "$.file"), (folder, "$.file"), (unknown, "$")):
        assert isinstance(result, Err), result
        assert isinstance(result.error, InvalidRequestError)
        assert result.error.field_path.startswith(path)
    assert fake.requests == []


async def test_an_upload_source_that_fails_is_the_callers_error(fake: FakeDevinV3) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"start"
        raise OSError("the disk went away")

    async with core_for(fake) as core:
        result = await attachments_upload(core, {"file": Upload(broken(), filename="b.bin")})
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert "the disk went away" in result.error.message


async def test_an_upload_answer_that_is_not_an_attachment_is_a_validation_error(fake: FakeDevinV3) -> None:
    async with core_for(fake, retries=0) as core:
        fake.faults.push(Fault.status(200, body={"attachment_id": "a"}), path="/v3/*/attachments")
        result = await attachments_upload(core, {"file": b"x" and Upload(b"x", filename="x")})
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)


# -- a session's attachments -----------------------------------------------------------------------


async def test_attachment_urls_of_a_create_and_a_message_are_the_sessions_files(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        first, second = await upload(core), await upload(core, b"more", "more.txt")
        session = (await sessions_create(core, {"prompt": "read it", "attachment_urls": [first.url]})).unwrap()
        (await sessions_send_message(core, {"devin_id": session.session_id, "message": "and this",
                                            "attachment_urls": [second.url]})).unwrap()  # fmt: skip
        fake.add_devin_attachment(session.devin_id, "fix.patch", b"--- a\n+++ b\n")
        listed = (await sessions_attachments_list(core, {"devin_id": session.session_id})).unwrap()
    assert [(a.name, a.source) for a in listed] == [
        ("notes.txt", AttachmentSource.USER),
        ("more.txt", AttachmentSource.USER),
        ("fix.patch", AttachmentSource.DEVIN),
    ]
    assert [a.attachment_id for a in listed[:2]] == [first.attachment_id, second.attachment_id]
    [create] = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/sessions")]
    assert create.json() == {"prompt": "read it", "attachment_urls": [first.url]}


@pytest.mark.parametrize("urls", [[""], ["https://x/" + "a" * 2100]])
async def test_attachment_urls_outside_their_limits_are_refused_before_sending(
    fake: FakeDevinV3, urls: list[str]
) -> None:
    async with core_for(fake) as core:
        created = await sessions_create(core, {"prompt": "p", "attachment_urls": urls})
        sent = await sessions_send_message(core, {"devin_id": "abc", "message": "m", "attachment_urls": urls})
    for result in (created, sent):
        assert isinstance(result, Err), result
        assert result.error.field_path == "$.attachment_urls"
        assert "item 0 must be 1 to 2083 characters long" in result.error.message
    assert fake.requests == []


@pytest.mark.parametrize("body", [None, {"items": []}])
async def test_a_list_of_attachments_is_read_leniently(fake: FakeDevinV3, body: Any) -> None:
    async with core_for(fake) as core:
        session = (await sessions_create(core, {"prompt": "p"})).unwrap()
        fake.faults.push(Fault.status(200, body=b"null" if body is None else body), path="*/attachments")
        result = await sessions_attachments_list(core, {"devin_id": session.session_id})
    assert result == Ok([])


def test_a_download_request_reads_an_attachment_url() -> None:
    got = DownloadAttachmentRequest.from_url("https://api.devin.ai/v3/organizations/o/attachments/u%201/a%2Fb.txt?x=1")
    assert (got.uuid, got.name) == ("u 1", "a/b.txt")
    for bad in ("https://api.devin.ai/v3/files/u/a.txt", "https://x/attachments/u/", "not a url"):
        with pytest.raises(ValueError, match="not an attachment URL"):
            DownloadAttachmentRequest.from_url(bad)


# -- insights --------------------------------------------------------------------------------------


async def test_insights_are_generated_once_and_read(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        session = (await sessions_create(core, {"prompt": "fix the flaky test"})).unwrap()
        before = (await sessions_insights_get(core, {"devin_id": session.session_id})).unwrap()
        started = (await sessions_insights_generate(core, {"devin_id": session.session_id})).unwrap()
        again = (await sessions_insights_generate(core, {"devin_id": session.session_id})).unwrap()
        after = (await sessions_insights_get(core, {"devin_id": session.session_id})).unwrap()
        missing = await sessions_insights_get(core, {"devin_id": "devin-nope"})
    assert isinstance(before, SessionInsights)
    assert before.session_id == session.session_id
    assert (before.num_user_messages, before.session_size, before.analysis) == (1, SessionSize.XS, None)
    assert (started.status, again.status) == (InsightsStatus.STARTED, InsightsStatus.ALREADY_EXISTS)
    assert after.analysis is not None
    assert after.analysis["suggested_prompt"]["original_prompt"] == "fix the flaky test"
    assert isinstance(missing, Err)
    assert isinstance(missing.error, DevinV3NotFoundError)


async def test_every_page_of_insights(fake: FakeDevinV3) -> None:
    fake.seed_sessions(5, tags=["nightly"])
    fake.seed_sessions(2)
    async with core_for(fake) as core:
        every = [r.unwrap() async for r in insights_list_all(core, {"first": 2, "tags": ["nightly"]})]
        page = (await insights_list(core, {"first": 3})).unwrap()
        bad = await insights_list(core, {"first": 500})
    assert len(every) == 5
    assert len({s.session_id for s in every}) == 5
    assert all(isinstance(s, SessionInsights) and s.num_user_messages == 1 for s in every)
    assert (len(page.items), page.has_next_page) == (3, True)
    assert [r.query.get("first") for r in fake.requests if r.path.endswith("/sessions/insights")] == ["2"] * 3 + ["3"]
    assert isinstance(bad, Err)
    assert bad.error.field_path == "$.first"


async def test_insights_without_their_counts_decode_leniently(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        session = (await sessions_create(core, {"prompt": "p"})).unwrap()
        bare = {k: v for k, v in fake._out(fake._doc(session.devin_id), full=True).items()}  # pyright: ignore[reportPrivateUsage]
        fake.faults.push(Fault.status(200, body={**bare, "session_size": "xxl"}), path="*/insights")
        result = await sessions_insights_get(core, {"devin_id": session.session_id})
    insights = result.unwrap()
    assert (insights.num_devin_messages, insights.analysis) == (None, None)
    assert insights.session_size == "xxl"  # an unknown size is kept


# -- v1 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["json", "text"])
async def test_v1_upload_gives_the_url_an_attachment_line_needs(answer: Any) -> None:
    async with (
        FakeDevin(api_key="apk_k", attachment_answer=answer) as fake,
        v1.DevinCore("apk_k", server_url=fake.url) as core,
    ):
        url = (await v1.attachments_upload(core, {"file": Upload(b"data", filename="spec sheet.pdf")})).unwrap()
        prompt = f"Summarise the attached file.\n{v1.attachment_line(url)}"
        created = (await v1.sessions_create(core, {"prompt": prompt})).unwrap()
        (await v1.sessions_send_message(core, {"session_id": created.session_id,
                                               "message": "also " + v1.attachment_line(url)})).unwrap()  # fmt: skip
        assert url.startswith(fake.url + "/v1/attachments/")
        [attached] = fake.attachments_of(created.session_id)  # the line inside a sentence does not count
    assert v1.attachment_line(url) == f'ATTACHMENT:"{url}"'
    assert (attached.name, attached.size) == ("spec sheet.pdf", 4)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'"https://files.devin.ai/a/b.txt"', "https://files.devin.ai/a/b.txt"),
        (b'{"url": "https://files.devin.ai/a/b.txt"}', "https://files.devin.ai/a/b.txt"),
        (b"https://files.devin.ai/a/b.txt\n", "https://files.devin.ai/a/b.txt"),
    ],
)
async def test_v1_upload_answers_are_read_leniently(body: bytes, expected: str) -> None:
    async with FakeDevin(api_key="apk_k") as fake, v1.DevinCore("apk_k", server_url=fake.url) as core:
        fake.faults.push(Fault.status(200, body=body, headers={"Content-Type": "text/plain"}))
        result = await v1.attachments_upload(core, {"file": Upload(b"x", filename="b.txt")})
    assert result == Ok(expected)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"42", b'{"id": 1}', b"\xff\xfe", b'"unterminated'])
async def test_v1_upload_answers_that_are_no_url_are_validation_errors(body: bytes) -> None:
    async with FakeDevin(api_key="apk_k") as fake, v1.DevinCore("apk_k", server_url=fake.url, retries=0) as core:
        fake.faults.push(Fault.status(200, body=body, headers={"Content-Type": "text/plain"}))
        result = await v1.attachments_upload(core, {"file": Upload(b"x", filename="b.txt")})
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "apk_k" not in repr(result.error)


async def test_an_endless_upload_answer_is_capped() -> None:
    async with (
        FakeDevin(api_key="apk_k") as fake,
        v1.DevinCore("apk_k", server_url=fake.url, retries=0, max_response_bytes=10_000) as core,
    ):
        fake.faults.push(Fault.status(200, body=b'"https://x/' + b"a" * 50_000 + b'"'))
        result = await asyncio.wait_for(v1.attachments_upload(core, {"file": Upload(b"x", filename="b")}), GUARD)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ResponseValidationError)
    assert "max_response_bytes" in result.error.message
