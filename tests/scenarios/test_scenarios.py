"""One scenario suite, run per service against its `sessionkit.testing` fake and the real thing it imitates.

| service | targets |
| --- | --- |
| Jupyter | the fake; a real `jupyter server` (fixture `jupyter_server`) |
| Orq | the fake; the recorded oracle: a `RecordingServer` answering with bodies the official SDK accepts |
| Mix | the fake; Prism on the v0.10.1 document (`prism_mix_0101`) |
| Devin | the fake (no public server or document exists) |
| Log10 | the fake; Prism on the Log10 document (`prism_log10`) |

Each service runs the steps it has: create, read, list, update (Mix: fork), delete, not-found, bad
auth; Jupyter also its kernel steps (kernelspecs, interrupt, restart, 501, shared-kernel delete). Stateful targets (fakes, the real Jupyter) must also agree on content (ids, titles, 404 after
delete); Prism and the oracle are stateless, so there only the shapes are checked (every result
decodes into the sessionkit model), and Prism must accept every request (`assert_no_violation`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import attrs
import pytest
from orq_ai_sdk import models as orq_sdk_models

from sessionkit import Err, InvalidRequestError, Ok, RequestOptions
from sessionkit._core import BaseCore
from sessionkit.errors import APIError, AuthenticationError, NotFoundError, PermissionDeniedError
from sessionkit.result import Result
from tests._support.fake_fixtures import DEVIN_API_KEY, JUPYTER_TOKEN, LOG10_ORG, LOG10_TOKEN, ORQ_API_KEY
from tests._support.prism import assert_no_violation
from tests._support.recording_server import RecordingServer

# -- targets ------------------------------------------------------------------------------------------


@attrs.frozen
class Target:
    """Where a scenario runs. `credential` is the good one; `bad_credential` None means "send none"."""

    service: str
    kind: str  # "fake" | "real" | "prism" | "oracle"
    url: str
    credential: str | None
    bad_credential: str | None
    oracle: RecordingServer | None = None

    @property
    def stateful(self) -> bool:
        return self.kind in ("fake", "real")

    def check(self, result: Result[Any, Any], allow: tuple[str, ...] = ()) -> None:
        """Prism must accept every request the scenario sends (bar the Prism-made errors in `allow`)."""
        if self.kind == "prism":
            assert_no_violation(result, allow=allow)


TARGETS = [
    ("jupyter", "fake"), ("jupyter", "real"),
    ("orq", "fake"), ("orq", "oracle"),
    ("mix", "fake"), ("mix", "prism"),
    ("devin", "fake"),
    ("log10", "fake"), ("log10", "prism"),
]  # fmt: skip


@pytest.fixture
async def orq_oracle() -> AsyncIterator[RecordingServer]:
    async with RecordingServer() as server:
        yield server


def _make_target(request: pytest.FixtureRequest, service: str, kind: str) -> Target:
    if kind == "fake":
        fake = request.getfixturevalue(f"fake_{service}")
        credential = {"jupyter": JUPYTER_TOKEN, "orq": ORQ_API_KEY, "devin": DEVIN_API_KEY, "log10": LOG10_TOKEN}
        return Target(service, kind, fake.url, credential.get(service), "wrong-credential")
    if kind == "real":
        server = request.getfixturevalue("jupyter_server")
        return Target(service, kind, server.url, server.token, "wrong-credential")
    if kind == "oracle":
        oracle: RecordingServer = request.getfixturevalue("orq_oracle")
        return Target(service, kind, oracle.url, ORQ_API_KEY, "wrong-credential", oracle)
    prism = request.getfixturevalue({"mix": "prism_mix_0101", "log10": "prism_log10"}[service])
    return Target(service, kind, prism.url, "prism-token", None)  # Prism only sees a missing credential


@pytest.fixture(params=TARGETS, ids=[f"{s}-{k}" for s, k in TARGETS])
def target(request: pytest.FixtureRequest) -> Target:
    return _make_target(request, *request.param)


def ok(target: Target, result: Result[Any, Any]) -> Any:
    target.check(result)
    assert isinstance(result, Ok), f"{target.service}-{target.kind}: {result!r}"
    return result.value


def err(target: Target, result: Result[Any, Any], kind: type[APIError], allow: tuple[str, ...] = ()) -> APIError:
    target.check(result, allow)
    assert isinstance(result, Err), f"{target.service}-{target.kind}: expected {kind.__name__}, got {result!r}"
    assert isinstance(result.error, kind), result.error
    return result.error


# -- one scenario per service -------------------------------------------------------------------------


class Scenario:
    """A service's steps. `read`/`list_ids`/`change`/`delete` stay None when the service lacks them."""

    bad_auth_error: ClassVar[type[APIError] | None] = AuthenticationError
    has_read: ClassVar[bool] = True

    def core(self, target: Target, credential: str | None) -> BaseCore:
        raise NotImplementedError

    def prepare(self, target: Target, phase: str) -> None:
        """Program the oracle's answers for a phase ("lifecycle", "missing", "bad_auth")."""

    async def create_call(self, core: Any) -> Result[Any, Any]:
        """The bare create request (the bad-auth step expects it to fail)."""
        raise NotImplementedError

    async def create(self, target: Target, core: Any) -> str:
        """Create a session, check the answer, return its id."""
        raise NotImplementedError

    async def read(
        self, target: Target, core: Any, sid: str, options: RequestOptions | None = None
    ) -> Result[Any, Any]:
        raise NotImplementedError

    async def list_ids(self, target: Target, core: Any) -> list[str] | None:
        return None

    async def change(self, target: Target, core: Any, sid: str) -> None:
        """Update (or fork) the session and check the answer."""

    async def delete(self, target: Target, core: Any, sid: str) -> bool:
        return False

    def missing_id(self) -> str:
        return "missing-session"


