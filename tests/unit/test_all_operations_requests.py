"""One table pins the request of every operation: method, path, headers and JSON body (aioresponses).

aioresponses bypasses the pool, timeouts and retries, so this file checks request *building* only;
the loopback and real-server suites cover the rest.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

import sessionkit
from sessionkit import BaseCore, Ok, devin, jupyter, log10, mix, orq
from sessionkit._registry import SERVICES
from sessionkit.devin import v3 as devin_v3
from sessionkit.testing import FakeJupyter

BASE = "https://api.test"
THREAD = {
    "_id": "t1",
    "external_id": "e1",
    "duration": 1.5,
    "contact_ids": [],
    "tags": ["a"],
    "traces_count": 0,
    "billing": {"input_cost": 0, "output_cost": 0, "total_cost": 0},
    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
}
JUPYTER_SESSION = {"id": "s-1", "path": "a.ipynb", "type": "notebook", "kernel": {"id": "k1", "name": "python3"}}
MIX_SESSION = {
    "id": "m1",
    "title": "t",
    "userMessageCount": 0,
    "assistantMessageCount": 0,
    "toolCallCount": 0,
    "promptTokens": 0,
    "completionTokens": 0,
    "cost": 0.0,
    "createdAt": "2025-09-09T12:00:00+05:30",
    "sessionType": "main",
}
MIX_FILE = {"name": "a.txt", "size": 5, "modified": 1757419200, "isDir": False, "url": "/files/m1/a.txt"}
DEVIN_SESSION = {
    "session_id": "devin-1",
    "status": "running",
    "created_at": "2024-01-01T00:00:00+00:00",
    "updated_at": "2024-01-01T00:00:00+00:00",
}
FILTERS = {"interval": "SESSION_INTERVAL_LAST_7_DAYS", "tags": ["x"]}
CREATE_THREAD = {k: v for k, v in THREAD.items() if k != "_id"}


@dataclass
class Case:
    name: str
    make_core: Callable[[], BaseCore]
    call: Callable[[Any], Awaitable[Any]]
    method: str
    path: str
    status: int
    payload: Any  # JSON, or bytes sent as they are
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    absent_headers: tuple[str, ...] = ()
    operation: str = ""  # the operation id, when it is not "<service>.sessions.<rest of name>"
    form: tuple[bytes, ...] = ()  # pieces a multipart body must hold (it is not JSON)


def jup() -> BaseCore:
    return jupyter.JupyterCore(server_url=BASE, token="jt")


def orq_core() -> BaseCore:
    return orq.OrqCore("ok", server_url=BASE)


def mix_core() -> BaseCore:
    return mix.MixCore(server_url=BASE)


async def mix_download(core: Any, request: Any) -> Any:
    """A download, read to its end (an unread body would hold its connection)."""
    result = await mix.sessions_files_download(core, request)
    if isinstance(result, Ok):
        async with result.value as body:
            assert [chunk async for chunk in body]
    return result


async def mix_stream(core: Any, request: Any) -> Any:
    """The first item of an event stream (which ends when the mocked body does)."""
    items = [item async for item in mix.sessions_stream(core, request)]
    return items[0]


async def v3_download(core: Any, request: Any) -> Any:
    """An attachment download, read to its end."""
    result = await devin_v3.attachments_download(core, request)
    if isinstance(result, Ok):
        async with result.value as body:
            assert [chunk async for chunk in body]
    return result


def devin_core() -> BaseCore:
    return devin.DevinCore("dk", server_url=BASE)


def devin_v3_core() -> BaseCore:
    return devin_v3.DevinCore("cog_k", "org-1", server_url=BASE)


def log10_core() -> BaseCore:
    return log10.Log10Core("lt", organization="org-1", server_url=BASE)


JUP_AUTH = {"Authorization": "token jt", "Accept": "application/json"}
ORQ_AUTH = {"Authorization": "Bearer ok", "Accept": "application/json"}
DEVIN_AUTH = {"Authorization": "Bearer dk", "Accept": "application/json"}
V3_AUTH = {"Authorization": "Bearer cog_k", "Accept": "application/json"}
JSON = {"Content-Type": "application/json"}
V3 = "/v3/organizations/org-1/sessions"
V3_SESSION = {
    "session_id": "abc",
    "url": "https://app.devin.ai/sessions/abc",
    "org_id": "org-1",
    "status": "running",
    "acus_consumed": 0,
    "created_at": 1,
    "updated_at": 1,
    "tags": [],
    "pull_requests": [],
}

CASES = [
    Case(
        "jupyter.create",
        jup,
        lambda c: jupyter.sessions_create(c, {"path": "a.ipynb", "type": "notebook", "kernel": {"name": "python3"}}),
        "POST",
        "/api/sessions",
        201,
        JUPYTER_SESSION,
        {"path": "a.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
        {**JUP_AUTH, **JSON},
    ),
    Case(
        "jupyter.list",
        jup,
        lambda c: jupyter.sessions_list(c),
        "GET",
        "/api/sessions",
        200,
        [JUPYTER_SESSION],
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "jupyter.get",
        jup,
        lambda c: jupyter.sessions_get(c, {"session": "s/1"}),
        "GET",
        "/api/sessions/s%2F1",
        200,
        JUPYTER_SESSION,
        headers=JUP_AUTH,
    ),
    Case(
        "jupyter.update",
        jup,
        lambda c: jupyter.sessions_update(c, {"session": "s-1", "model": {"path": "b.ipynb"}}),
        "PATCH",
        "/api/sessions/s-1",
        200,
        JUPYTER_SESSION,
        {"path": "b.ipynb"},
        {**JUP_AUTH, **JSON},
    ),
    Case(
        "jupyter.delete",
        jup,
        lambda c: jupyter.sessions_delete(c, {"session": "s-1"}),
        "DELETE",
        "/api/sessions/s-1",
        204,
        None,
        headers=JUP_AUTH,
    ),
    Case(
        "jupyter.kernelspecs.list",
        jup,
        lambda c: jupyter.kernelspecs_list(c),
        "GET",
        "/api/kernelspecs",
        200,
        {"default": "python3", "kernelspecs": {"python3": {"name": "python3", "spec": {"language": "python"}}}},
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernelspecs.list",
    ),
    Case(
        "jupyter.kernels.interrupt",
        jup,
        lambda c: jupyter.kernels_interrupt(c, {"kernel_id": "k/1"}),
        "POST",
        "/api/kernels/k%2F1/interrupt",
        204,
        None,
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernels.interrupt",
    ),
    Case(
        "jupyter.kernels.restart",
        jup,
        lambda c: jupyter.kernels_restart(c, {"kernel_id": "k1"}),
        "POST",
        "/api/kernels/k1/restart",
        200,
        JUPYTER_SESSION["kernel"],
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernels.restart",
    ),
    Case(
        "jupyter.kernels.list",
        jup,
        lambda c: jupyter.kernels_list(c),
        "GET",
        "/api/kernels",
        200,
        [JUPYTER_SESSION["kernel"]],
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernels.list",
    ),
    Case(
        "jupyter.kernels.get",
        jup,
        lambda c: jupyter.kernels_get(c, {"kernel_id": "k 1"}),
        "GET",
        "/api/kernels/k%201",
        200,
        JUPYTER_SESSION["kernel"],
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernels.get",
    ),
    Case(
        "jupyter.kernels.start",
        jup,
        lambda c: jupyter.kernels_start(c, {"name": "python3", "path": "sub/dir"}),
        "POST",
        "/api/kernels",
        201,
        JUPYTER_SESSION["kernel"],
        {"name": "python3", "path": "sub/dir"},
        {**JUP_AUTH, **JSON},
        operation="jupyter.kernels.start",
    ),
    Case(
        "jupyter.kernels.start (defaults)",
        jup,
        lambda c: jupyter.kernels_start(c),
        "POST",
        "/api/kernels",
        201,
        JUPYTER_SESSION["kernel"],
        {},
        {**JUP_AUTH, **JSON},
        operation="jupyter.kernels.start",
    ),
    Case(
        "jupyter.kernels.delete",
        jup,
        lambda c: jupyter.kernels_delete(c, {"kernel_id": "k1"}),
        "DELETE",
        "/api/kernels/k1",
        204,
        None,
        headers=JUP_AUTH,
        absent_headers=("Content-Type",),
        operation="jupyter.kernels.delete",
    ),
    Case(
        "orq.create",
        orq_core,
        lambda c: orq.sessions_create(c, CREATE_THREAD),
        "POST",
        "/v2/sessions",
        200,
        THREAD,
        CREATE_THREAD,
        {**ORQ_AUTH, **JSON},
    ),
    Case(
        "orq.get",
        orq_core,
        lambda c: orq.sessions_get(c, {"session_id": "t 1"}),
        "GET",
        "/v2/sessions/t%201",
        200,
        THREAD,
        headers=ORQ_AUTH,
    ),
    Case(
        "orq.update",
        orq_core,
        lambda c: orq.sessions_update(
            c, {"session_id": "t1", "request_body": {"tags": ["b"], "clear_contact_ids": True}}
        ),
        "PATCH",
        "/v2/sessions/t1",
        200,
        THREAD,
        {"tags": ["b"], "clear_contact_ids": True},
        {**ORQ_AUTH, **JSON},
    ),
    Case(
        "orq.delete",
        orq_core,
        lambda c: orq.sessions_delete(c, {"session_id": "t1"}),
        "DELETE",
        "/v2/sessions/t1",
        204,
        None,
        headers=ORQ_AUTH,
    ),
    Case(
        "orq.list",
        orq_core,
        lambda c: orq.sessions_list(c, {"filters": FILTERS, "limit": 50, "page": 2}),
        "POST",
        "/v2/sessions/query",
        200,
        {"object": "list", "data": [THREAD], "has_more": False},
        {"filters": FILTERS, "limit": 50, "page": 2},
        {**ORQ_AUTH, **JSON},
    ),
    Case(
        "orq.count",
        orq_core,
        lambda c: orq.sessions_count(c, {"filters": FILTERS}),
        "POST",
        "/v2/sessions/count",
        200,
        {"count": 3},
        {"filters": FILTERS},
        {**ORQ_AUTH, **JSON},
    ),
    Case(
        "orq.tags",
        orq_core,
        lambda c: orq.sessions_tags(c),
        "GET",
        "/v2/sessions/tags",
        200,
        ["a", "b"],
        headers=ORQ_AUTH,
    ),
    Case(
        "mix.list",
        mix_core,
        lambda c: mix.sessions_list(c),
        "GET",
        "/api/sessions",
        200,
        [MIX_SESSION],
        absent_headers=("Authorization", "Content-Type"),
    ),
    Case(
        "mix.create",
        mix_core,
        lambda c: mix.sessions_create(c, {"title": "t", "custom_system_prompt": "be brief"}),
        "POST",
        "/api/sessions",
        201,
        MIX_SESSION,
        {"title": "t", "customSystemPrompt": "be brief"},
        JSON,
        ("Authorization",),
    ),
    Case("mix.get", mix_core, lambda c: mix.sessions_get(c, {"id": "m1"}), "GET", "/api/sessions/m1", 200, MIX_SESSION),
    Case(
        "mix.fork",
        mix_core,
        lambda c: mix.sessions_fork(c, {"id": "m1", "message_index": 2, "title": "f"}),
        "POST",
        "/api/sessions/m1/fork",
        201,
        MIX_SESSION,
        {"messageIndex": 2, "title": "f"},
        JSON,
    ),
    Case(
        "mix.fork (no body)",
        mix_core,
        lambda c: mix.sessions_fork(c, {"id": "m1"}),
        "POST",
        "/api/sessions/m1/fork",
        201,
        MIX_SESSION,
        absent_headers=("Content-Type",),
    ),
    Case(
        "mix.delete", mix_core, lambda c: mix.sessions_delete(c, {"id": "m1"}), "DELETE", "/api/sessions/m1", 204, None
    ),
    Case(
        "mix.cancel",
        mix_core,
        lambda c: mix.sessions_cancel(c, {"id": "m1"}),
        "POST",
        "/api/sessions/m1/cancel",
        200,
        {"cancelled": True},
        absent_headers=("Content-Type",),
    ),
    Case(
        "mix.messages.list",
        mix_core,
        lambda c: mix.sessions_messages_list(c, {"id": "m 1"}),
        "GET",
        "/api/sessions/m%201/messages",
        200,
        [{"id": "u1", "sessionId": "m1", "role": "user", "userInput": "hi"}],
    ),
    Case(
        "mix.messages.send",
        mix_core,
        lambda c: mix.sessions_messages_send(c, {"id": "m1", "text": "hi", "thinking_level": "off", "max_steps": 3}),
        "POST",
        "/api/sessions/m1/messages",
        202,
        {"status": "processing", "sessionId": "m1"},
        {"text": "hi", "thinking_level": "off", "max_steps": 3},
        JSON,
    ),
    Case(
        "mix.rewind",
        mix_core,
        lambda c: mix.sessions_rewind(c, {"id": "m1", "message_id": "u1", "cleanup_media": False}),
        "POST",
        "/api/sessions/m1/rewind",
        200,
        MIX_SESSION,
        {"messageId": "u1", "cleanupMedia": False},
        JSON,
    ),
    Case(
        "mix.export",
        mix_core,
        lambda c: mix.sessions_export(c, {"id": "m1"}),
        "GET",
        "/api/sessions/m1/export",
        200,
        {"id": "m1", "title": "t", "messages": []},
    ),
    Case(
        "mix.callbacks.update",
        mix_core,
        lambda c: mix.sessions_callbacks_update(c, {"id": "m1", "callbacks": []}),
        "PATCH",
        "/api/sessions/m1/callbacks",
        200,
        MIX_SESSION,
        {"callbacks": []},
        JSON,
    ),
    Case(
        "mix.files.list",
        mix_core,
        lambda c: mix.sessions_files_list(c, {"id": "m1"}),
        "GET",
        "/api/sessions/m1/files",
        200,
        [MIX_FILE],
    ),
    Case(
        "mix.files.upload",
        mix_core,
        lambda c: mix.sessions_files_upload(c, {"id": "m1", "file": mix.Upload(b"hello", filename="a b.txt")}),
        "POST",
        "/api/sessions/m1/files/upload",
        201,
        MIX_FILE,
        form=(b'Content-Disposition: form-data; name="file"; filename="a b.txt"', b"\r\n\r\nhello\r\n--"),
    ),
    Case(
        "mix.files.download",
        mix_core,
        lambda c: mix_download(c, {"id": "m1", "filename": "a/b.png", "thumb": "w100", "time": 1.5}),
        "GET",
        "/api/sessions/m1/files/a%2Fb.png?thumb=w100&time=1.5",
        200,
        "png bytes",
        headers={"Accept": "*/*"},
    ),
    Case(
        "mix.files.delete",
        mix_core,
        lambda c: mix.sessions_files_delete(c, {"id": "m1", "filename": "a.txt"}),
        "DELETE",
        "/api/sessions/m1/files/a.txt",
        204,
        None,
    ),
    Case(
        "mix.stream",
        mix_core,
        lambda c: mix_stream(c, {"id": "m 1", "last_event_id": "7"}),
        "GET",
        "/stream?sessionId=m%201",
        200,
        b'id: 1\nevent: connected\ndata: {"sessionId":"m 1"}\n\n',
        headers={"Accept": "text/event-stream", "Last-Event-ID": "7"},
    ),
    Case(
        "mix.permissions.grant",
        mix_core,
        lambda c: mix.permissions_grant(c, {"id": "perm/1"}),
        "POST",
        "/api/permissions/perm%2F1/grant",
        200,
        {"granted": True},
        absent_headers=("Content-Type",),
        operation="mix.permissions.grant",
    ),
    Case(
        "mix.permissions.deny",
        mix_core,
        lambda c: mix.permissions_deny(c, {"id": "perm-1"}),
        "POST",
        "/api/permissions/perm-1/deny",
        200,
        {"data": {"denied": True}},  # the 0.1.1 envelope
        absent_headers=("Content-Type",),
        operation="mix.permissions.deny",
    ),
    Case(
        "mix.notifications.respond",
        mix_core,
        lambda c: mix.notifications_respond(c, {"id": "n-1", "type": "choice", "value": "main"}),
        "POST",
        "/api/notifications/n-1/respond",
        204,
        None,
        {"type": "choice", "value": "main"},
        JSON,
        operation="mix.notifications.respond",
    ),
    Case(
        "mix.messages.history",
        mix_core,
        lambda c: mix.messages_history(c, {"limit": 10, "offset": 20}),
        "GET",
        "/api/messages/history?limit=10&offset=20",
        200,
        [{"id": "u1", "sessionId": "m1", "role": "user", "userInput": "hi"}],
        absent_headers=("Content-Type",),
        operation="mix.messages.history",
    ),
    Case(
        "devin.create",
        devin_core,
        lambda c: devin.sessions_create(c, {"prompt": "fix it", "idempotent": True, "tags": ["x"]}),
        "POST",
        "/v1/sessions",
        200,
        {"session_id": "devin-1", "url": "https://app.devin.ai/sessions/1"},
        {"prompt": "fix it", "idempotent": True, "tags": ["x"]},
        {**DEVIN_AUTH, **JSON},
    ),
    Case(
        "devin.list",
        devin_core,
        lambda c: devin.sessions_list(c, {"limit": 2, "offset": 4, "tags": ["a", "b c"], "user_email": "u@x.io"}),
        "GET",
        "/v1/sessions?limit=2&offset=4&tags=a&tags=b%20c&user_email=u%40x.io",
        200,
        {"sessions": [DEVIN_SESSION]},
        headers=DEVIN_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin.get",
        devin_core,
        lambda c: devin.sessions_get(c, {"session_id": "devin-1"}),
        "GET",
        "/v1/sessions/devin-1",
        200,
        DEVIN_SESSION,
        headers=DEVIN_AUTH,
    ),
    Case(
        "devin.send_message",
        devin_core,
        lambda c: devin.sessions_send_message(c, {"session_id": "devin-1", "message": "go on"}),
        "POST",
        "/v1/sessions/devin-1/message",
        200,
        {"detail": "Session resumed"},
        {"message": "go on"},
        {**DEVIN_AUTH, **JSON},
    ),
    Case(
        "devin.update_tags",
        devin_core,
        lambda c: devin.sessions_update_tags(c, {"session_id": "devin-1", "tags": ["a", "b"]}),
        "PUT",
        "/v1/sessions/devin-1/tags",
        200,
        {"detail": "Tags updated successfully"},
        {"tags": ["a", "b"]},
        {**DEVIN_AUTH, **JSON},
    ),
    Case(
        "devin.terminate",
        devin_core,
        lambda c: devin.sessions_terminate(c, {"session_id": "devin-1"}),
        "DELETE",
        "/v1/sessions/devin-1",
        200,
        {"detail": "Session terminated successfully"},
        headers=DEVIN_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.create",
        devin_v3_core,
        lambda c: devin_v3.sessions_create(c, {"prompt": "fix it", "devin_mode": "fast", "repos": ["o/r"]}),
        "POST",
        V3,
        200,
        V3_SESSION,
        {"prompt": "fix it", "devin_mode": "fast", "repos": ["o/r"]},
        {**V3_AUTH, **JSON},
    ),
    Case(
        "devin_v3.list",
        devin_v3_core,
        lambda c: devin_v3.sessions_list(c, {"first": 2, "after": "c/1", "tags": ["a", "b"], "is_archived": False}),
        "GET",
        V3 + "?after=c%2F1&first=2&is_archived=false&tags=a&tags=b",  # aioresponses sorts the query
        200,
        {"items": [V3_SESSION], "has_next_page": True, "end_cursor": "c2", "total": 9},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.get",
        devin_v3_core,
        lambda c: devin_v3.sessions_get(c, {"devin_id": "abc"}),
        "GET",
        V3 + "/devin-abc",
        200,
        V3_SESSION,
        headers=V3_AUTH,
    ),
    Case(
        "devin_v3.send_message",
        devin_v3_core,
        lambda c: devin_v3.sessions_send_message(c, {"devin_id": "devin-abc", "message": "go on"}),
        "POST",
        V3 + "/devin-abc/messages",
        200,
        V3_SESSION,
        {"message": "go on"},
        {**V3_AUTH, **JSON},
    ),
    Case(
        "devin_v3.messages.list",
        devin_v3_core,
        lambda c: devin_v3.sessions_messages_list(c, {"devin_id": "abc", "first": 5}),
        "GET",
        V3 + "/devin-abc/messages?first=5",
        200,
        {"items": [{"event_id": "e1", "source": "devin", "message": "hi", "created_at": 1}]},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.tags.get",
        devin_v3_core,
        lambda c: devin_v3.sessions_tags_get(c, {"devin_id": "abc"}),
        "GET",
        V3 + "/devin-abc/tags",
        200,
        {"tags": ["a"]},
        headers=V3_AUTH,
    ),
    Case(
        "devin_v3.tags.add",
        devin_v3_core,
        lambda c: devin_v3.sessions_tags_add(c, {"devin_id": "abc", "tags": ["b"]}),
        "POST",
        V3 + "/devin-abc/tags",
        200,
        {"tags": ["a", "b"]},
        {"tags": ["b"]},
        {**V3_AUTH, **JSON},
    ),
    Case(
        "devin_v3.tags.replace",
        devin_v3_core,
        lambda c: devin_v3.sessions_tags_replace(c, {"devin_id": "abc", "tags": []}),
        "PUT",
        V3 + "/devin-abc/tags",
        200,
        {"tags": []},
        {"tags": []},
        {**V3_AUTH, **JSON},
    ),
    Case(
        "devin_v3.archive",
        devin_v3_core,
        lambda c: devin_v3.sessions_archive(c, {"devin_id": "abc"}),
        "POST",
        V3 + "/devin-abc/archive",
        200,
        {**V3_SESSION, "is_archived": True},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.terminate",
        devin_v3_core,
        lambda c: devin_v3.sessions_terminate(c, {"devin_id": "abc", "archive": True}),
        "DELETE",
        V3 + "/devin-abc?archive=true",
        200,
        {**V3_SESSION, "status": "exit"},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin.attachments.upload",
        devin_core,
        lambda c: devin.attachments_upload(c, {"file": devin.Upload(b"hello", filename="notes.txt")}),
        "POST",
        "/v1/attachments",
        200,
        "https://api.devin.ai/attachments/u1/notes.txt",
        headers=DEVIN_AUTH,
        form=(b'Content-Disposition: form-data; name="file"; filename="notes.txt"', b"\r\n\r\nhello\r\n--"),
        operation="devin.attachments.upload",
    ),
    Case(
        "devin_v3.attachments.upload",
        devin_v3_core,
        lambda c: devin_v3.attachments_upload(c, {"file": devin_v3.Upload(b"hello", filename="a b.txt")}),
        "POST",
        "/v3/organizations/org-1/attachments",
        200,
        {"attachment_id": "u1", "name": "a b.txt", "url": "https://app.devin.ai/attachments/u1/a%20b.txt"},
        headers=V3_AUTH,
        form=(b'Content-Disposition: form-data; name="file"; filename="a b.txt"', b"\r\n\r\nhello\r\n--"),
        operation="devin_v3.attachments.upload",
    ),
    Case(
        "devin_v3.attachments.download",
        devin_v3_core,
        lambda c: v3_download(c, {"uuid": "u 1", "name": "a/b.txt"}),
        "GET",
        "/v3/organizations/org-1/attachments/u%201/a%2Fb.txt",
        200,
        b"file bytes",
        headers={**V3_AUTH, "Accept": "*/*"},
        operation="devin_v3.attachments.download",
    ),
    Case(
        "devin_v3.attachments.list",
        devin_v3_core,
        lambda c: devin_v3.sessions_attachments_list(c, {"devin_id": "abc"}),
        "GET",
        V3 + "/devin-abc/attachments",
        200,
        [{"attachment_id": "u1", "name": "a.txt", "source": "user", "url": "https://x/a.txt", "content_type": None}],
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.insights.get",
        devin_v3_core,
        lambda c: devin_v3.sessions_insights_get(c, {"devin_id": "abc"}),
        "GET",
        V3 + "/devin-abc/insights",
        200,
        {**V3_SESSION, "num_devin_messages": 2, "num_user_messages": 1, "session_size": "xs", "analysis": None},
        headers=V3_AUTH,
    ),
    Case(
        "devin_v3.insights.generate",
        devin_v3_core,
        lambda c: devin_v3.sessions_insights_generate(c, {"devin_id": "abc"}),
        "POST",
        V3 + "/devin-abc/insights/generate",
        200,
        {"session_id": "abc", "status": "started"},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
    ),
    Case(
        "devin_v3.insights.list",
        devin_v3_core,
        lambda c: devin_v3.insights_list(c, {"first": 5, "tags": ["a"]}),
        "GET",
        V3 + "/insights?first=5&tags=a",
        200,
        {"items": [{**V3_SESSION, "session_size": "m"}], "has_next_page": False},
        headers=V3_AUTH,
        absent_headers=("Content-Type",),
        operation="devin_v3.insights.list",
    ),
    Case(
        "log10.create",
        log10_core,
        lambda c: log10.sessions_create(c),
        "POST",
        "/api/v1/sessions",
        201,
        {"session": {"id": "l1"}},
        headers={"X-Log10-Token": "lt", "X-Log10-Organization": "org-1"},
        absent_headers=("Authorization", "Content-Type"),
    ),
]


def _operation_id(case: Case) -> str:
    if case.operation:
        return case.operation
    service, _, rest = case.name.split(" ")[0].partition(".")
    return f"{service}.sessions.{rest}"


def registered_operations() -> set[str]:
    """Every operation of every service, from the one registry (`sessionkit._registry.SERVICES`)."""
    return {entry.operation.id for service in SERVICES for entry in service.operations()}


def packages_with_operations() -> set[str]:
    """Every package that keeps an `OPERATIONS` registry, found by walking `sessionkit` itself."""
    found: set[str] = set()
    for info in pkgutil.iter_modules(sessionkit.__path__):
        if not info.ispkg or info.name.startswith("_") or info.name == "testing":
            continue
        package = importlib.import_module(f"sessionkit.{info.name}")
        # A service's other API generation is a subpackage of it (`sessionkit.devin.v3`).
        subpackages = [m.name for m in pkgutil.iter_modules(package.__path__) if m.ispkg]
        for module in [package, *(importlib.import_module(f"{package.__name__}.{n}") for n in subpackages)]:
            if getattr(module, "OPERATIONS", None):
                found.add(module.__name__)
    return found


def test_the_registry_names_every_service_package() -> None:
    assert packages_with_operations() == {service.package for service in SERVICES}


def test_every_declared_operation_has_a_row_and_every_row_an_operation() -> None:
    declared = registered_operations()
    covered = {_operation_id(case) for case in CASES} | {op for op, _ in CHANNEL_CASES}
    assert declared - covered == set(), "declared operations without a row in CASES"
    assert covered - declared == set(), "rows for operations no service declares"
    assert len(declared) >= 20


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_request_is_built_as_the_contract_says(case: Case) -> None:
    url = BASE + case.path
    with aioresponses() as mocked:
        raw: dict[str, Any] = {"payload": case.payload}
        if isinstance(case.payload, bytes):  # an event stream (or a file): says what it is
            kind = "text/event-stream" if case.payload.startswith(b"id:") else "application/octet-stream"
            raw = {"body": case.payload, "content_type": kind}
        mocked.add(URL(url, encoded=True), case.method, status=case.status, **raw)
        async with case.make_core() as core:
            result = await case.call(core)
        assert isinstance(result, Ok), result
        [(key, calls)] = list(mocked.requests.items())
    method, sent_url = key
    assert method == case.method
    expected = URL(case.path, encoded=True)
    assert sent_url.raw_path == expected.raw_path
    assert list(sent_url.query.items()) == list(expected.query.items())  # aioresponses re-encodes the query
    [call] = calls
    headers = call.kwargs["headers"]
    for name, value in case.headers.items():
        assert headers.get(name) == value, (name, headers)
    for name in case.absent_headers:
        assert name not in headers, (name, headers)
    data = call.kwargs.get("data")
    if case.form:
        rendered = await rendered_payload(data)
        for piece in case.form:
            assert piece in rendered, (piece, rendered[:500])
    elif case.body is None:
        assert data is None
    else:
        assert json.loads(data) == case.body


async def rendered_payload(payload: Any) -> bytes:
    """The bytes an aiohttp payload (a multipart writer) sends."""

    class Sink:
        def __init__(self) -> None:
            self.data = bytearray()

        async def write(self, chunk: bytes) -> None:
            self.data += chunk

    sink = Sink()
    await payload.write(sink)
    return bytes(sink.data)


# The executions open the kernel's channels WebSocket, which aioresponses cannot answer: their
# handshake is checked on the fake server, which records it like any request.
CHANNEL_CASES = [
    ("jupyter.kernels.execute", jupyter.kernels_execute),
    ("jupyter.kernels.execute_stream", None),
]


@pytest.mark.parametrize(("operation", "function"), CHANNEL_CASES, ids=[op for op, _ in CHANNEL_CASES])
async def test_the_channels_handshake_is_built_as_the_contract_says(operation: str, function: Any) -> None:
    async with FakeJupyter(token="jt") as fake:
        kernel_id = fake._start_kernel("python3")  # pyright: ignore[reportPrivateUsage]
        fake.kernel_outputs("6*7", result="42")
        request = {"kernel_id": kernel_id, "code": "6*7"}
        async with jupyter.JupyterCore(server_url=fake.url, token="jt") as core:
            if function is not None:
                result = await function(core, request)
                assert isinstance(result, Ok), result
                assert result.value.result == {"text/plain": "42"}
            else:
                async with aclosing(jupyter.kernels_execute_stream(core, request)) as outputs:
                    items = [item async for item in outputs]
                assert all(isinstance(item, Ok) for item in items), items
                assert isinstance(items[-1].value, jupyter.ExecuteReply)
    [handshake] = [r for r in fake.requests if r.path.endswith("/channels")]
    assert (handshake.method, handshake.path) == ("GET", f"/api/kernels/{kernel_id}/channels")
    assert list(handshake.query) == ["session_id"]  # the token never travels in the URL
    assert len(handshake.query["session_id"]) == 32
    assert handshake.headers["Authorization"] == "token jt"
    assert handshake.headers["Sec-WebSocket-Protocol"] == "v1.kernel.websocket.jupyter.org"
    assert handshake.headers["Upgrade"].lower() == "websocket"
    assert handshake.body == b""
