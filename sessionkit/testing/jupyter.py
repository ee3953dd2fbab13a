"""`FakeJupyter`: an in-process imitation of Jupyter Server 2.21's `/api/sessions`, `/api/kernelspecs`,
`/api/kernels` and the kernels' channels WebSocket.

It keeps sessions and kernels in memory and reproduces the observed behaviour: create-or-return by
`path` (201 both times), token auth (`?token=`, `Authorization: token|Bearer`) with the 403 bodies,
including the XSRF one on POST/PATCH/DELETE, 501 for an unknown kernel, the HTML 404 for ids that are
not uuid-shaped, kernel changes on PATCH and deletes (the old kernel is shut down, and the sessions
sharing it are dropped: a get of one before any list is a 404 saying so), and 204 on delete.
Interrupt is 204 (404 for an unknown kernel); restart is 200 with the kernel, now `"idle"` (500 for an
unknown one).

Kernels report `"starting"`, as on a server with no websocket client, until a client connects to
their channels, they are restarted, `set_execution_state` changes them, or the readiness you ask
for passes: after `kernel_ready_after_polls` reads (GETs that report the kernel) or
`kernel_ready_after` seconds on `clock` (pass the core's `FakeClock` to run that time instead of
waiting it). `/api/kernels` lists, gets, starts (500 `Unhandled error` for an unknown name, as the
real server answers) and deletes kernels.

Each kernel speaks the channels protocol on `/api/kernels/{id}/channels`, in the v1 framing when
the client offers it (`channels_protocol="legacy"`: the server offers no subprotocol, and the
legacy JSON framing is used). What a piece of code does is registered with `kernel_outputs`; code
no test registered succeeds and prints nothing. Interrupt, restart and delete act on the code
running, as on the real server (a delete sends `shutdown_reply`, the code's error and `idle`, and
never its reply); `drop_channels` cuts the connections (a client that comes back with the same
`session_id` gets what was sent meanwhile), `kernel_dies` kills the kernel's process.

    fake.kernel_outputs("print('hi'); 6*7", stdout="hi\n", result="42")
    fake.kernel_outputs("1/0", error=("ZeroDivisionError", "division by zero"))
    fake.kernel_outputs("while True: pass", hang=True)             # until interrupted

    from sessionkit.testing import FakeJupyter

    async with FakeJupyter(token="t", kernel_ready_after_polls=2) as fake:
        core = JupyterCore(server_url=fake.url, token="t")
        ...
        fake.seed_sessions(3)                      # three sessions, each with its own kernel
        assert len(fake.sessions) == 3
"""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from aiohttp import web

from .._clock import SYSTEM_CLOCK, Clock
from ._kernels import CodeOutputs, FakeKernel, KernelMessage
from ._server import MISSING, FakeServer, SessionStore, as_object, json_response, read_json

__all__ = ["CodeOutputs", "FakeJupyter", "KernelMessage"]