class JupyterScenario(Scenario):
    bad_auth_error = PermissionDeniedError

    def core(self, target: Target, credential: str | None) -> BaseCore:
        from sessionkit.jupyter import JupyterCore

        return JupyterCore(server_url=target.url, token=credential or "")

    async def create_call(self, core: Any, kernel: str = "python3", kernel_id: str | None = None) -> Result[Any, Any]:
        from sessionkit.jupyter import CreateSessionRequest, KernelRef, sessions_create

        path = f"scenario-{uuid.uuid4().hex}.ipynb"
        ref = KernelRef(id=kernel_id) if kernel_id else KernelRef(name=kernel)
        return await sessions_create(core, CreateSessionRequest(path=path, type="notebook", kernel=ref))

    async def create(self, target: Target, core: Any) -> str:
        from sessionkit.jupyter import sessions_create

        session = ok(target, await self.create_call(core))
        assert session.path.startswith("scenario-")
        assert (session.type, session.kernel.name) == ("notebook", "python3")
        assert session.notebook is not None
        assert session.notebook.path == session.path
        again = ok(target, await sessions_create(core, {"path": session.path, "type": "console"}))  # create-or-return
        assert (again.id, again.type) == (session.id, "notebook")
        return session.id

    async def read(
        self, target: Target, core: Any, sid: str, options: RequestOptions | None = None
    ) -> Result[Any, Any]:
        from sessionkit.jupyter import sessions_get

        return await sessions_get(core, {"session": sid}, options=options)

    async def list_ids(self, target: Target, core: Any) -> list[str] | None:
        from sessionkit.jupyter import sessions_list

        return [s.id for s in ok(target, await sessions_list(core))]

    async def change(self, target: Target, core: Any, sid: str) -> None:
        from sessionkit.jupyter import sessions_update

        renamed = ok(target, await sessions_update(core, {"session": sid, "model": {"name": "renamed"}}))
        assert (renamed.id, renamed.name) == (sid, "renamed")

    async def delete(self, target: Target, core: Any, sid: str) -> bool:
        from sessionkit.jupyter import sessions_delete

        assert ok(target, await sessions_delete(core, {"session": sid})) is None
        return True

    def missing_id(self) -> str:
        return str(uuid.uuid4())

    async def kernels(self, target: Target, core: Any) -> None:
        """Kernelspecs, interrupt and restart, the 501 of an unknown kernelspec, and a delete that
        shuts down a shared kernel (its sharer is gone, and says why on its first read)."""
        from sessionkit.jupyter import (
            JupyterKernelError,
            kernels_interrupt,
            kernels_restart,
            kernelspecs_list,
            sessions_delete,
            sessions_get,
            sessions_list,
        )

        specs = ok(target, await kernelspecs_list(core))
        assert specs.default == "python3"
        assert specs.kernelspecs["python3"].spec.language == "python"
        unknown = err(target, await self.create_call(core, kernel="nope"), JupyterKernelError)
        assert isinstance(unknown, JupyterKernelError)
        assert (unknown.status, unknown.short_message) == (501, "nope not found")

        first = ok(target, await self.create_call(core))
        kernel_id = first.kernel.id
        assert ok(target, await kernels_interrupt(core, {"kernel_id": kernel_id})) is None
        assert ok(target, await kernels_restart(core, {"kernel_id": kernel_id})).id == kernel_id
        sharer = ok(target, await self.create_call(core, kernel_id=kernel_id))
        assert sharer.kernel.id == kernel_id

        assert ok(target, await sessions_delete(core, {"session": first.id})) is None
        gone = err(target, await sessions_get(core, {"session": sharer.id}), NotFoundError)
        assert gone.server_message == (
            f"Session not found: \"Kernel '{kernel_id}' appears to have been culled or died unexpectedly, "
            f"invalidating session '{sharer.id}'. The session has been removed.\""
        )
        assert sharer.id not in [s.id for s in ok(target, await sessions_list(core))]
        missing = err(target, await kernels_interrupt(core, {"kernel_id": kernel_id}), NotFoundError)
        assert missing.server_message == f"Kernel does not exist: {kernel_id}"


