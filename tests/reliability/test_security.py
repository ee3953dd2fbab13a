"""Security promises, checked on the wire against loopback servers, for every service core.

- a path id arrives as ONE exact percent-encoded segment, whatever it contains;
- CR/LF in any header value or name is `Err(InvalidRequestError)` and nothing is sent;
- credentials never appear in `repr(core)`, in logs, or in any error's text or attributes;
- credentials are not forwarded on a redirect to another origin, but are on a same-origin one;
- TLS certificates are verified by default;
- credentials over plain http to a non-loopback host warn once.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import socket
import ssl
import subprocess
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import pytest

from sessionkit import (
    BaseCore,
    ConnectionError,
    Err,
    Hooks,
    InvalidRequestError,
    Ok,
    Operation,
    RequestOptions,
    SessionkitError,
    Timeout,
    _serde,
)
from sessionkit import _logging as sk_logging

from .conftest import FAST_RETRY
from .fault_server import (
    Behaviour,
    FaultServer,
    Recorded,
    json_body,
    redirect,
    reset_before_headers,
    respond,
    slow_headers,
)
from .services import CREDENTIALED, SECRET, SERVICES, Service

PROBE: Operation[None, None] = Operation(id="probe.get", method="GET", path="/probe", body=None)
PROBE_JSON: Operation[None, dict[str, int]] = Operation(
    id="probe.json", method="GET", path="/probe", response=dict[str, int], body=None
)
by_name = pytest.mark.parametrize("service", CREDENTIALED, ids=[s.name for s in CREDENTIALED])


def carries_secret(req: Recorded, secret: str = SECRET) -> bool:
    return any(secret in v for v in req.headers.values())


# --- path ids are one exact segment ----------------------------------------------------------

HOSTILE_IDS = ["../../x", "a/b?c#d", "%2e%2e", "ünï/код", "a b+c;d=e&f", "..", ".", "x\\y", "\u202e!"]


def _takes_only_path(op: Operation[Any, Any]) -> bool:
    if not op.path_params or op.request is None:
        return False
    try:
        model = _serde.structure_request(dict.fromkeys(op.path_params, "x"), op.request)
    except _serde.StructureFailure:
        return False
    return op.validate is None or op.validate(model) is None  # e.g. a message needs its text


ID_OPS = [(s, op) for s in SERVICES for op in s.operations if _takes_only_path(op)]


@pytest.mark.parametrize(("service", "op"), ID_OPS, ids=[op.id for _, op in ID_OPS])
async def test_path_ids_arrive_as_one_exact_encoded_segment(service: Service, op: Operation[Any, Any]) -> None:
    async with (
        FaultServer(default=json_body({"message": "nope"}, 404)) as srv,
        service.make_core(srv.url, retries=0) as core,
    ):
        prefix = core.config.path_prefix  # a service scope such as Devin v3's organisation
        for sid in HOSTILE_IDS:
            result = await core.send(op, dict.fromkeys(op.path_params, sid))
            assert isinstance(result, Err), result
            assert not isinstance(result.error, InvalidRequestError), result.error
    expected = [prefix + _expected_path(op, sid) for sid in HOSTILE_IDS]
    assert [r.target for r in srv.requests] == expected


def _expected_path(op: Operation[Any, Any], sid: str) -> str:
    path = op.path
    fields = attrs.fields_dict(op.request) if op.request is not None else {}
    for name in op.path_params:
        convert = getattr(fields.get(name), "converter", None)  # e.g. Devin v3 adds `devin-`
        path = path.replace("{" + name + "}", _segment(convert(sid) if convert else sid))
    return path


def _segment(sid: str) -> str:
    # "." and ".." are dot-segments even unencoded, so they are sent as %2E to stay a literal id.
    return quote(sid, safe="") if sid.strip(".") else "%2E" * len(sid)


# --- CR/LF in headers: nothing is sent -------------------------------------------------------

CRLF = "ok\r\nX-Injected: 1"


def _crlf_cases(service: Service) -> dict[str, tuple[dict[str, Any], RequestOptions | None]]:
    def hook(ctx: Any, req: Any) -> None:
        req.headers["X-Hooked"] = CRLF

    return {
        "credential": ({"secret": CRLF}, None),
        "core-header": ({"headers": {"X-Extra": CRLF}}, None),
        "core-header-name": ({"headers": {"X-Bad\r\nName": "v"}}, None),
        "call-header": ({}, RequestOptions(headers={"X-Trace": CRLF})),
        "call-header-lf-only": ({}, RequestOptions(headers={"X-Trace": "a\nb"})),
        "idempotency-key": ({}, RequestOptions(idempotency_key=CRLF)),
        "hook-header": ({"hooks": Hooks(before_request=[hook])}, None),
    }


CRLF_CASES = [(s, case) for s in CREDENTIALED for case in _crlf_cases(s)]


@pytest.mark.parametrize(("service", "case"), CRLF_CASES, ids=[f"{s.name}-{c}" for s, c in CRLF_CASES])
async def test_crlf_in_a_header_is_invalid_request_and_nothing_is_sent(service: Service, case: str) -> None:
    core_kwargs, options = _crlf_cases(service)[case]
    async with FaultServer() as srv, service.make_core(srv.url, **core_kwargs) as core:
        result = await core.send(PROBE, None, options)
    assert isinstance(result, Err), result
    assert isinstance(result.error, InvalidRequestError)
    assert result.error.field_path.startswith("headers.")
    assert "\r" not in str(result.error)
    assert "X-Injected" not in str(result.error)
    assert srv.requests == []
    assert srv.total_connections == 0


# --- secrets stay out of repr, logs and errors ------------------------------------------------

FAILURES: dict[str, tuple[Behaviour, Operation[Any, Any], dict[str, Any]]] = {
    "ok": (json_body({}), PROBE, {}),
    "401": (json_body({"message": "bad credentials"}, 401), PROBE, {}),
    "500-html": (respond(500, b"<html>down</html>", content_type="text/html"), PROBE, {}),
    "reset": (reset_before_headers, PROBE, {}),
    "bad-body": (json_body({"a": "not an int"}), PROBE_JSON, {}),
    "timeout": (slow_headers(1.0, json_body({})), PROBE, {"timeout": Timeout(attempt=0.1)}),
    "redirect-loop": (redirect(302, "/probe"), PROBE, {}),
    "invalid": (json_body({}), PROBE, {"headers": {"X-Other": "a\r\nb"}}),
}


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text


def error_texts(error: SessionkitError) -> list[str]:
    """Everything a caller might print: str, repr, every attribute, and the cause's repr."""
    texts = [str(error), repr(error), repr(vars(error)), repr(error.args)]
    cause = getattr(error, "cause", None)
    if cause is not None:
        texts += [str(cause), repr(cause), repr(getattr(cause, "request_info", None))]
    return texts