_AUTH_HEADER = re.compile(r"(token|bearer)\s+(.+)", re.IGNORECASE)
_XSRF_MESSAGE = "'_xsrf' argument missing from POST"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HTML_404 = (
    '<!DOCTYPE HTML>\n<html>\n<head><meta charset="utf-8"><title>Jupyter Server</title></head>\n'
    '<body><div class="error"><h1>404 : Not Found</h1><p>You are requesting a page that does not exist!</p>'
    "</div></body>\n</html>\n"
)
_UUID_SHAPED = r"\w+-\w+-\w+-\w+-\w+"
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'self'; report-uri /api/security/csp-report; default-src 'none'",
}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _HTTPError(Exception):
    """A handler failure that becomes `{"message", "reason": null}` (or a 501 `{message, short_message}`)."""

    def __init__(self, status: int, message: str, short_message: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.short_message = status, message, short_message


@dataclass
class _Starting:
    """A kernel still reporting "starting": when it started, and how many reads have seen it."""

    since: float
    reads: int = 0


class FakeJupyter(FakeServer):
    """Jupyter Server sessions and kernels API. `token=""` disables auth (then non-GET requests need
    `disable_check_xsrf=True`, as on the real server). `kernel_names` are the installed kernelspecs.
    `channels_protocol` is the channels framing (`"legacy"`: no subprotocol offered);
    `channels_heartbeat` pings each channels client that often and closes it when a pong is late
    (the real server pings every 30 s and gives up after 90).
    A new kernel turns `"idle"` after `kernel_ready_after_polls` reads or `kernel_ready_after`
    seconds on `clock`, whichever comes first; with neither (the default) it stays `"starting"`."""

    version = "2.21.1"

    def __init__(
        self,
        token: str = "fake-token",
        *,
        kernel_names: Sequence[str] = ("python3",),
        default_kernel: str | None = None,
        disable_check_xsrf: bool = False,
        kernel_ready_after_polls: int | None = None,
        kernel_ready_after: float | None = None,
        channels_protocol: Literal["v1", "legacy"] = "v1",
        channels_heartbeat: float | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.channels_protocol = channels_protocol
        self.channels_heartbeat = channels_heartbeat
        self._code_outputs: dict[str, CodeOutputs] = {}
        self.kernel_names = tuple(kernel_names)
        self.default_kernel = default_kernel or (self.kernel_names[0] if self.kernel_names else "python3")
        self.disable_check_xsrf = disable_check_xsrf
        self.kernel_ready_after_polls = kernel_ready_after_polls
        self.kernel_ready_after = kernel_ready_after
        self.clock: Clock = clock or SYSTEM_CLOCK
        super().__init__(host=host, port=port)

    # -- state ---------------------------------------------------------------------------------------

    def _clear_state(self) -> None:
        self.sessions = SessionStore("id")
        """Session documents: `{id, path, name, type, kernel_id}`."""
        self.kernels: dict[str, dict[str, Any]] = {}
        """Running kernels by id, in their wire form."""
        self._starting: dict[str, _Starting] = {}
        self._culled: dict[str, str] = {}  # session id -> the kernel whose shutdown dropped it
        for side in getattr(self, "_sides", {}).values():
            side.abandon()
        self._sides: dict[str, FakeKernel] = {}  # the message side of each kernel a client connected to

    # -- what code does in the kernels ---------------------------------------------------------------

    def kernel_outputs(
        self,
        code: str,
        *,
        stdout: str | Sequence[str] = (),
        stderr: str | Sequence[str] = (),
        displays: Sequence[Mapping[str, Any]] = (),
        result: Mapping[str, Any] | str | None = None,
        error: tuple[str, str] | None = None,
        hang: bool = False,
        delay: float = 0.0,
        idle: bool = True,
        input_prompt: str | None = None,
        messages: Sequence[KernelMessage] = (),
    ) -> CodeOutputs:
        """Make every kernel answer `code` (exactly this text) this way; see `CodeOutputs`."""
        outputs = CodeOutputs(stdout, stderr, displays, result, error, hang, delay, idle, input_prompt, tuple(messages))
        self._code_outputs[code] = outputs
        return outputs

    async def stop(self) -> None:
        """Stop serving: the kernels stop running code and their channels close (state is kept)."""
        for side in list(self._sides.values()):
            await side.close()
        await super().stop()

    def _outputs_for(self, code: str) -> CodeOutputs:
        return self._code_outputs.get(code, CodeOutputs())

    def _side(self, kernel_id: str) -> FakeKernel:
        side = self._sides.get(kernel_id)
        if side is None:
            side = self._sides[kernel_id] = FakeKernel(
                kernel_id, self._outputs_for, self.clock, lambda state: self._kernel_changed(kernel_id, state)
            )
        return side

    def _kernel_changed(self, kernel_id: str, state: str) -> None:
        kernel = self.kernels.get(kernel_id)
        if kernel is None:
            return
        self._starting.pop(kernel_id, None)
        kernel["execution_state"] = state
        kernel["last_activity"] = _now()
        side = self._sides.get(kernel_id)
        kernel["connections"] = len(side.connections) if side is not None else 0

    def channel_connections(self, kernel_id: str) -> int:
        """How many clients are connected to the kernel's channels now."""
        side = self._sides.get(kernel_id)
        return len(side.connections) if side is not None else 0

    async def drop_channels(self, kernel_id: str | None = None) -> None:
        """Cut the channels connections of one kernel (or of all), as a network failure would."""
        for kid, side in list(self._sides.items()):
            if kernel_id is None or kid == kernel_id:
                await side.drop()

    async def kernel_dies(self, kernel_id: str, *, restarts: bool = True) -> None:
        """The kernel's process dies: what runs stops without a reply, and its clients get a
        `restarting` status (a kernel the server restarts) or `dead`."""
        await self._side(kernel_id).die(restarts)
        if not restarts:
            self.set_execution_state(kernel_id, "dead")

    def set_execution_state(self, kernel_id: str, state: str) -> None:
        """Make a running kernel report `state` (`"idle"`, `"busy"`, `"dead"`, ...) from now on."""
        self._starting.pop(kernel_id, None)
        self.kernels[kernel_id]["execution_state"] = state

    def seed_sessions(
        self, count: int, *, session_type: str = "notebook", kernel_name: str | None = None
    ) -> list[dict[str, Any]]:
        """Create `count` sessions (paths `seed-<n>.ipynb`), each with a new kernel; returns their wire models."""
        start = len(self.sessions)
        created = [
            self._create(f"seed-{start + i}.ipynb", None, session_type, None, kernel_name or self.default_kernel)
            for i in range(count)
        ]
        return [self._model(doc) for doc in created]

    def _start_kernel(self, name: str, kernel_id: str | None = None) -> str:
        if name not in self.kernel_names:
            raise KeyError(name)
        kernel_id = kernel_id or str(uuid.uuid4())
        self.kernels[kernel_id] = {
            "id": kernel_id,
            "name": name,
            "last_activity": _now(),
            "execution_state": "starting",
            "connections": 0,
        }
        self._starting[kernel_id] = _Starting(self.clock.monotonic())
        return kernel_id

    def _observe(self, kernel_id: str) -> None:
        """A read reports the kernel: a starting one turns idle once its readiness has passed."""
        starting = self._starting.get(kernel_id)
        if starting is None:
            return
        starting.reads += 1
        polls, delay = self.kernel_ready_after_polls, self.kernel_ready_after
        if (polls is not None and starting.reads > polls) or (
            delay is not None and self.clock.monotonic() - starting.since >= delay
        ):
            self.set_execution_state(kernel_id, "idle")

    async def _end_kernel(self, kernel_id: str) -> None:
        """What a delete sends on the kernel's channels before it goes: see `FakeKernel.shut_down`."""
        side = self._sides.pop(kernel_id, None)
        if side is not None:
            await side.shut_down(restart=False)
            await side.stop_working()
        self._shutdown_kernel(kernel_id)

    def _shutdown_kernel(self, kernel_id: str) -> None:
        # The real server drops sessions whose kernel is gone the next time it reads them.
        self.kernels.pop(kernel_id, None)
        self._starting.pop(kernel_id, None)
        for doc in [d for d in self.sessions if d["kernel_id"] == kernel_id]:
            self.sessions.delete(doc["id"])
            self._culled[doc["id"]] = kernel_id

    def _create(
        self, path: str, name: Any, session_type: Any, kernel_id: str | None, kernel_name: str | None
    ) -> dict[str, Any]:
        if kernel_id and kernel_id in self.kernels:
            pass  # an existing kernel is shared
        else:
            name_ = kernel_name or self.default_kernel
            try:
                kernel_id = self._start_kernel(name_, kernel_id or None)  # >= 2.21 keeps a requested id
            except KeyError:
                raise _HTTPError(
                    501,
                    f"The '{name_}' kernel is not available. Please pick another suitable kernel instead, "
                    "or install that kernel.",
                    f"{name_} not found",
                ) from None
        doc = {"id": str(uuid.uuid4()), "path": path, "name": name, "type": session_type, "kernel_id": kernel_id}
        self.sessions.put(doc)
        return doc

    def _model(self, doc: dict[str, Any]) -> dict[str, Any]:
        model: dict[str, Any] = {k: doc[k] for k in ("id", "path", "name", "type")}
        model["kernel"] = dict(self.kernels[doc["kernel_id"]])
        if doc["type"] == "notebook":
            model["notebook"] = {"path": doc["path"], "name": doc["name"]}
        return model

    # -- HTTP ----------------------------------------------------------------------------------------

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/api", self._api_root, name="public")
        router.add_get("/api/kernelspecs", self._kernelspecs)
        router.add_get("/api/kernels", self._list_kernels)
        router.add_post("/api/kernels", self._start_kernel_handler)
        kernel = router.add_resource(f"/api/kernels/{{kernel_id:{_UUID_SHAPED}}}")
        kernel.add_route("GET", self._get_kernel)
        kernel.add_route("DELETE", self._delete_kernel)
        router.add_get(f"/api/kernels/{{kernel_id:{_UUID_SHAPED}}}/channels", self._channels)
        router.add_post(f"/api/kernels/{{kernel_id:{_UUID_SHAPED}}}/interrupt", self._interrupt)
        router.add_post(f"/api/kernels/{{kernel_id:{_UUID_SHAPED}}}/restart", self._restart)
        router.add_get("/api/sessions", self._list)
        router.add_post("/api/sessions", self._post)
        router.add_get("/api/sessions/", self._slash, name="redirect")
        one = router.add_resource(f"/api/sessions/{{session_id:{_UUID_SHAPED}}}")
        one.add_route("GET", self._get)
        one.add_route("PATCH", self._patch)
        one.add_route("DELETE", self._delete)
        router.add_route("OPTIONS", "/{tail:.*}", self._options, name="options")
        router.add_route("*", "/{tail:.*}", self._html_404, name="html404")

    def _error_body(self, status: int, message: str) -> Any:
        return {"message": message, "reason": None}

    def _token_ok(self, request: web.Request) -> bool:
        provided = request.query.get("token", "")
        if not provided:
            match = _AUTH_HEADER.match(request.headers.get("Authorization", ""))
            provided = match.group(2).strip() if match else ""
        return bool(self.token) and hmac.compare_digest(provided.encode(), self.token.encode())

    def _authorize(self, request: web.Request) -> web.StreamResponse | None:
        route = request.match_info.route.name
        if route in ("public", "options", "html404", "redirect") or request.method == "OPTIONS":
            return None
        if self._token_ok(request):
            return None  # a token also bypasses the XSRF and Origin checks
        if request.method in _UNSAFE and not self.disable_check_xsrf:
            return self._error_response(403, _XSRF_MESSAGE)  # checked in prepare(), before auth
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            return self._error_response(404, "Not Found")
        if self.token:
            return self._error_response(403, "Forbidden")
        return None

    def _finish(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(_SECURITY_HEADERS)
        # Tornado's write_error() (400/404/500 bodies) skips the CORS header; the 501 path does not.
        if (response.status < 400 or response.status == 501) and self._token_ok(request):
            response.headers["Access-Control-Allow-Origin"] = request.headers.get("Origin", "")

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await read_json(request)
        except ValueError:
            raise _HTTPError(400, "Invalid JSON in body of request") from None
        if body is MISSING or body is None:
            raise _HTTPError(400, "No JSON data provided")
        obj = as_object(body)
        if obj is None:
            raise _HTTPError(500, "Unhandled error")
        return obj

    @staticmethod
    def _failure(exc: _HTTPError) -> web.Response:
        if exc.short_message is not None:
            return json_response({"message": exc.message, "short_message": exc.short_message}, exc.status)
        body: dict[str, Any] = {"message": exc.message, "reason": None}
        if exc.message == "Unhandled error":
            body["traceback"] = ""
        return json_response(body, exc.status)

    def _lookup(self, session_id: str) -> dict[str, Any]:
        doc = self.sessions.get(session_id)
        if doc is None or doc["kernel_id"] not in self.kernels:
            culled = self._culled.pop(session_id, None)
            if culled is not None:  # the first read after its kernel went says why (then it is forgotten)
                reason = (
                    f"Kernel '{culled}' appears to have been culled or died unexpectedly, "
                    f"invalidating session '{session_id}'. The session has been removed."
                )
                raise _HTTPError(404, f"Session not found: {reason!r}")
            raise _HTTPError(404, f"Session not found: session_id={session_id!r}")
        return doc

    def _running(self, kernel_id: str) -> dict[str, Any]:
        kernel = self.kernels.get(kernel_id)
        if kernel is None:
            raise _HTTPError(404, f"Kernel does not exist: {kernel_id}")
        return kernel

    async def _api_root(self, request: web.Request) -> web.StreamResponse:
        return json_response({"version": self.version})

    async def _kernelspecs(self, request: web.Request) -> web.StreamResponse:
        specs = {name: _kernelspec(name) for name in self.kernel_names}
        return json_response({"default": self.default_kernel, "kernelspecs": specs})

    async def _list_kernels(self, request: web.Request) -> web.StreamResponse:
        for kernel_id in list(self.kernels):
            self._observe(kernel_id)
        return json_response(list(self.kernels.values()))

    async def _get_kernel(self, request: web.Request) -> web.StreamResponse:
        kernel_id = request.match_info["kernel_id"]
        try:
            self._running(kernel_id)
        except _HTTPError as exc:
            return self._failure(exc)
        self._observe(kernel_id)
        return json_response(self.kernels[kernel_id])

    async def _start_kernel_handler(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await read_json(request)
        except ValueError:
            return self._failure(_HTTPError(400, "Invalid JSON in body of request"))
        model = as_object(body) or {}
        name = model.get("name") or self.default_kernel
        try:
            kernel_id = self._start_kernel(str(name))
        except KeyError:  # the real server answers an unknown name with its generic 500
            return self._failure(_HTTPError(500, "Unhandled error"))
        return json_response(self.kernels[kernel_id], 201, headers={"Location": f"/api/kernels/{kernel_id}"})

    async def _delete_kernel(self, request: web.Request) -> web.StreamResponse:
        kernel_id = request.match_info["kernel_id"]
        try:
            self._running(kernel_id)
        except _HTTPError as exc:
            return self._failure(exc)
        await self._end_kernel(kernel_id)
        return web.Response(status=204)

    async def _channels(self, request: web.Request) -> web.StreamResponse:
        kernel_id = request.match_info["kernel_id"]
        if kernel_id not in self.kernels:  # the real server's own HTML 404
            return await self._html_404(request)
        side = self._side(kernel_id)
        return await side.serve(request, offer_v1=self.channels_protocol == "v1", heartbeat=self.channels_heartbeat)

    async def _interrupt(self, request: web.Request) -> web.StreamResponse:
        kernel_id = request.match_info["kernel_id"]
        try:
            self._running(kernel_id)
        except _HTTPError as exc:
            return self._failure(exc)
        side = self._sides.get(kernel_id)
        if side is not None:
            side.interrupt()
        return web.Response(status=204)

    async def _restart(self, request: web.Request) -> web.StreamResponse:
        kernel_id = request.match_info["kernel_id"]
        if kernel_id not in self.kernels:  # the real server wraps its own 404 into this 500
            return self._failure(_HTTPError(500, "Exception restarting kernel"))
        side = self._sides.get(kernel_id)
        if side is not None:
            await side.shut_down(restart=True)
        # A restart waits for the kernel's info reply: a kernel that had started answers "idle".
        self.set_execution_state(kernel_id, "idle")
        self.kernels[kernel_id]["last_activity"] = _now()
        return json_response(self.kernels[kernel_id])

    async def _list(self, request: web.Request) -> web.StreamResponse:
        self._culled.clear()  # a list drops the sessions whose kernel went, silently
        docs = [d for d in self.sessions if d["kernel_id"] in self.kernels]
        for kernel_id in dict.fromkeys(d["kernel_id"] for d in docs):
            self._observe(kernel_id)
        return json_response([self._model(d) for d in docs])

    async def _slash(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=302, headers={"Location": "/api/sessions"}, content_type="text/html", charset="UTF-8"
        )

    async def _options(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            headers={
                "Access-Control-Allow-Headers": "accept, content-type, authorization, x-xsrftoken",
                "Access-Control-Allow-Methods": "GET, PUT, POST, PATCH, DELETE, OPTIONS",
            }
        )

    async def _html_404(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=404, body=_HTML_404.encode(), content_type="text/html")

    async def _post(self, request: web.Request) -> web.StreamResponse:
        try:
            model = await self._body(request)
            if "notebook" in model:
                notebook = as_object(model["notebook"])
                if notebook is None:
                    raise _HTTPError(500, "Unhandled error")
                model["type"] = "notebook"
                if "name" in notebook:
                    model["path"] = notebook["name"]
                elif "path" in notebook:
                    model["path"] = notebook["path"]
            for key in ("path", "type"):
                if key not in model:
                    raise _HTTPError(400, f"Missing field in JSON data: {key}")
            kernel = as_object(model.get("kernel", {}))
            if kernel is None:
                raise _HTTPError(500, "Unhandled error")
            path = model["path"]
            if not isinstance(path, str):
                raise _HTTPError(500, f"'{type(path).__name__}' object has no attribute 'strip'")
            doc = self.sessions.find(lambda d: d["path"] == path and d["kernel_id"] in self.kernels)
            if doc is None:
                doc = self._create(path, model.get("name"), model["type"], kernel.get("id"), kernel.get("name"))
        except _HTTPError as exc:
            return self._failure(exc)
        return json_response(self._model(doc), 201, headers={"Location": f"/api/sessions/{doc['id']}"})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = self._lookup(request.match_info["session_id"])
        except _HTTPError as exc:
            return self._failure(exc)
        self._observe(doc["kernel_id"])
        return json_response(self._model(doc))

    async def _patch(self, request: web.Request) -> web.StreamResponse:
        session_id = request.match_info["session_id"]
        try:
            model = await self._body(request)
            doc = self._lookup(session_id)
            notebook = as_object(model.get("notebook"))
            if notebook is not None and "path" in notebook:
                model["path"], model["type"] = notebook["path"], "notebook"
            changes = {k: model[k] for k in ("path", "name", "type") if k in model}
            kernel = as_object(model.get("kernel"))
            if kernel is not None and kernel.get("id") is not None:
                if kernel["id"] not in self.kernels:
                    raise _HTTPError(400, f"No such kernel: {kernel['id']}")
                changes["kernel_id"] = kernel["id"]
            elif kernel is not None and kernel.get("name") is not None:
                name = kernel["name"]
                try:
                    changes["kernel_id"] = self._start_kernel(name)
                except KeyError:
                    raise _HTTPError(
                        501,
                        f"The '{name}' kernel could not be started: 'No such kernel named {name}'",
                        f"Error starting kernel {name}",
                    ) from None
        except _HTTPError as exc:
            return self._failure(exc)
        old_kernel = doc["kernel_id"]
        updated = {**doc, **changes}
        self.sessions.put(updated)
        if updated["kernel_id"] != old_kernel:
            await self._end_kernel(old_kernel)
        return json_response(self._model(updated))

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        try:
            doc = self._lookup(request.match_info["session_id"])
        except _HTTPError as exc:
            return self._failure(exc)
        self.sessions.delete(doc["id"])
        await self._end_kernel(doc["kernel_id"])
        return web.Response(status=204)


def _kernelspec(name: str) -> dict[str, Any]:
    """A kernelspec in the real server's shape (`python3` as ipykernel installs it)."""
    python = name.startswith("python")
    spec: dict[str, Any] = {
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"] if python else [name],
        "env": {},
        "display_name": "Python 3 (ipykernel)" if name == "python3" else name,
        "language": "python" if python else name,
        "interrupt_mode": "signal",
        "metadata": {},
    }
    return {"name": name, "spec": spec, "resources": {}}