ORQ_CREATE: dict[str, Any] = {
    "external_id": "scenario-thread",
    "duration": 1240,
    "contact_ids": ["c1"],
    "billing": {"input_cost": 0.001, "output_cost": 0.002, "total_cost": 0.003},
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    "traces_count": 1,
    "tags": ["scenario"],
}
ORQ_ALL_TIME = {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}, "limit": 100}
ORACLE_ID = "thread_01HZXW2K7Y8Q9M0N1P2R3S4T5V"


def _oracle_thread(**changes: Any) -> dict[str, Any]:
    thread = {"_id": ORACLE_ID, **ORQ_CREATE, "project_id": None, "started_at": "2026-01-02T03:04:05.123Z",
              "updated_at": "2026-01-02T03:04:05.123Z", **changes}  # fmt: skip
    orq_sdk_models.Thread.model_validate(thread)  # the canned answer must satisfy the official SDK
    return thread


class OrqScenario(Scenario):
    def core(self, target: Target, credential: str | None) -> BaseCore:
        from sessionkit.orq import OrqCore

        return OrqCore(api_key=credential or "", server_url=target.url)

    def prepare(self, target: Target, phase: str) -> None:
        oracle = target.oracle
        if oracle is None:
            return
        one = f"/v2/sessions/{ORACLE_ID}"
        if phase == "lifecycle":
            page = {"object": "list", "data": [_oracle_thread()], "has_more": False}
            orq_sdk_models.ListThreadsResponse.model_validate(page)
            oracle.reply("POST", "/v2/sessions", 200, _oracle_thread())
            oracle.reply("GET", one, 200, _oracle_thread())
            oracle.reply("POST", "/v2/sessions/query", 200, page)
            oracle.reply("PATCH", one, 200, _oracle_thread(title="renamed"))
            oracle.reply("DELETE", one, 204)
        elif phase == "missing":
            oracle.reply("GET", f"/v2/sessions/{self.missing_id()}", 404, {"message": "Session not found", "code": 5})
        else:
            oracle.reply("POST", "/v2/sessions", 401, {"message": "Invalid or missing API key", "code": 16})

    async def create_call(self, core: Any) -> Result[Any, Any]:
        from sessionkit.orq import sessions_create

        return await sessions_create(core, ORQ_CREATE)

    async def create(self, target: Target, core: Any) -> str:
        thread = ok(target, await self.create_call(core))
        assert (thread.external_id, thread.tags, thread.usage.total_tokens) == ("scenario-thread", ["scenario"], 15)
        return thread.id

    async def read(
        self, target: Target, core: Any, sid: str, options: RequestOptions | None = None
    ) -> Result[Any, Any]:
        from sessionkit.orq import sessions_get

        return await sessions_get(core, {"session_id": sid}, options=options)

    async def list_ids(self, target: Target, core: Any) -> list[str] | None:
        from sessionkit.orq import sessions_list

        page = ok(target, await sessions_list(core, ORQ_ALL_TIME))
        assert page.has_more is False
        return [t.id for t in page.data]

    async def change(self, target: Target, core: Any, sid: str) -> None:
        from sessionkit.orq import sessions_update

        thread = ok(target, await sessions_update(core, {"session_id": sid, "request_body": {"title": "renamed"}}))
        assert (thread.id, thread.title, thread.external_id) == (sid, "renamed", "scenario-thread")

    async def delete(self, target: Target, core: Any, sid: str) -> bool:
        from sessionkit.orq import sessions_delete

        assert ok(target, await sessions_delete(core, {"session_id": sid})) is None
        if target.oracle is not None:
            sent = [(r.method, r.path) for r in target.oracle.requests]
            one = f"/v2/sessions/{sid}"
            assert sent == [("POST", "/v2/sessions"), ("GET", one), ("POST", "/v2/sessions/query"), ("PATCH", one),
                            ("DELETE", one)]  # fmt: skip
            assert {r.headers["Authorization"] for r in target.oracle.requests} == {f"Bearer {ORQ_API_KEY}"}
        return True


