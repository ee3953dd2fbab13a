"""`sessionkit demo`: a tour of the library against in-process fakes of all five services.

Read it as an example. Every operation is a free `async def` that takes a core and a request (an
attrs model or a plain dict) and returns `Ok(value)` or `Err(error)`: nothing raises, so each
result is checked with `isinstance` or `match`. Cores are opened with `async with`, which closes
their connection pool. `sessionkit.batch.batch` fans one operation out over many inputs.

`sessionkit demo --jupyter` runs the Jupyter part against a real Jupyter Server started for the
occasion (needs `jupyter_server` and `ipykernel`).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from contextlib import AsyncExitStack, aclosing
from functools import partial
from typing import Any

from sessionkit import (
    Err,
    HookContext,
    NotFoundError,
    Ok,
    ResponseMeta,
    RetryConfig,
    Timeout,
    devin,
    jupyter,
    log10,
    mix,
    orq,
)
from sessionkit.batch import BatchProgress, batch
from sessionkit.devin import v3 as devin_v3
from sessionkit.testing import FakeDevin, FakeDevinV3, FakeJupyter, FakeLog10, FakeMix, FakeOrq, Fault
from sessionkit.testing.real_jupyter import RealJupyterServer

from .output import EXIT_API, EXIT_OK, EXIT_USAGE
from .progress import progress
from .tally import Section, Tour

__all__ = ["run_demo"]

JUPYTER_SESSIONS, JUPYTER_CONCURRENCY = 500, 32
ORQ_THREADS, ORQ_PAGE = 120, 50
# Short waits keep the tour quick; the policy is the default one otherwise (503s are retried).
RETRIES = RetryConfig(max_retries=3, initial_wait=0.05, max_wait=0.2)
CONFIG: dict[str, Any] = {"retries": RETRIES, "timeout": Timeout(attempt=10.0, total=30.0)}


async def jupyter_tour(s: Section, core: jupyter.JupyterCore, *, real: bool = False) -> None:
    """Create 500 sessions in one batch, list them, rename one, look at kernels, meet a typed 404."""
    # The first session starts a kernel; the batch binds its sessions to that same kernel, which
    # keeps a real server from starting 500 kernel processes.
    first = s.value(
        await jupyter.sessions_create(core, {"path": "tour/first.ipynb", "kernel": {"name": "python3"}}), "create"
    )
    if first is None or first.kernel is None:
        return
    requests = [
        jupyter.CreateSessionRequest(path=f"tour/nb-{i:03}.ipynb", kernel=jupyter.KernelRef(id=first.kernel.id))
        for i in range(JUPYTER_SESSIONS)
    ]
    with progress("jupyter creates", len(requests)) as bar:

        def tick(_: BatchProgress) -> None:
            bar.advance()

        create = partial(jupyter.sessions_create, core)
        results = await batch(create, requests, concurrency=JUPYTER_CONCURRENCY, progress=tick)
    # One result per input, in input order, whatever order the calls finished in.
    created = [s.value(r, f"create {i}") for i, r in enumerate(results)]
    s.expect([c.path if c else None for c in created] == [r.path for r in requests], "results out of input order")
    s.note(
        f"{JUPYTER_SESSIONS} sessions created by batch (concurrency {JUPYTER_CONCURRENCY}), "
        "results in input order, sharing one kernel"
    )

    listed = s.value(await jupyter.sessions_list(core), "list") or []
    s.expect(len(listed) == JUPYTER_SESSIONS + 1, f"list returned {len(listed)} sessions")

    one = created[7]
    if one is not None:
        renamed = s.value(
            await jupyter.sessions_update(core, {"session": one.id, "model": {"name": "renamed"}}), "update"
        )
        again = s.value(await jupyter.sessions_get(core, {"session": one.id}), "get")
        s.expect(renamed is not None and again is not None and again.name == "renamed", "the rename did not stick")

    specs = s.value(await jupyter.kernelspecs_list(core), "kernelspecs")
    if specs is not None:
        s.note(f"kernelspecs: {sorted(specs.kernelspecs)} (default {specs.default!r})")
    s.value(await jupyter.kernels_interrupt(core, {"kernel_id": first.kernel.id}), "interrupt")
    if not real:  # a real server says "starting" until a client attaches to the kernel's channels
        ready = s.value(
            await jupyter.sessions_wait_ready(core, {"session": first.id}, timeout=10, interval=0.05), "wait_ready"
        )
        state = ready.kernel.execution_state if ready is not None and ready.kernel is not None else None
        s.note(f"waited for the shared kernel to leave 'starting': now {state!r}")

    # A typed error: the missing session comes back as a value, and `match` picks it apart.
    missing = str(uuid.uuid4())
    match s.record(await jupyter.sessions_get(core, {"session": missing})):
        case Err(NotFoundError() as e):
            s.note(f"get of a missing session -> Err({type(e).__name__}), status {e.status}, {e.attempts} attempt")
        case other:
            s.expect(False, f"a missing session gave {other!r}, not Err(NotFoundError)")

    # Delete the first session last: its kernel goes with it, and with it every session sharing it.
    s.value(await jupyter.sessions_delete(core, {"session": first.id}), "delete")


async def orq_tour(s: Section, core: orq.OrqCore) -> None:
    """Seed threads, read them back page by page, count, tag, update and delete."""
    bodies: list[orq.CreateThreadRequestParams] = [
        {
            "external_id": f"tour-{i}",
            "duration": 1000 + i,
            "contact_ids": [],
            "billing": {"input_cost": 0.01, "output_cost": 0.02, "total_cost": 0.03},
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
            "traces_count": 1,
            "tags": ["tour", ("red", "green", "blue")[i % 3]],
        }
        for i in range(ORQ_THREADS)
    ]
    for result in await batch(partial(orq.sessions_create, core), bodies, concurrency=16):
        s.value(result, "create")

    query: orq.ListThreadsRequestParams = {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}, "limit": ORQ_PAGE}
    threads: list[orq.Thread] = []
    pages: list[ResponseMeta] = []

    # The pager makes its page requests itself; an after-success hook sees each one as it is made.
    def count_page(ctx: HookContext, meta: ResponseMeta, value: Any) -> None:
        if ctx.operation_id == "orq.sessions.list":
            pages.append(meta)
            s.record(Ok(value, meta=meta))

    core.hooks.after_success.append(count_page)
    try:
        async for result in orq.sessions_list_all(core, query):
            match result:
                case Ok(thread):
                    threads.append(thread)
                case Err():
                    s.value(result, "list page")
    finally:
        core.hooks.after_success.remove(count_page)
    s.expect(len(threads) == ORQ_THREADS, f"paging returned {len(threads)} threads, not {ORQ_THREADS}")
    s.note(f"{len(threads)} threads read back over {len(pages)} pages of up to {ORQ_PAGE} (sessions_list_all)")

    count = s.value(await orq.sessions_count(core, {"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}}), "count")
    s.expect(count is not None and count.count == ORQ_THREADS, f"count said {count}")
    tags = s.value(await orq.sessions_tags(core), "tags") or []
    s.expect({"tour", "red", "green", "blue"} <= set(tags), f"tags were {tags}")

    if threads:
        first = threads[0]
        update: orq.UpdateSessionRequestParams = {"session_id": first.id, "request_body": {"tags": ["tour", "starred"]}}
        updated = s.value(await orq.sessions_update(core, update), "update")
        s.expect(updated is not None and "starred" in updated.tags, "the update lost its tag")
        s.value(await orq.sessions_delete(core, {"session_id": first.id}), "delete")
        gone = s.record(await orq.sessions_get(core, {"session_id": first.id}))
        s.expect(isinstance(gone, Err) and isinstance(gone.error, NotFoundError), f"deleted thread still there: {gone}")


async def mix_tour(s: Section, core: mix.MixCore, fake: FakeMix) -> None:
    """Mix 0.10.1: create a session, fork it after its first message (servers up to 0.10.1), clean up."""
    source = s.value(await mix.sessions_create(core, {"title": "tour"}), "create")
    if source is None:
        return
    fake.add_message(source.id, "user", "hello")  # a conversation to fork
    fake.add_message(source.id, "assistant", "hi there")
    fork = s.value(await mix.sessions_fork(core, {"id": source.id, "message_index": 0, "title": "tour fork"}), "fork")
    s.expect(fork is not None and fork.parent_session_id == source.id, "the fork does not name its parent")
    if fork is not None:
        s.note(
            f"forked {source.id[:8]}… at message 0 -> {fork.id[:8]}… (user messages kept: {fork.user_message_count})"
        )
        s.value(await mix.sessions_get(core, {"id": fork.id}), "get fork")
        s.value(await mix.sessions_delete(core, {"id": fork.id}), "delete fork")
    listed = s.value(await mix.sessions_list(core), "list") or []
    s.expect([x.id for x in listed] == [source.id], f"list returned {len(listed)} sessions")
    s.value(await mix.sessions_delete(core, {"id": source.id}), "delete")


async def mix_current_tour(s: Section, core: mix.MixCore) -> None:
    """Mix 0.11.4: a session with a browser, a message answered on the event stream, a file up and down."""
    create: mix.CreateSessionRequestParams = {"title": "tour 0.11", "browser_mode": "local-browser-service"}
    session = s.value(await mix.sessions_create(core, create), "create")
    if session is None:
        return
    # Open the stream first: the server answers the message (202) before its agent runs, and an
    # event sent while no stream is open is lost.
    answer, kinds = "", list[str]()
    async with aclosing(mix.sessions_stream(core, {"id": session.id})) as events:
        async for item in events:
            if isinstance(item, Err):
                s.expect(False, f"stream: {item.error.message}")
                break
            event = item.value
            kinds.append(event.event)
            if isinstance(event, mix.ConnectedEvent):
                s.value(await mix.sessions_messages_send(core, {"id": session.id, "text": "hello"}), "send")
            elif isinstance(event, mix.CompleteEvent):
                answer = event.content or ""
                break
    s.expect(answer == "You said: hello", f"the turn ended with {answer!r}")
    pieces = kinds.count("content")
    s.note(f"message answered on the stream: {len(kinds)} events ({pieces} content pieces), {answer!r}")
    data = b"notes of the tour\n" * 64
    upload: mix.UploadFileRequestParams = {"id": session.id, "file": mix.Upload(data, filename="notes.txt")}
    stored = s.value(await mix.sessions_files_upload(core, upload), "upload")
    download = s.value(await mix.sessions_files_download(core, {"id": session.id, "filename": "notes.txt"}), "download")
    if stored is not None and download is not None:
        async with download as body:
            back = b"".join([chunk.unwrap_or(b"") async for chunk in body])
        s.expect(back == data, "the downloaded file differs from the upload")
        s.note(f"{stored.name}: {stored.size} bytes uploaded (multipart) and streamed back intact")
    s.value(await mix.sessions_delete(core, {"id": session.id}), "delete")


async def devin_tour(s: Section, core: devin.DevinCore) -> None:
    """v1: start a session, send it a message, list every session page by page."""
    created = s.value(await devin.sessions_create(core, {"prompt": "Summarise the README", "tags": ["tour"]}), "create")
    if created is None:
        return
    details = s.value(await devin.sessions_get(core, {"session_id": created.session_id}), "get")
    if details is not None:
        s.note(f"v1 session {created.session_id} is {details.status!r}")
    s.value(await devin.sessions_send_message(core, {"session_id": created.session_id, "message": "Go on"}), "message")
    every = [r async for r in devin.sessions_list_all(core, {"limit": 2})]
    s.expect(all(isinstance(r, Ok) for r in every), f"list_all gave {[r for r in every if isinstance(r, Err)]}")
    s.note(f"v1 list_all: {len(every)} session(s) read two per page")


async def devin_v3_tour(s: Section, core: devin_v3.DevinCore) -> None:
    """v3: start a session, then wait until it needs input (the fake moves it on as it is read)."""
    created = s.value(await devin_v3.sessions_create(core, {"prompt": "Fix the flaky test"}), "create")
    if created is None:
        return
    waited = s.value(
        await devin_v3.sessions_wait(core, {"devin_id": created.session_id}, timeout=10, interval=0.05), "wait"
    )
    if waited is not None:
        s.note(f"v3 session waited on until {waited.state!r}")


async def log10_tour(s: Section, core: log10.Log10Core) -> None:
    session_id = s.value(await log10.sessions_create(core), "create")
    s.expect(isinstance(session_id, str) and bool(session_id), f"create gave {session_id!r}")


async def retry_tour(s: Section, core: orq.OrqCore, fake: FakeOrq) -> None:
    """Two 503s, then success: the pipeline retries with backoff and the caller just sees Ok."""
    fake.faults.push(Fault.status(503), times=2, method="GET")
    result = s.record(await orq.sessions_tags(core))
    match result:
        case Ok(meta=meta) if meta is not None and meta.attempts == 3:
            s.note(f"503, 503, then 200: Ok after {meta.attempts} attempts")
        case _:
            s.expect(False, f"expected Ok after 3 attempts, got {result!r}")


async def tour(real_jupyter: bool) -> Tour | None:
    """Start the servers, run each part in its own section; None when no Jupyter Server could start."""
    t = Tour()
    async with AsyncExitStack() as stack:
        if real_jupyter:
            try:
                server = await stack.enter_async_context(RealJupyterServer())
            except RuntimeError as exc:  # not installed, or it would not start
                print(f"sessionkit demo --jupyter: cannot start a Jupyter Server: {exc}", file=sys.stderr)
                return None
            jupyter_url, token = server.url, server.token
        else:
            fake_jupyter = await stack.enter_async_context(FakeJupyter(token="demo-token", kernel_ready_after_polls=2))
            jupyter_url, token = fake_jupyter.url, fake_jupyter.token
        fake_orq = await stack.enter_async_context(FakeOrq(api_key="demo-orq-key"))
        fake_mix = await stack.enter_async_context(FakeMix())
        fake_mix_current = await stack.enter_async_context(FakeMix(version="0.11.4"))
        fake_devin = await stack.enter_async_context(FakeDevin(api_key="demo-devin-key"))
        fake_devin_v3 = await stack.enter_async_context(FakeDevinV3(api_key="cog_demo-key", gets_per_step=2))
        fake_log10 = await stack.enter_async_context(FakeLog10(token="demo-log10-token"))

        with t.section("jupyter (real)" if real_jupyter else "jupyter") as s:
            async with jupyter.JupyterCore(server_url=jupyter_url, token=token, **CONFIG) as core:
                await jupyter_tour(s, core, real=real_jupyter)
        async with orq.OrqCore(api_key="demo-orq-key", server_url=fake_orq.url, **CONFIG) as orq_core:
            with t.section("orq") as s:
                await orq_tour(s, orq_core)
            with t.section("retries (503 burst)") as s:
                await retry_tour(s, orq_core, fake_orq)
        with t.section("mix") as s:
            async with mix.MixCore(server_url=fake_mix.url, **CONFIG) as core:
                await mix_tour(s, core, fake_mix)
        with t.section("mix 0.11 (stream, files)") as s:
            async with mix.MixCore(server_url=fake_mix_current.url, **CONFIG) as core:
                await mix_current_tour(s, core)
        with t.section("devin") as s:
            async with devin.DevinCore(api_key="demo-devin-key", server_url=fake_devin.url, **CONFIG) as core:
                await devin_tour(s, core)
        with t.section("devin v3 (wait)") as s:
            v3 = devin_v3.DevinCore("cog_demo-key", "org-fake", server_url=fake_devin_v3.url, **CONFIG)
            async with v3 as core:
                await devin_v3_tour(s, core)
        with t.section("log10") as s:
            async with log10.Log10Core(token="demo-log10-token", server_url=fake_log10.url, **CONFIG) as core:
                await log10_tour(s, core)
    return t


def run_demo(*, real_jupyter: bool = False) -> int:
    """Run the tour, print the report; 0 when everything went as expected, else 1 (2: no Jupyter)."""
    t = asyncio.run(tour(real_jupyter))
    if t is None:
        return EXIT_USAGE
    where = "a real Jupyter Server and in-process fakes" if real_jupyter else "in-process fakes of all five services"
    print(t.report(f"sessionkit demo: a tour against {where}"))
    return EXIT_OK if not t.problems else EXIT_API
