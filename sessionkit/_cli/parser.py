"""The argparse tree, generated from the command table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from .._core import VERSION
from .output import EXIT_USAGE, UsageError, dumps, error_json
from .request import lone_surrogate_at
from .table import SERVICES, Op, Service, ops_of

__all__ = ["build_parser"]

_EPILOG = """\
exit codes: 0 ok; 1 API error (the server answered with an error, or a body that does not decode);
2 usage (bad arguments or body, invalid request: nothing was sent); 3 connection refused or timeout.
With --batch: 0 when every line is ok, else 1 (each line says what failed); 130 or 143 when
SIGINT or SIGTERM stopped it (stderr lists the input lines not done: --resume runs just those).
Results are JSON on stdout; errors are JSON on stderr."""


class _Parser(argparse.ArgumentParser):
    """Usage errors are JSON on stderr too, with exit code 2."""

    def error(self, message: str) -> NoReturn:
        payload = error_json(UsageError(f"{message} (see `{self.prog} --help`)"))
        print(dumps(payload), file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _number(kind: Callable[[str], float], ok: Callable[[float], bool], name: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not ok(value):
            raise ValueError(text)
        return value

    parse.__name__ = name  # argparse names the type in its error message
    return parse


_positive_int = _number(int, lambda v: v >= 1, "positive integer")
_count = _number(int, lambda v: v >= 0, "non-negative integer")
_seconds = _number(float, lambda v: v > 0, "positive number")
_grace = _number(float, lambda v: v >= 0, "non-negative number")  # NaN fails the test, as it should


def _connection_flags(service: Service) -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--server-url", help="base URL of the service (default: the service's own)")
    for cred in service.credentials:
        group.add_argument(cred.flag, dest=cred.kwarg, metavar=cred.kwarg.upper(), help=f"{cred.help} (env {cred.env})")
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="per-attempt timeout")
    group.add_argument("--retries", type=_count, metavar="N", help="retries after a retryable failure (default 2)")
    return common


_CODE_EPILOG = """
For code (--code, --file): its outputs are printed as they come (stdout and displays' text on
stdout, stderr and tracebacks on stderr); exit 0 when it ran without error, 1 when it raised or was
aborted, 3 when the execution timed out or the kernel went away."""


def _add_op(parent: Any, op: Op, common: _Parser) -> None:
    epilog = _EPILOG + (_CODE_EPILOG if op.takes_code and not op.streams else "")
    cmd: _Parser = parent.add_parser(op.name, help=op.help, description=op.help, parents=[common], epilog=epilog)
    cmd.formatter_class = argparse.RawDescriptionHelpFormatter
    cmd.set_defaults(op_spec=op)
    if op.id_key is not None:
        # In batch mode the ids come from stdin, so the positional is optional there.
        cmd.add_argument("id", nargs="?", help=f"the id the request key {op.id_key!r} takes (a session, kernel, ...)")
    if op.body:
        default = f" (default {op.default_body})" if op.default_body else ""
        cmd.add_argument(
            "--body", metavar="JSON|@FILE|-", help=f"request body: inline JSON, @file.json, or - for stdin{default}"
        )
    if op.batch:
        cmd.add_argument("--batch", action="store_true", help="read NDJSON requests from stdin, write NDJSON results")
        cmd.add_argument("--concurrency", type=_positive_int, default=16, metavar="N", help="batch calls in flight")
        cmd.add_argument(
            "--grace",
            type=_grace,
            metavar="SECONDS",
            help="on SIGINT/SIGTERM, how long the calls in flight may finish before they are cancelled (default 5)",
        )
        cmd.add_argument(
            "--resume",
            metavar="FILE",
            help="skip the input lines a previous run's output FILE has a result (ok or error) for",
        )
        limits = cmd.add_argument_group("rate limits")
        limits.add_argument(
            "--adaptive",
            action="store_true",
            help="adapt the calls in flight between 1 and --concurrency to what the server tolerates "
            "(fewer on 429, 503 and timeouts; a Retry-After pauses every new call)",
        )
        limits.add_argument(
            "--rate", type=_seconds, metavar="PER_SECOND", help="at most this many requests a second, retries included"
        )
        limits.add_argument(
            "--redis-url",
            metavar="URL",
            help="share --rate with every process given the same URL and --rate-key (needs sessionkit[redis])",
        )
        limits.add_argument(
            "--rate-key", metavar="KEY", help="the Redis key of the shared limit (default sessionkit:SERVICE)"
        )
    if op.runs:
        turn = cmd.add_argument_group("the turn")
        turn.add_argument("--message", metavar="TEXT", help="the message that starts the turn (required)")
        answers = turn.add_mutually_exclusive_group()
        answers.add_argument(
            "--grant-all", action="store_true", help="grant every permission the agent asks for during the turn"
        )
        answers.add_argument(
            "--deny-all",
            action="store_true",
            help="deny every permission (the default); notifications are acknowledged",
        )
        turn.add_argument(
            "--turn-timeout",
            type=_seconds,
            metavar="SECONDS",
            help="the turn's total deadline; the turn is cancelled on the server when it passes (default 3600)",
        )
        cmd.epilog = (
            "the turn is printed as JSON: its messages, tool uses, every question with its answer, and how it "
            "ended. Exit 0 when it completed, 1 when the agent failed or the turn was cancelled, 3 when the "
            "deadline passed (the turn was cancelled on the server).\n\n" + _EPILOG
        )
    if op.every_page is not None:
        cmd.add_argument("--all", action="store_true", help="follow every page; print one JSON array")
    if op.takes_code:
        _add_code_flags(cmd, op)
    if op.waits:
        cmd.add_argument(
            "--wait-timeout", type=_seconds, default=600.0, metavar="SECONDS", help="give up after (default 600)"
        )
        if op.takes_until:
            cmd.add_argument("--until", metavar="STATE[,STATE...]", help="the states that end the wait")


def _add_code_flags(cmd: _Parser, op: Op) -> None:
    group = cmd.add_argument_group("code")
    source = group.add_mutually_exclusive_group()
    source.add_argument("--code", metavar="CODE", help="the code to run")
    source.add_argument("--file", metavar="PATH|-", help="run the code in this file (- for stdin)")
    group.add_argument(
        "--execution-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="how long the code may run, queue and connection included (default 30)",
    )
    group.add_argument(
        "--on-timeout",
        choices=("interrupt", "restart", "none"),
        help="what to do with code still running at the timeout (default interrupt)",
    )
    group.add_argument("--no-history", action="store_true", help="do not count the code in the kernel's history")
    if not op.streams:
        group.add_argument("--allow-stdin", action="store_true", help="answer the code's input() from stdin")


def _add_group(groups: Any, name: str, service: Service, members: list[Op], common: _Parser) -> None:
    """A sub-command for a group of operations other than `sessions` (`jupyter kernels execute`)."""
    parser = groups.add_parser(name, help=f"{service.name} {name} operations", description=f"{service.name} {name}")
    ops = parser.add_subparsers(dest="op", required=True, metavar="{" + ",".join(o.short for o in members) + "}")
    for op in members:
        _add_op(ops, replace(op, name=op.short), common)


FAKE_SERVICES = tuple(SERVICES)  # every service has its fake (`Service.fake`)


def _add_fake(services: Any) -> None:
    """`sessionkit fake SERVICE`: a fake of `sessionkit.testing` as a local server (see `_cli/fake.py`)."""
    fake = services.add_parser("fake", help="serve one service's fake on localhost until stopped")
    fake.add_argument("fake_service", metavar="SERVICE", choices=FAKE_SERVICES, help=" | ".join(FAKE_SERVICES))
    fake.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    fake.add_argument("--port", type=_count, default=0, help="the port (default 0: any free one, printed)")
    fake.add_argument("--rate-limit", type=_seconds, metavar="PER_SECOND", help="answer 429 beyond this rate")
    fake.add_argument("--token", metavar="TOKEN", help="the credential it accepts (default: the fake's own)")
    fake.add_argument("--seed", type=_count, default=0, metavar="N", help="store N sessions first")
    fake.add_argument("--mix-version", default="0.10.1", choices=("0.10.1", "0.11.4"), help="(mix only)")


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; only the service `argv` names (if any) is imported to list its operations."""
    parser = _Parser(prog="sessionkit", description="Call the sessions APIs of five services.", epilog=_EPILOG)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--version", action="version", version=f"sessionkit {VERSION}")
    services = parser.add_subparsers(dest="service", required=True, metavar="{demo,fake," + ",".join(SERVICES) + "}")
    demo = services.add_parser("demo", help="a tour of every service against in-process fakes")
    demo.add_argument("--jupyter", action="store_true", help="run the Jupyter part against a real local Jupyter Server")
    _add_fake(services)
    for service in SERVICES.values():
        svc = services.add_parser(service.name, help=service.help, description=service.help)
        svc.set_defaults(service_spec=service)
        named = service.name in argv[:1]
        service_ops = ops_of(service) if named else ()
        other_groups: dict[str, list[Op]] = {}
        for op in service_ops:
            if op.group != "sessions" and op.short:
                other_groups.setdefault(op.group, []).append(op)
        metavar = "{" + ",".join(["sessions", *other_groups]) + "}" if other_groups else "sessions"
        groups = svc.add_subparsers(dest="group", required=True, metavar=metavar)
        sessions = groups.add_parser("sessions", help=f"{service.name} session operations")
        ops = sessions.add_subparsers(
            dest="op", required=True, metavar="{" + ",".join(o.name for o in service_ops) + "}" if named else "OP"
        )
        if not named:
            continue  # only the service named is imported: its flags and commands are all anyone needs
        common = _connection_flags(service)
        for op in service_ops:
            _add_op(ops, op, common)
        for name, members in other_groups.items():
            _add_group(groups, name, service, members, common)
    return parser