class MixScenario(Scenario):
    bad_auth_error = None  # Mix has no auth: any credential is ignored

    def core(self, target: Target, credential: str | None) -> BaseCore:
        from sessionkit.mix import MixCore

        return MixCore(server_url=target.url, headers={"Authorization": f"Bearer {credential}"} if credential else None)

    async def create_call(self, core: Any) -> Result[Any, Any]:
        from sessionkit.mix import sessions_create

        return await sessions_create(core, {"title": "scenario"})

    async def create(self, target: Target, core: Any) -> str:
        session = ok(target, await self.create_call(core))
        if target.stateful:
            assert (session.title, session.session_type, session.user_message_count) == ("scenario", "main", 0)
        assert session.created_at.tzinfo is not None
        return session.id

    async def read(
        self, target: Target, core: Any, sid: str, options: RequestOptions | None = None
    ) -> Result[Any, Any]:
        from sessionkit.mix import sessions_get

        return await sessions_get(core, {"id": sid}, options=options)

    async def list_ids(self, target: Target, core: Any) -> list[str] | None:
        from sessionkit.mix import sessions_list

        return [s.id for s in ok(target, await sessions_list(core))]

    async def change(self, target: Target, core: Any, sid: str) -> None:
        from sessionkit.mix import sessions_fork

        fork = ok(target, await sessions_fork(core, {"id": sid, "message_index": 0, "title": "branch"}))
        if target.stateful:
            assert (fork.title, fork.session_type, fork.parent_session_id) == ("branch", "forked", sid)
            assert fork.id != sid

    async def delete(self, target: Target, core: Any, sid: str) -> bool:
        from sessionkit.mix import sessions_delete

        assert ok(target, await sessions_delete(core, {"id": sid})) is None
        return True