@by_name
@pytest.mark.parametrize("failure", FAILURES.keys())
async def test_secret_never_in_repr_logs_or_error_text(
    service: Service, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    behaviour, op, core_kwargs = FAILURES[failure]
    caplog.set_level(logging.DEBUG, logger="sessionkit")
    async with (
        FaultServer(default=behaviour) as srv,
        service.make_core(srv.url, retries=FAST_RETRY, **core_kwargs) as core,
    ):
        assert_no_secret(repr(core), str(core))
        result = await core.send(op)
    if failure == "ok":
        assert isinstance(result, Ok), result
    else:
        assert isinstance(result, Err), result
        assert_no_secret(*error_texts(result.error))
    if failure != "invalid":
        assert any(carries_secret(r) for r in srv.requests), "the credential was never sent: a vacuous test"
    records = [r for r in caplog.records if r.name.startswith("sessionkit")]
    assert records, "nothing was logged at DEBUG"
    assert_no_secret(*(r.getMessage() for r in records))


@pytest.fixture
def env_debug_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the handler that `SESSIONKIT_LOG=debug` installs writes, redirected to a buffer."""
    logger = sk_logging.logger
    level, handlers = logger.level, list(logger.handlers)
    monkeypatch.setenv("SESSIONKIT_LOG", "debug")
    sk_logging.setup_logging()
    added = [h for h in logger.handlers if h not in handlers]
    assert len(added) == 1
    assert isinstance(added[0], logging.StreamHandler)
    buffer = io.StringIO()
    added[0].setStream(buffer)
    try:
        yield buffer
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


@by_name
async def test_secret_not_in_sessionkit_log_debug_output(service: Service, env_debug_log: io.StringIO) -> None:
    async with (
        FaultServer(default=json_body({})).then(json_body({}, 503)) as srv,
        service.make_core(srv.url, retries=FAST_RETRY) as core,
    ):
        assert isinstance(await core.send(PROBE), Ok)
    output = env_debug_log.getvalue()
    assert "probe.get attempt 1" in output
    assert "probe.get attempt 2" in output
    assert "<redacted>" in output
    assert_no_secret(output)
    assert all(carries_secret(r) for r in srv.requests)


# --- redirects --------------------------------------------------------------------------------


def _bindable(host: str) -> bool:
    with contextlib.suppress(OSError), socket.socket() as sock:
        sock.bind((host, 0))
        return True
    return False


# Another port on the same host, another name for the same address, another loopback address.
OTHER_ORIGINS = ["127.0.0.1", "localhost"] + (["127.0.0.2"] if _bindable("127.0.0.2") else [])


@by_name
@pytest.mark.parametrize("other_host", OTHER_ORIGINS)
async def test_credentials_not_forwarded_on_cross_origin_redirect(service: Service, other_host: str) -> None:
    bind = "127.0.0.1" if other_host == "localhost" else other_host
    async with FaultServer(host=bind) as b, FaultServer() as a:
        b_url = f"http://{other_host}:{b.port}"
        a.default = redirect(302, b_url + "/landing")
        async with service.make_core(a.url, headers={"Cookie": "c=" + SECRET}) as core:
            result = await core.send(PROBE)
    assert isinstance(result, Ok), result
    assert carries_secret(a.requests[0])
    assert [r.path for r in b.requests] == ["/landing"]
    assert not carries_secret(b.requests[0])


@by_name
async def test_credentials_not_restored_when_redirected_back_to_the_origin(service: Service) -> None:
    async with FaultServer() as b, FaultServer() as a:
        a.then(redirect(307, b.url + "/away"))
        b.default = redirect(307, a.url + "/back")
        async with service.make_core(a.url) as core:
            assert isinstance(await core.send(PROBE), Ok)
    assert [r.path for r in a.requests] == [core.config.path_prefix + "/probe", "/back"]
    assert not carries_secret(a.requests[1])


@by_name
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_credentials_kept_on_same_origin_redirect(service: Service, status: int) -> None:
    async with FaultServer().then(redirect(status, "/moved")) as srv, service.make_core(srv.url) as core:
        assert isinstance(await core.send(PROBE), Ok)
    assert [r.path for r in srv.requests] == [core.config.path_prefix + "/probe", "/moved"]
    assert all(carries_secret(r) for r in srv.requests)


async def test_per_call_secret_headers_are_dropped_cross_origin_too() -> None:
    service = SERVICES[0]
    async with FaultServer() as b, FaultServer() as a:
        a.default = redirect(302, b.url + "/landing")
        async with service.make_core(a.url, secret=None) as core:
            options = RequestOptions(headers={"Authorization": "Bearer " + SECRET, "X-API-Key": SECRET})
            assert isinstance(await core.send(PROBE, None, options), Ok)
    assert carries_secret(a.requests[0])
    assert not carries_secret(b.requests[0])


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl CLI is needed to make a self-signed certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> FaultServer:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*self_signed)
    return FaultServer(ssl_context=ctx)


@by_name
async def test_tls_is_verified_by_default(service: Service, tls_server: FaultServer) -> None:
    async with tls_server as srv, service.make_core(srv.url, retries=0) as core:
        connector = core.client_session().connector
        assert connector is not None
        assert connector._ssl is not False  # type: ignore[attr-defined]
        result = await core.send(PROBE)
    assert isinstance(result, Err), result
    assert isinstance(result.error, ConnectionError)
    assert "certificate" in str(result.error).lower()
    assert srv.requests == []


@by_name
async def test_tls_verification_can_be_turned_off(service: Service, tls_server: FaultServer) -> None:
    async with tls_server as srv, service.make_core(srv.url, retries=0, verify_ssl=False) as core:
        assert isinstance(await core.send(PROBE), Ok)
    assert carries_secret(srv.requests[0])


async def test_tls_with_a_context_that_trusts_the_certificate(
    tls_server: FaultServer, self_signed: tuple[Path, Path]
) -> None:
    trusted = ssl.create_default_context(cafile=str(self_signed[0]))
    async with tls_server as srv, SERVICES[0].make_core(srv.url, retries=0, verify_ssl=trusted) as core:
        assert isinstance(await core.send(PROBE), Ok)


# --- plain-http credentials warn once ---------------------------------------------------------


def _no_env_credentials(monkeypatch: pytest.MonkeyPatch, service: Service) -> None:
    import os

    prefix = service.name.upper() + "_"
    for name in list(os.environ):
        if name.startswith(prefix):
            monkeypatch.delenv(name)


def _warnings_from(make: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        core = make()
    assert isinstance(core, BaseCore)
    assert core.closed
    return [w for w in caught if issubclass(w.category, UserWarning)]


@by_name
def test_credentials_over_plain_http_warn_exactly_once(service: Service) -> None:
    url = f"http://{uuid.uuid4().hex}.example.invalid"
    first = _warnings_from(lambda: service.make_core(url))
    assert len(first) == 1
    assert "plain http" in str(first[0].message)
    assert_no_secret(str(first[0].message))
    assert _warnings_from(lambda: service.make_core(url)) == []


@by_name
@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1", "http://localhost:8888", "http://[::1]:8888", "https://{host}.example.invalid"]
)
def test_no_plain_http_warning_for_loopback_or_https(service: Service, url: str) -> None:
    url = url.format(host=uuid.uuid4().hex)
    assert _warnings_from(lambda: service.make_core(url)) == []


@by_name
def test_no_plain_http_warning_without_credentials(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_env_credentials(monkeypatch, service)
    url = f"http://{uuid.uuid4().hex}.example.invalid"
    assert _warnings_from(lambda: service.make_core(url, secret=None)) == []
