"""Devin v3 (`sessionkit.devin.v3`) against `FakeDevinV3`: every operation, the org scope, cursor pages,
problem+json errors, sessions that move through states, and `sessions_wait` on a `FakeClock`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from sessionkit import Err, InvalidRequestError, Ok, RequestOptions, ResponseValidationError, RetryConfig
from sessionkit.devin.v3 import (
    NEEDS_INPUT,
    TERMINAL,
    WAIT_UNTIL,
    DevinCore,
    DevinV3AuthenticationError,
    DevinV3BadRequestError,
    DevinV3ConflictError,
    DevinV3InternalServerError,
    DevinV3NotFoundError,
    DevinV3PermissionDeniedError,
    DevinV3UnprocessableEntityError,
    ListMessagesRequest,
    ListSessionsRequest,
    MessageSource,
    Session,
    SessionStatus,
    StatusDetail,
    as_devin_id,
    sessions_archive,
    sessions_create,
    sessions_get,
    sessions_list,
    sessions_list_all,
    sessions_messages_list,
    sessions_messages_list_all,
    sessions_send_message,
    sessions_tags_add,
    sessions_tags_get,
    sessions_tags_replace,
    sessions_terminate,
    sessions_wait,
)
from sessionkit.testing import FakeClock, FakeDevinV3, Fault
from sessionkit.wait import WaitTimeoutError

KEY = "cog_test-key"
ORG = "org-abc123"
PREFIX = f"/v3/organizations/{ORG}/sessions"
FAST = RetryConfig(max_retries=2, initial_wait=0.001, max_wait=0.001, jitter=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDevinV3]:
    async with FakeDevinV3(api_key=KEY, org_id=ORG) as server:
        yield server


def core_for(fake: FakeDevinV3, **kw: Any) -> DevinCore:
    return DevinCore(KEY, ORG, server_url=fake.url, **kw)


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def new_session(core: DevinCore, prompt: str = "fix the build", **fields: Any) -> Session:
    return (await sessions_create(core, {"prompt": prompt, **fields})).unwrap()


# -- the core ------------------------------------------------------------------------------------------


def test_devin_id_gets_its_prefix_once() -> None:
    assert as_devin_id("abc") == "devin-abc"
    assert as_devin_id("devin-abc") == "devin-abc"


def test_the_core_reads_key_and_org_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVIN_API_KEY", "cog_env")
    monkeypatch.setenv("DEVIN_ORG_ID", "org-env")
    core = DevinCore()
    assert core.org_id == "org-env"
    assert core.path_prefix == "/v3/organizations/org-env"
    assert core.base_headers()["Authorization"] == "Bearer cog_env"
    assert core.server_url == "https://api.devin.ai", "the org scope is not part of server_url"
    assert "cog_env" not in repr(core)


def test_the_org_id_is_one_percent_encoded_segment() -> None:
    assert DevinCore("cog_k", "org/../x").path_prefix == "/v3/organizations/org%2F..%2Fx"
    assert DevinCore("cog_k", "..").path_prefix == "/v3/organizations/%2E%2E"


async def test_every_path_is_scoped_to_the_org_and_a_per_call_server_url_keeps_it(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core)
        await sessions_get(core, {"devin_id": created.session_id}, options=RequestOptions(server_url=fake.url))
    assert [r.path for r in fake.requests] == [PREFIX, f"{PREFIX}/devin-{created.session_id}"]


async def test_without_an_org_id_the_short_form_is_used(fake: FakeDevinV3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVIN_ORG_ID", raising=False)
    async with DevinCore(KEY, server_url=fake.url) as core:
        created = await new_session(core)
    assert fake.requests[-1].path == "/v3/organizations/sessions"
    assert created.org_id == ORG


async def test_a_v1_key_and_another_org_are_refused_as_problems(fake: FakeDevinV3) -> None:
    async with DevinCore("apk_user_v1", ORG, server_url=fake.url) as core:
        v1_key = await sessions_list(core)
    async with DevinCore(KEY, "org-other", server_url=fake.url) as core:
        other_org = await sessions_list(core)
    assert isinstance(v1_key, Err)
    assert isinstance(v1_key.error, DevinV3AuthenticationError)
    assert v1_key.error.title == "Unauthorized"
    assert v1_key.error.detail is not None
    assert "cog_" in v1_key.error.detail
    assert v1_key.error.instance == PREFIX
    assert v1_key.error.headers["Content-Type"] == "application/problem+json"
    assert isinstance(other_org, Err)
    assert isinstance(other_org.error, DevinV3PermissionDeniedError)
    assert other_org.error.problem_type == "about:blank"


# -- create, get, messages, tags, archive, terminate ---------------------------------------------------


async def test_create_sends_the_body_and_answers_the_session(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core, "Upgrade the lockfile", tags=["deps"], devin_mode="fast", repos=["o/r"])
    assert fake.requests[-1].json() == {"prompt": "Upgrade the lockfile", "tags": ["deps"], "devin_mode": "fast",
                                        "repos": ["o/r"]}  # fmt: skip
    assert created.org_id == ORG
    assert created.tags == ["deps"]
    assert created.status is SessionStatus.RUNNING
    assert created.status_detail is None, "only get and list fill status_detail"
    assert created.devin_id == f"devin-{created.session_id}"
    assert created.url.endswith(created.session_id)


async def test_create_is_not_retried_and_get_is(fake: FakeDevinV3) -> None:
    async with core_for(fake, retries=FAST) as core:
        fake.faults.push(Fault.status(503))
        refused = await sessions_create(core, {"prompt": "once"})
        created = await new_session(core)
        fake.faults.push(Fault.status(503))
        got = await sessions_get(core, {"devin_id": created.session_id})
    assert isinstance(refused, Err)
    assert isinstance(refused.error, DevinV3InternalServerError)
    assert refused.error.attempts == 1
    assert refused.error.title == "Service Unavailable"
    assert isinstance(got, Ok)
    assert got.meta is not None
    assert got.meta.attempts == 2


async def test_an_unknown_platform_is_a_400_naming_the_platforms(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        result = await sessions_create(core, {"prompt": "p", "platform": "amiga"})
    assert isinstance(result, Err)
    assert isinstance(result.error, DevinV3BadRequestError)
    assert result.error.server_message is not None
    assert "default" in result.error.server_message


async def test_get_takes_the_id_with_or_without_its_prefix(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core)
        bare = (await sessions_get(core, {"devin_id": created.session_id})).unwrap()
        prefixed = (await sessions_get(core, {"devin_id": created.devin_id})).unwrap()
        missing = await sessions_get(core, {"devin_id": "0000"})
    assert bare.session_id == prefixed.session_id == created.session_id
    assert bare.state == "working"
    assert bare.status_detail is StatusDetail.WORKING
    assert isinstance(missing, Err)
    assert isinstance(missing.error, DevinV3NotFoundError)
    assert missing.error.server_message == "Not Found: Session not found"
    assert missing.error.instance == f"{PREFIX}/devin-0000"


async def test_send_message_records_it_resumes_and_is_not_retried(fake: FakeDevinV3) -> None:
    async with core_for(fake, retries=FAST) as core:
        created = await new_session(core)
        fake.set_status(created.session_id, "suspended", "inactivity")
        resumed = (await sessions_send_message(core, {"devin_id": created.session_id, "message": "go on"})).unwrap()
        got = (await sessions_get(core, {"devin_id": created.session_id})).unwrap()
        fake.faults.push(Fault.status(502))
        failed = await sessions_send_message(core, {"devin_id": created.session_id, "message": "once"})
    assert fake.requests[1].json() == {"message": "go on"}
    assert resumed.status is SessionStatus.RUNNING
    assert got.state == "working"
    assert [m["message"] for m in fake.messages_of(created.session_id)] == ["fix the build", "go on"]
    assert isinstance(failed, Err)
    assert failed.error.attempts == 1


async def test_a_message_to_an_archived_session_is_a_conflict(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core)
        archived = (await sessions_archive(core, {"devin_id": created.session_id})).unwrap()
        refused = await sessions_send_message(core, {"devin_id": created.session_id, "message": "hi"})
    assert archived.is_archived
    assert archived.status is SessionStatus.SUSPENDED, "archiving puts a running session to sleep"
    assert fake.requests[1].body == b""
    assert isinstance(refused, Err)
    assert isinstance(refused.error, DevinV3ConflictError)


async def test_messages_come_oldest_first_in_cursor_pages(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core)
        for text in ("one", "two", "three"):
            await sessions_send_message(core, {"devin_id": created.session_id, "message": text})
        page = (await sessions_messages_list(core, {"devin_id": created.session_id, "first": 3})).unwrap()
        every = await collect(
            sessions_messages_list_all(core, ListMessagesRequest(devin_id=created.session_id, first=2))
        )
    assert [m.message for m in page.items] == ["fix the build", "one", "two"]
    assert page.has_next_page
    assert page.end_cursor is not None
    assert page.total == 4
    assert [r.unwrap().message for r in every] == ["fix the build", "one", "two", "three"]
    assert every[0].unwrap().source is MessageSource.USER
    assert [r.query.get("after") is None for r in fake.requests[-2:]] == [True, False]


async def test_tags_get_add_and_replace(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        created = await new_session(core, tags=["a"])
        sid = created.session_id
        added = (await sessions_tags_add(core, {"devin_id": sid, "tags": ["a", "b"]})).unwrap()
        replaced = (await sessions_tags_replace(core, {"devin_id": sid, "tags": ["c"]})).unwrap()
        current = (await sessions_tags_get(core, {"devin_id": sid})).unwrap()
        too_many = await sessions_tags_add(core, {"devin_id": sid, "tags": [str(i) for i in range(51)]})
    assert added.tags == ["a", "b"], "the server drops duplicates"
    assert replaced.tags == ["c"]
    assert current.tags == ["c"]
    assert [r.method for r in fake.requests] == ["POST", "POST", "PUT", "GET"]
    assert isinstance(too_many, Err)
    assert isinstance(too_many.error, InvalidRequestError)
    assert too_many.error.field_path == "$.tags"


async def test_tags_add_is_retried_since_the_server_deduplicates(fake: FakeDevinV3) -> None:
    async with core_for(fake, retries=FAST) as core:
        created = await new_session(core)
        fake.faults.push(Fault.status(503))
        added = await sessions_tags_add(core, {"devin_id": created.session_id, "tags": ["x"]})
    assert added.unwrap().tags == ["x"]
    assert added.meta is not None
    assert added.meta.attempts == 2


async def test_terminate_ends_and_may_archive(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        first = await new_session(core)
        second = await new_session(core)
        ended = (await sessions_terminate(core, {"devin_id": first.session_id})).unwrap()
        archived = (await sessions_terminate(core, {"devin_id": second.session_id, "archive": True})).unwrap()
    assert (ended.status, ended.is_archived, ended.is_terminal) == (SessionStatus.EXIT, False, True)
    assert (archived.status, archived.is_archived) == (SessionStatus.EXIT, True)
    assert fake.requests[-1].query == {"archive": "true"}
    assert fake.requests[-2].query == {}


async def test_a_422_problem_lists_its_field_errors(fake: FakeDevinV3) -> None:
    problem = {"type": "about:blank", "title": "Unprocessable Entity", "status": 422, "detail": None,
               "errors": [{"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]}  # fmt: skip
    async with core_for(fake) as core:
        fake.faults.push(Fault.status(422, body=problem))
        result = await sessions_create(core, {"prompt": "p"})
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, DevinV3UnprocessableEntityError)
    assert error.errors == problem["errors"]
    assert error.detail is None
    assert error.server_message == "Unprocessable Entity (body.prompt: Field required)"


async def test_the_fake_answers_bad_input_with_problems(fake: FakeDevinV3) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.post(fake.url + PREFIX, json={"title": 3}) as reply:
            missing = (reply.status, reply.content_type, await reply.json())
        async with http.get(fake.url + PREFIX, params={"after": "not-a-cursor"}) as reply:
            cursor = (reply.status, await reply.json())
    assert missing[:2] == (422, "application/problem+json")
    assert {"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"} in missing[2]["errors"]
    assert cursor == (400, {"type": "about:blank", "title": "Bad Request", "status": 400,
                            "detail": "Invalid cursor", "instance": PREFIX})  # fmt: skip


# -- list ----------------------------------------------------------------------------------------------


async def test_list_pages_by_cursor_newest_first_with_filters(fake: FakeDevinV3) -> None:
    async with core_for(fake) as core:
        docs = fake.seed_sessions(7)
        fake.seed_sessions(2, tags=["team-a", "nightly"])
        tagged = (await sessions_list(core, {"tags": ["team-a", "nightly"]})).unwrap()
        page = (await sessions_list(core, ListSessionsRequest(first=3))).unwrap()
        every = await collect(sessions_list_all(core, {"first": 4}))
        archived = (await sessions_list(core, {"is_archived": True})).unwrap()
    assert len(tagged.items) == 2
    assert (len(page.items), page.has_next_page, page.total) == (3, True, 9)
    assert [r.unwrap().session_id for r in every][-7:] == [d["session_id"] for d in reversed(docs)]
    assert len(every) == 9
    assert archived.items == []
    assert not archived.has_next_page
    assert archived.end_cursor is None
    assert [r.query.get("first") for r in fake.requests[-4:-1]] == ["4", "4", "4"]


async def test_list_all_of_a_server_that_repeats_its_cursor_ends_with_an_error() -> None:
    session = {"session_id": "a1", "url": "u", "org_id": ORG, "status": "running", "acus_consumed": 1,
               "created_at": 1, "updated_at": 1, "tags": [], "pull_requests": []}  # fmt: skip
    page = {"items": [session], "has_next_page": True, "end_cursor": "same"}

    async def same_page(request: web.Request) -> web.Response:
        return web.json_response(page)

    app = web.Application()
    app.router.add_get(PREFIX, same_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with DevinCore(KEY, ORG, server_url=f"http://127.0.0.1:{port}") as core:
            results = await asyncio.wait_for(collect(sessions_list_all(core)), 30)
    finally:
        await runner.cleanup()
    assert [type(r) for r in results] == [Ok, Err]
    error = results[-1].error
    assert isinstance(error, ResponseValidationError)
    assert "repeated the first page as the page after 'same'" in error.reason
    assert error.field_path == "items"


# -- states over time, and sessions_wait ---------------------------------------------------------------


async def test_a_session_moves_a_step_every_n_reads() -> None:
    lifecycle = ("new", "claimed", "working", "waiting_for_approval")
    async with (
        FakeDevinV3(api_key=KEY, org_id=ORG, lifecycle=lifecycle, gets_per_step=2) as fake,
        core_for(fake) as core,
    ):
        created = await new_session(core)
        seen = [(await sessions_get(core, {"devin_id": created.session_id})).unwrap().state for _ in range(9)]
    assert seen == ["new", "new", "claimed", "claimed", "working", "working", "waiting_for_approval",
                    "waiting_for_approval", "waiting_for_approval"]  # fmt: skip
    assert [m["source"] for m in fake.messages_of(created.session_id)] == ["user", "devin"]


async def test_a_session_moves_with_the_clock_and_set_status_pins_it() -> None:
    clock = FakeClock()
    async with (
        FakeDevinV3(api_key=KEY, org_id=ORG, seconds_per_step=60, clock=clock) as fake,
        core_for(fake, clock=clock) as core,
    ):
        created = await new_session(core)
        sid = {"devin_id": created.session_id}
        before = (await sessions_get(core, sid)).unwrap().state
        clock.advance(61)
        after = (await sessions_get(core, sid)).unwrap()
        fake.set_status(created.session_id, "running", "working")
        clock.advance(600)
        pinned = (await sessions_get(core, sid)).unwrap().state
    assert (before, after.state, pinned) == ("working", "waiting_for_user", "working")
    assert after.needs_input
    assert after.updated_at == created.created_at + 61


@pytest.mark.parametrize("state", sorted(WAIT_UNTIL))
async def test_wait_ends_on_each_needs_input_or_terminal_state(state: str) -> None:
    clock = FakeClock()
    async with (
        FakeDevinV3(api_key=KEY, org_id=ORG, lifecycle=("working", state), gets_per_step=3) as fake,
        core_for(fake, clock=clock) as core,
    ):
        created = await new_session(core)
        result = await sessions_wait(core, {"devin_id": created.session_id}, timeout=600)
    session = result.unwrap()
    assert session.state == state
    assert session.needs_input == (state in NEEDS_INPUT)
    assert session.is_terminal == (state in TERMINAL)
    assert len(clock.sleeps) == 3, "three polls saw working, the fourth the state"


async def test_wait_runs_on_virtual_time_against_a_clocked_fake() -> None:
    clock = FakeClock()
    lifecycle = ("new", "working", "finished")
    fake = FakeDevinV3(api_key=KEY, org_id=ORG, lifecycle=lifecycle, seconds_per_step=120, clock=clock)
    async with fake, core_for(fake, clock=clock) as core:
        created = await new_session(core)
        result = await sessions_wait(core, {"devin_id": created.session_id}, until={"finished"}, timeout=3600)
    assert result.unwrap().state == "finished"
    assert 240 <= sum(clock.sleeps) < 3600


async def test_wait_until_finished_polls_past_waiting_for_user() -> None:
    clock = FakeClock()
    lifecycle = ("working", "waiting_for_user", "finished")
    async with (
        FakeDevinV3(api_key=KEY, org_id=ORG, lifecycle=lifecycle, gets_per_step=1) as fake,
        core_for(fake, clock=clock) as core,
    ):
        created = await new_session(core)
        result = await sessions_wait(core, {"devin_id": created.session_id}, until={StatusDetail.FINISHED})
    assert result.unwrap().status_detail is StatusDetail.FINISHED
    assert len(fake.requests) == 4  # create, then working, waiting_for_user, finished


async def test_wait_times_out_naming_the_last_state(fake: FakeDevinV3) -> None:
    clock = FakeClock()
    async with core_for(fake, clock=clock) as core:
        created = await new_session(core)
        result = await sessions_wait(core, {"devin_id": created.session_id}, timeout=120, interval=10)
    assert isinstance(result, Err)
    error = result.error
    assert isinstance(error, WaitTimeoutError)
    assert "state=working (status=running, status_detail=working)" in error.message
    assert sum(clock.sleeps) == pytest.approx(120), "never sleeps past the deadline"
    assert error.operation_id == "devin_v3.sessions.wait"


async def test_wait_refuses_an_unknown_state_and_returns_a_failed_poll(fake: FakeDevinV3) -> None:
    clock = FakeClock()
    async with core_for(fake, clock=clock) as core:
        typo = await sessions_wait(core, {"devin_id": "x"}, until={"blocked"})
        gone = await sessions_wait(core, {"devin_id": "x"})
    assert isinstance(typo, Err)
    assert isinstance(typo.error, InvalidRequestError)
    assert "blocked" in typo.error.reason
    assert isinstance(gone, Err)
    assert isinstance(gone.error, DevinV3NotFoundError)
    assert clock.sleeps == []


def test_the_fake_refuses_a_v1_key_and_unknown_states() -> None:
    with pytest.raises(ValueError, match="cog_"):
        FakeDevinV3(api_key="apk_x")
    with pytest.raises(ValueError, match="lifecycle"):
        FakeDevinV3(lifecycle=("working", "blocked"))
    assert SessionStatus("creating") is SessionStatus.CREATING
    assert SessionStatus("paused").value == "paused", "unknown values are kept"