def check(parser: argparse.ArgumentParser, ns: argparse.Namespace) -> None:
    """Cross-flag rules argparse cannot express."""
    op: Op | None = getattr(ns, "op_spec", None)
    if op is None:
        return
    batch = getattr(ns, "batch", False)
    if op.id_key is not None and not batch and ns.id is None:
        what = "session id" if op.id_key in ("session", "session_id", "id", "devin_id") else op.id_key.replace("_", " ")
        parser.error(f"{ns.service} {ns.group} {op.name} needs the {what}")
    if op.takes_code and batch and (ns.code is not None or ns.file is not None):
        parser.error("--batch reads every request (its code included) from stdin: give no --code or --file")
    if op.takes_code and getattr(ns, "allow_stdin", False) and getattr(ns, "file", None) == "-":
        parser.error("--allow-stdin answers input() from stdin, which --file - already reads: give the file by path")
    if op.runs and not getattr(ns, "message", None):
        parser.error(f"{ns.service} {ns.group} {op.name} needs --message TEXT")
    if batch and (getattr(ns, "id", None) is not None or getattr(ns, "body", None) is not None):
        parser.error("--batch reads every request from stdin: give no id and no --body")
    if not batch and (getattr(ns, "grace", None) is not None or getattr(ns, "resume", None) is not None):
        parser.error("--grace and --resume go with --batch")
    limits = [getattr(ns, name, None) for name in ("rate", "redis_url", "rate_key")]
    if not batch and (getattr(ns, "adaptive", False) or any(v is not None for v in limits)):
        parser.error("--adaptive, --rate, --redis-url and --rate-key go with --batch")
    if limits[0] is None and any(v is not None for v in limits[1:]):
        parser.error("--redis-url and --rate-key share a --rate: give --rate too")
    # Undecodable argv bytes arrive as lone surrogates (surrogateescape), which no URL, header or
    # body can carry. The value is not echoed: it may be a credential.
    flags = {"id": "the session id", "server_url": "--server-url", "message": "--message"}
    flags.update({c.kwarg: c.flag for c in ns.service_spec.credentials})
    for name, flag in flags.items():
        value = getattr(ns, name, None)
        if isinstance(value, str) and lone_surrogate_at(value) is not None:
            parser.error(f"{flag} is not valid UTF-8 text")