class DevinScenario(Scenario):
    def core(self, target: Target, credential: str | None) -> BaseCore:
        from sessionkit.devin import DevinCore

        return DevinCore(api_key=credential or "", server_url=target.url)

    async def create_call(self, core: Any, prompt: str = "scenario") -> Result[Any, Any]:
        from sessionkit.devin import sessions_create

        return await sessions_create(core, {"prompt": prompt, "idempotent": True})

    async def create(self, target: Target, core: Any) -> str:
        prompt = f"scenario {uuid.uuid4().hex}"
        created = ok(target, await self.create_call(core, prompt))
        assert created.is_new_session is True
        assert created.url.endswith(created.session_id.removeprefix("devin-"))
        again = ok(target, await self.create_call(core, prompt))
        assert (again.session_id, again.is_new_session) == (created.session_id, False)
        return created.session_id

    async def read(
        self, target: Target, core: Any, sid: str, options: RequestOptions | None = None
    ) -> Result[Any, Any]:
        from sessionkit.devin import sessions_get

        return await sessions_get(core, {"session_id": sid}, options=options)


class Log10Scenario(Scenario):
    has_read = False

    def core(self, target: Target, credential: str | None) -> BaseCore:
        from sessionkit.log10 import Log10Core

        return Log10Core(token=credential or "", organization=LOG10_ORG, server_url=target.url)

    async def create_call(self, core: Any) -> Result[Any, Any]:
        from sessionkit.log10 import sessions_create

        return await sessions_create(core)

    async def create(self, target: Target, core: Any) -> str:
        sid = ok(target, await self.create_call(core))
        assert isinstance(sid, str)
        assert sid
        return sid


SCENARIOS: dict[str, Scenario] = {
    "jupyter": JupyterScenario(),
    "orq": OrqScenario(),
    "mix": MixScenario(),
    "devin": DevinScenario(),
    "log10": Log10Scenario(),
}


# -- the suite ----------------------------------------------------------------------------------------


async def test_lifecycle(target: Target) -> None:
    """create -> read -> list -> update/fork -> delete (-> read is 404), as far as the service goes."""
    scenario = SCENARIOS[target.service]
    scenario.prepare(target, "lifecycle")
    async with scenario.core(target, target.credential) as core:
        sid = await scenario.create(target, core)
        if not scenario.has_read:
            return
        got = ok(target, await scenario.read(target, core, sid))
        if target.stateful:
            assert getattr(got, "id", None) == sid or getattr(got, "session_id", None) == sid
        ids = await scenario.list_ids(target, core)
        if ids is not None and target.stateful:
            assert sid in ids
        await scenario.change(target, core, sid)
        if await scenario.delete(target, core, sid) and target.stateful:
            err(target, await scenario.read(target, core, sid), NotFoundError)


READ_TARGETS = [t for t in TARGETS if SCENARIOS[t[0]].has_read]


@pytest.mark.parametrize("target", READ_TARGETS, ids=[f"{s}-{k}" for s, k in READ_TARGETS], indirect=True)
async def test_not_found(target: Target) -> None:
    scenario = SCENARIOS[target.service]
    scenario.prepare(target, "missing")
    # Prism is stateless: it answers the declared 404 only when asked to.
    options = RequestOptions(headers={"Prefer": "code=404"}) if target.kind == "prism" else None
    async with scenario.core(target, target.credential) as core:
        error = err(target, await scenario.read(target, core, scenario.missing_id(), options), NotFoundError)
    assert error.status == 404


async def test_bad_auth(target: Target) -> None:
    scenario = SCENARIOS[target.service]
    scenario.prepare(target, "bad_auth")
    async with scenario.core(target, target.bad_credential) as core:
        result = await scenario.create_call(core)
        needs_credential = type(core).credential_arg is not None
    if target.bad_credential is None and needs_credential:  # refused before anything is sent
        error = err(target, result, InvalidRequestError)
        assert type(core).credential_env in error.message
        return
    if scenario.bad_auth_error is None:
        ok(target, result)  # no auth at all: the credential is ignored
        return
    error = err(target, result, scenario.bad_auth_error, allow=("UNAUTHORIZED",))
    if target.service == "jupyter":  # the real server and the fake must refuse with the same words
        assert error.server_message == "'_xsrf' argument missing from POST"
    if target.oracle is not None:
        assert target.oracle.requests[-1].headers["Authorization"] == "Bearer wrong-credential"


JUPYTER_TARGETS = [t for t in TARGETS if t[0] == "jupyter"]


