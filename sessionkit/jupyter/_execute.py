"""Running code in a kernel: one `execute_request` over the kernel's channel, its outputs, its end.

An execution is one call: one `Deadline` (the request's `timeout`, and `Timeout.total` if that is
shorter) bounds its turn in the kernel's queue, the connect, every send and every receive. Only
messages whose parent is the request count. It ends when the kernel has sent both the
`execute_reply` and the `idle` status for it, or when the kernel is gone: a `shutdown_reply`, a
`dead` or `restarting` status (whoever's request it answers), or the kernel missing from
`GET /api/kernels/{id}` after a silence (a kernel deleted mid-execution sends `idle` but never the
reply). A dropped connection is opened again with the same session id (the server replays what it
kept), within the retry policy. When the deadline passes the kernel is interrupted, restarted or
left running (`on_timeout`), each through its own REST call. Every error leaves scrubbed of the
core's secrets; nothing raises but the caller's cancellation, which leaves the channel usable.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
from yarl import URL

from .._deadline import Deadline, DeadlinePassed
from .._operation import Invalid, Operation, plan
from .._options import RequestOptions, Timeout
from .._tracing import TRACING, OperationSpan, end_stream, stream_span
from .._tracing import current as tracing_current
from .._tracing import tracer as current_tracer
from ..errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
    clean_text,
)
from ..result import Err, Ok, Result
from ._channels import KernelChannel, KernelChannels, Target
from ._framing import FramingError, Incoming, decode, encode, new_header
from ._messages import gone, output, reply, text
from .errors import ExecutionTimeoutError, KernelAction, KernelGoneError
from .models import ExecuteRequest, Kernel
from .outputs import (
    Answer,
    ExecuteReply,
    InputRequest,
    KernelOutput,
)

if TYPE_CHECKING:
    from ._core import JupyterCore

__all__ = ["KernelRest", "Sized", "execute_outputs", "prepare"]

CHECK_AFTER = 5.0
"""The longest silence (seconds) before the kernel is asked for by REST; `Timeout.attempt` if shorter."""
CLEANUP_TIMEOUT = 15.0
"""Seconds the interrupt or restart after a timeout may take (its own REST call)."""
_DATA = (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
_NETWORK = (aiohttp.ClientError, OSError, RuntimeError)  # RuntimeError: aiohttp on a closing transport
Sized = tuple[KernelOutput, int]
"""An output and the size of its content on the wire (what `max_output_bytes` counts)."""


@attrs.frozen
class KernelRest:
    """The REST operations an execution falls back on: reading, interrupting, restarting the kernel."""

    get: Operation[Any, Kernel]
    interrupt: Operation[Any, None]
    restart: Operation[Any, Kernel]


class _Run:
    """One execution: what it sends, its deadline, its attempts, how its errors are made."""

    def __init__(
        self,
        core: JupyterCore,
        op: Operation[Any, Any],
        rest: KernelRest,
        model: ExecuteRequest,
        planned: tuple[str, Mapping[str, str], Timeout, Any, Any],
        options: RequestOptions | None,
        started: float,
    ) -> None:
        url, headers, timeout, self.retry, self.secrets = planned
        self.core, self.op, self.rest, self.model, self.options = core, op, rest, model, options
        self.cfg = cfg = core.config
        self.clock = cfg.clock
        total = model.timeout if timeout.total is None else min(model.timeout, timeout.total)
        self.deadline = Deadline(attrs.evolve(timeout, total=total), cfg.clock, started)
        self.silence = min(timeout.attempt or CHECK_AFTER, CHECK_AFTER)
        parts = URL(url, encoded=True)
        proxy, proxy_headers = cfg.proxies.for_url(parts.scheme, parts.host or "") if cfg.proxies else (None, None)
        self.target = Target(url, headers, proxy, proxy_headers, cfg.max_response_bytes)
        self.kernel_id = model.kernel_id
        self.attempts = 0
        self.drops = 0  # connections in a row that closed before bringing a message of this request
        self.msg_id = ""
        self.span: OperationSpan | None = None  # with OpenTelemetry on: the execution's one span

    # --- errors ----------------------------------------------------------------------------------
    def common(self) -> dict[str, Any]:
        return {"operation_id": self.op.id, "attempts": self.attempts, "elapsed": self.deadline.elapsed()}

    def fail(self, error: SessionkitError) -> Err[SessionkitError]:
        return Err(self.secrets.scrub_error(error))

    def timeout_error(self, action: KernelAction, why: str = "") -> ExecutionTimeoutError:
        seconds = self.deadline.total
        what = {
            "interrupted": "the kernel was interrupted",
            "restarted": "the kernel was restarted",
            "left running": "the code was left running",
            "not sent": "the code was not sent (the kernel was busy with this core's earlier executions, or unreachable)",
        }.get(action, f"{action}: {why}")
        message = clean_text(f"the execution's {seconds}s timeout passed; {what}")
        return ExecutionTimeoutError(
            message, deadline="total", timeout=seconds, action=action, kernel_id=self.kernel_id, **self.common()
        )

    def handshake_error(self, exc: aiohttp.WSServerHandshakeError, resuming: bool) -> SessionkitError:
        status = exc.status
        if resuming and status == 404:
            message = f"kernel {self.kernel_id} no longer exists (its channel dropped, and reopening it was a 404)"
            return KernelGoneError(message, state="deleted", kernel_id=self.kernel_id, **self.common())
        cls = self.op.error_class(status) or self.cfg.classify(status, None)
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        message = f"{status} {phrase}".rstrip() + ": the server refused the kernel's channels WebSocket"
        if status == 404:
            message += f" (no kernel {self.kernel_id} is running)"
        hint = self.cfg.hints.get(status)
        if hint:
            message += f" ({hint})"
        headers: Mapping[str, str] = exc.headers or {}
        return cls(clean_text(message), status=status, headers=dict(headers), **self.common())

    def network_error(self, exc: BaseException, doing: str) -> SessionkitError:
        text = clean_text(f"{doing}: {type(exc).__name__}: {exc}")
        if isinstance(exc, ValueError) and not isinstance(exc, aiohttp.ClientError):
            return InvalidRequestError(f"cannot connect to this URL: {text}", field_path="server_url", **self.common())
        return ConnectionError(text, cause=exc, **self.common())

    def retryable(self, error: SessionkitError) -> bool:
        if isinstance(error, KernelGoneError):
            return False
        if isinstance(error, ConnectionError):
            return self.retry.retry_connection_errors
        if isinstance(error, RequestTimeoutError):
            return self.retry.retry_timeouts and error.deadline == "attempt"
        return isinstance(error, APIError) and error.status in self.retry.statuses

    # --- the connection --------------------------------------------------------------------------
    async def connect(self, channel: KernelChannel, resuming: bool) -> SessionkitError | None:
        """Open the channel, within the retry policy (each wait on the clock, within the deadline).
        Raises `DeadlinePassed` when the total deadline passes."""
        failures, waits, waited = 0, None, 0.0
        while True:
            handle = self.core.handle()
            if isinstance(handle, str):
                return InvalidRequestError(handle, field_path="core", **self.common())
            self.attempts += 1
            try:
                with tracing_current(self.span):  # the handshake's HTTP span is the execution span's child
                    await channel.connect(handle.session, self.target, self.deadline, self.deadline.attempt)
                return None
            except DeadlinePassed as exc:
                if exc.which == "total":
                    raise
                reason = f"no answer to the channels WebSocket handshake within {exc.seconds}s"
                error: SessionkitError = RequestTimeoutError(
                    reason, deadline="attempt", timeout=exc.seconds, **self.common()
                )
            except aiohttp.WSServerHandshakeError as exc:
                error = self.handshake_error(exc, resuming)
            except (*_NETWORK, ValueError) as exc:
                error = self.network_error(exc, "cannot open the kernel's channels WebSocket")
            if not self.retryable(error) or failures >= self.retry.max_retries or self.core.closed_by_caller:
                return error
            failures += 1
            waits = waits or self.retry.waits()
            wait = next(waits)
            waited += wait
            if waited > self.retry.max_total_wait or not await self.deadline.sleep(wait):
                return error

    async def send_request(self, channel: KernelChannel) -> SessionkitError | None:
        """Send the execute request (connecting first when needed). Raises `DeadlinePassed`."""
        model = self.model
        header = new_header("execute_request", channel.session_id, self.clock.wall())
        self.msg_id = header["msg_id"]
        content: dict[str, Any] = {
            "code": model.code,
            "silent": False,
            "store_history": model.store_history,
            "user_expressions": {},
            "allow_stdin": model.allow_stdin,
            "stop_on_error": False,  # each call stands alone: its error must not abort the next one
        }
        for tries in range(self.retry.max_retries + 1):
            if not channel.is_open:
                error = await self.connect(channel, resuming=False)
                if error is not None:
                    return error
            try:
                await channel.send(encode("shell", header, content, {}, channel.framing), self.deadline)
                self.attempts = max(self.attempts, 1)  # sent once, on a channel this call opened or found open
                return None
            except _NETWORK as exc:  # the connection was gone: nothing was sent, so sending again is safe
                await channel.close()
                if tries == self.retry.max_retries:
                    return self.network_error(exc, "the kernel's channel closed before the code was sent")
        return None  # pragma: no cover - the loop returns

    async def check_kernel(self) -> SessionkitError | None:
        """After a silence: is the kernel still there? (`GET /api/kernels/{id}`, within the deadline)."""
        left = self.deadline.remaining()
        if left is not None and left <= 0:
            return None  # the next receive says the deadline passed
        with tracing_current(self.span):
            result = await self.core.send(self.rest.get, {"kernel_id": self.kernel_id}, self.rest_options(left))
        if isinstance(result, Err) and isinstance(result.error, NotFoundError):
            message = f"kernel {self.kernel_id} no longer exists (GET /api/kernels/{{id}} is a 404)"
            return KernelGoneError(message, state="deleted", kernel_id=self.kernel_id, **self.common())
        if isinstance(result, Ok) and result.value.execution_state == "dead":
            message = f"kernel {self.kernel_id} is dead"
            return KernelGoneError(message, state="dead", kernel_id=self.kernel_id, **self.common())
        return None  # there, or not answering: the deadline decides

    def rest_options(self, seconds: float | None) -> RequestOptions:
        """This call's options for a REST call that may take at most `seconds`."""
        options = self.options or RequestOptions()
        limit = min(seconds or CLEANUP_TIMEOUT, CLEANUP_TIMEOUT)
        timeout = Timeout(attempt=limit, total=limit, connect=self.deadline.connect)
        return attrs.evolve(options, timeout=timeout)

    async def timed_out(self, channels: KernelChannels, channel: KernelChannel) -> SessionkitError:
        """The deadline passed with the code running: interrupt, restart or leave it, as asked."""
        if self.span is not None:
            self.span.deadline("total", self.deadline.total)
        with tracing_current(self.span):  # the interrupt's or restart's span is a child of this one
            return await self.act_on_timeout(channels, channel)

    async def act_on_timeout(self, channels: KernelChannels, channel: KernelChannel) -> SessionkitError:
        action = self.model.on_timeout
        if action == "none":
            return self.timeout_error("left running")
        request = {"kernel_id": self.kernel_id}
        if action == "restart":
            result = await self.core.send(self.rest.restart, request, self.rest_options(None))
            channels.forget(channel)  # the next call starts a new channel, with nothing of the old kernel
            await channel.abort()
            return (
                self.timeout_error("restarted")
                if isinstance(result, Ok)
                else self.timeout_error("restart failed", result.error.message)
            )
        result = await self.core.send(self.rest.interrupt, request, self.rest_options(None))
        return (
            self.timeout_error("interrupted")
            if isinstance(result, Ok)
            else self.timeout_error("interrupt failed", result.error.message)
        )

    # --- reading ---------------------------------------------------------------------------------
    async def next_message(self, channels: KernelChannels, channel: KernelChannel) -> Incoming | SessionkitError:
        """The next kernel message, reopening a dropped channel; an error ends the execution."""
        while True:
            try:
                message = await channel.receive(self.deadline, self.silence)
            except DeadlinePassed as exc:
                if exc.which == "total":
                    return await self.timed_out(channels, channel)
                gone = await self.check_kernel()
                if gone is not None:
                    return gone
                continue
            if message.type in _DATA:
                try:
                    return decode(message.data, channel.framing)
                except FramingError as exc:
                    await channel.abort()
                    return ResponseValidationError(f"the kernel channel sent {exc}", **self.common())
            if channel.too_big or (
                isinstance(message.data, aiohttp.WebSocketError)
                and message.data.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
            ):
                await channel.abort()
                limit = self.target.max_bytes
                reason = f"a kernel message is larger than max_response_bytes ({limit} bytes)"
                return ResponseValidationError(reason, **self.common())
            if message.type == aiohttp.WSMsgType.ERROR:  # the frames broke the WebSocket protocol
                await channel.abort()
                reason = clean_text(f"the kernel channel broke the WebSocket protocol: {message.data}")
                return ResponseValidationError(reason, **self.common())
            error = await self.resume(channels, channel)
            if error is not None:
                return error

    async def resume(self, channels: KernelChannels, channel: KernelChannel) -> SessionkitError | None:
        """The connection closed: open it again with the same session id, so the server replays
        what it kept. A connection that closes before bringing a message of this request counts as
        a drop; more than `max_retries + 1` drops in a row end the call."""
        self.drops += 1
        if self.drops > self.retry.max_retries + 1:
            reason = f"the kernel's channel closed {self.drops} times without bringing this execution's messages"
            return ConnectionError(reason, **self.common())
        try:
            return await self.connect(channel, resuming=True)
        except DeadlinePassed:
            return await self.timed_out(channels, channel)

    def answerer(self, channel: KernelChannel, request: dict[str, Any]) -> Answer:
        """What `InputRequest.reply` calls: an `input_reply` to `request`, within this call's deadline."""

        async def answer(value: str) -> Result[None, SessionkitError]:
            if not isinstance(value, str) or (not value.isascii() and not _encodable(value)):  # pyright: ignore[reportUnnecessaryIsInstance]
                return self.fail(InvalidRequestError("must be a string of valid Unicode", field_path="value"))
            header = new_header("input_reply", channel.session_id, self.clock.wall())
            data = encode("stdin", header, {"value": value}, request, channel.framing)
            try:
                await channel.send(data, self.deadline)
            except DeadlinePassed:
                reason = "the execution's timeout passed before the answer was sent"
                return self.fail(
                    RequestTimeoutError(reason, deadline="total", timeout=self.deadline.total, **self.common())
                )
            except _NETWORK as exc:
                return self.fail(self.network_error(exc, "cannot answer the input request"))
            return Ok(None)

        return answer

    def own(self, message: Incoming, channel: KernelChannel) -> KernelOutput | ExecuteReply | bool | None:
        """What a message of this request means: an output, the reply, True for the idle status."""
        if message.channel == "shell":
            return reply(message.content()) if message.msg_type == "execute_reply" else None
        if message.channel == "stdin":
            if message.msg_type != "input_request":
                return None
            content = message.content()
            answer = self.answerer(channel, message.header)
            return InputRequest(
                prompt=text(content, "prompt", ""), password=content.get("password") is True, answer=answer
            )
        if message.msg_type == "status":
            return message.content().get("execution_state") == "idle"
        return output(message)

    async def outputs(self) -> AsyncGenerator[Result[Sized, SessionkitError], None]:
        """The execution's outputs as they come, the reply last; or one error that ends it. With
        OpenTelemetry on, one span for the whole execution (`sessionkit.events` counts the outputs)."""
        tracer = current_tracer() if TRACING else None
        if tracer is not None:
            self.span = stream_span(tracer, self.op, self.cfg.service, self.model)
            self.span.span.set_attribute("sessionkit.kernel.id", self.kernel_id)
        last: SessionkitError | None = None
        finished = False
        try:
            async with aclosing(self.untraced()) as items:
                async for item in items:
                    if isinstance(item, Err):
                        last = item.error
                    elif isinstance(item.value[0], ExecuteReply):
                        finished = True  # the last item: a caller that stops here has read it all
                        if self.span is not None:
                            self.span.events += 1
                            self.span.span.set_attribute("sessionkit.execution.status", item.value[0].status)
                    elif self.span is not None:
                        self.span.events += 1
                    yield item
            finished = True
        finally:
            if self.span is not None:
                self.span.span.set_attribute("sessionkit.attempts", self.attempts)
                end_stream(self.span, last, cancelled=not finished and last is None)

    async def untraced(self) -> AsyncGenerator[Result[Sized, SessionkitError], None]:
        channels = self.core.kernel_channels()
        if isinstance(channels, str):
            yield self.fail(InvalidRequestError(channels, field_path="core", **self.common()))
            return
        try:
            channel = await self.take(channels)
        except DeadlinePassed:
            yield self.fail(self.timeout_error("not sent"))
            return
        try:
            async with aclosing(self.turn(channels, channel)) as items:
                async for item in items:
                    yield item
        finally:
            channel.give_back()

    async def take(self, channels: KernelChannels) -> KernelChannel:
        """This call's turn on the kernel's channel (waiting for the calls before it). A channel
        dropped while this call waited (its kernel went away) is given back for the one kept now."""
        while True:
            channel = channels.get(self.kernel_id, self.target)
            await channel.take(self.deadline)
            if channels.holds(channel):
                try:
                    await channel.catch_up()
                except BaseException:
                    channel.give_back()
                    raise
                return channel
            channel.give_back()

    async def turn(
        self, channels: KernelChannels, channel: KernelChannel
    ) -> AsyncGenerator[Result[Sized, SessionkitError], None]:
        """Send the request, then yield its outputs until the reply and the idle status came."""
        try:
            error = await self.send_request(channel)
        except DeadlinePassed:
            error = self.timeout_error("not sent")
        if error is not None:
            yield self.fail(error)
            return
        reply: ExecuteReply | None = None
        idle = False
        while reply is None or not idle:
            meaning, size = await self.step(channels, channel)
            if isinstance(meaning, SessionkitError):
                yield self.fail(meaning)
                return
            if isinstance(meaning, ExecuteReply):
                reply = meaning
            elif meaning is True:
                idle = True
            elif isinstance(meaning, KernelOutput):
                yield Ok((meaning, size))
        yield Ok((reply, 0))

    async def step(
        self, channels: KernelChannels, channel: KernelChannel
    ) -> tuple[KernelOutput | ExecuteReply | SessionkitError | bool | None, int]:
        """The next message read and judged: what it means for this request (None: nothing), with
        its size; or the error that ends the call (a kernel gone drops the channel)."""
        message = await self.next_message(channels, channel)
        if isinstance(message, SessionkitError):
            if isinstance(message, KernelGoneError):  # the next call starts afresh (a 404 if it is gone)
                channels.forget(channel)
                await channel.abort()
            return message, 0
        try:
            if message.parent_id != self.msg_id:
                ended = gone(message, self.kernel_id, self.common())
                if ended is not None:
                    channels.forget(channel)
                    await channel.abort()
                return ended, 0
            self.drops = 0
            return self.own(message, channel), message.size
        except FramingError as exc:
            await channel.abort()
            return ResponseValidationError(f"a {message.msg_type} message: {exc}", **self.common()), 0


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def prepare(
    core: JupyterCore,
    op: Operation[Any, Any],
    rest: KernelRest,
    request: Any,
    options: RequestOptions | None,
    *,
    answers_input: bool,
) -> _Run | SessionkitError:
    """Validate an execution (the request and the options, as the pipeline's first stage does)."""
    cfg = core.config
    started = cfg.clock.monotonic()
    try:
        model, url, headers, _body, retry, timeout, secrets, _limits = plan(cfg, op, request, options)
    except Invalid as exc:
        error = InvalidRequestError(exc.reason, field_path=exc.field_path, operation_id=op.id)
        return cfg.secrets.scrub_error(error)
    if model.allow_stdin and not answers_input:
        reason = "kernels_execute has no one to answer input(): use kernels_execute_stream, or leave it False"
        return InvalidRequestError(reason, field_path="$.allow_stdin", operation_id=op.id)
    return _Run(core, op, rest, model, (url, headers, timeout, retry, secrets), options, started)


async def execute_outputs(
    core: JupyterCore,
    op: Operation[Any, Any],
    rest: KernelRest,
    request: Any,
    options: RequestOptions | None,
    *,
    answers_input: bool,
) -> AsyncGenerator[Result[Sized, SessionkitError], None]:
    """The outputs of one execution with their sizes, the reply last; or one error that ends them."""
    run = prepare(core, op, rest, request, options, answers_input=answers_input)
    if isinstance(run, SessionkitError):
        yield Err(run)
        return
    async with aclosing(run.outputs()) as items:
        async for item in items:
            yield item