@pytest.mark.parametrize("target", JUPYTER_TARGETS, ids=[f"{s}-{k}" for s, k in JUPYTER_TARGETS], indirect=True)
async def test_jupyter_kernels(target: Target) -> None:
    scenario = SCENARIOS["jupyter"]
    assert isinstance(scenario, JupyterScenario)
    async with scenario.core(target, target.credential) as core:
        await scenario.kernels(target, core)


SLEEP = "import time; time.sleep(60)"


@pytest.mark.parametrize("target", JUPYTER_TARGETS, ids=[f"{s}-{k}" for s, k in JUPYTER_TARGETS], indirect=True)
async def test_jupyter_kernels_run_code(target: Target, request: pytest.FixtureRequest) -> None:
    """The kernels REST operations and code run over the channels: the same outputs, counts and
    failures from the fake (told what the code does) and from a real ipykernel."""
    from sessionkit.errors import InternalServerError
    from sessionkit.jupyter import (
        ExecutionTimeoutError,
        JupyterCore,
        KernelGoneError,
        kernels_delete,
        kernels_execute,
        kernels_get,
        kernels_list,
        kernels_start,
    )

    if target.kind == "fake":
        fake = request.getfixturevalue("fake_jupyter")
        fake.kernel_outputs("print('hi'); 6*7", stdout="hi\n", result="42")
        fake.kernel_outputs("1/0", error=("ZeroDivisionError", "division by zero"))
        fake.kernel_outputs(SLEEP, hang=True)
    async with JupyterCore(server_url=target.url, token=target.credential) as core:
        kernel = ok(target, await kernels_start(core, {"name": "python3"}))
        assert (kernel.name, kernel.execution_state) == ("python3", "starting")
        assert kernel.id in [k.id for k in ok(target, await kernels_list(core))]
        missing = err(target, await kernels_get(core, {"kernel_id": UNKNOWN_KERNEL}), NotFoundError)
        assert missing.server_message == f"Kernel does not exist: {UNKNOWN_KERNEL}"
        nope = err(target, await kernels_start(core, {"name": "nope"}), InternalServerError)
        assert (nope.status, nope.server_message) == (500, "Unhandled error")

        run = {"kernel_id": kernel.id}
        first = ok(target, await kernels_execute(core, {**run, "code": "print('hi'); 6*7"}))
        assert (first.status, first.stdout, first.result, first.execution_count) == (
            "ok", "hi\n", {"text/plain": "42"}, 1
        )  # fmt: skip
        raised = ok(target, await kernels_execute(core, {**run, "code": "1/0"}))
        assert (raised.status, raised.error.ename, raised.error.evalue) == (
            "error",
            "ZeroDivisionError",
            "division by zero",
        )
        timed_out = await kernels_execute(core, {**run, "code": SLEEP, "timeout": 1})
        assert isinstance(timed_out, Err)
        assert isinstance(timed_out.error, ExecutionTimeoutError)
        assert timed_out.error.action == "interrupted"
        again = ok(target, await kernels_execute(core, {**run, "code": "print('hi'); 6*7"}))
        assert again.execution_count == 4  # the interrupted one counted too
        assert ok(target, await kernels_get(core, run)).connections == 1

        async def delete_soon() -> None:
            await asyncio.sleep(0.3)
            assert ok(target, await kernels_delete(core, run)) is None

        deleting = asyncio.ensure_future(delete_soon())
        deleted = await kernels_execute(core, {**run, "code": SLEEP, "timeout": 20})
        await deleting
        # The server interrupts a kernel before it shuts it down: when the interrupt lands first the
        # code ends with its KeyboardInterrupt (a reply, then the shutdown); else the call ends on
        # the shutdown_reply, the reply never coming.
        if isinstance(deleted, Ok):
            assert target.kind == "real"
            assert (deleted.value.status, deleted.value.error.ename) == ("error", "KeyboardInterrupt")
        else:
            assert isinstance(deleted.error, KernelGoneError)
            assert deleted.error.state == "shut down"


UNKNOWN_KERNEL = "11111111-1111-1111-1111-111111111111"
