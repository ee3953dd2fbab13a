"""The command table: every service operation the CLI offers, as data.

The parser and the runner are generic; adding an operation to a service means adding one `Op` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Credential", "Op", "Service", "SERVICES"]


@dataclass(frozen=True)
class Op:
    """One `sessionkit <service> sessions <name>` command, calling `sessions_<name>(core, request)`.

    `id_key` is the request key the positional id fills. `body_key` is the request key that `--body`
    goes under; when it is None the body is the request itself (merged with the id, if any).
    `batch` offers `--batch`; `paged` offers `--all` through the service's `sessions_list_all`.
    `default_body` (JSON) is sent when no `--body` is given. `idempotency` says how a batch create
    keeps a retried or resumed line from creating a second session: "key" sends an `Idempotency-Key`
    header, "field" sets the request's `idempotent` field; None when the operation needs neither.
    """

    name: str
    help: str
    id_key: str | None = None
    body_key: str | None = None
    body: bool = True
    batch: bool = False
    paged: bool = False
    default_body: str | None = None
    idempotency: Literal["key", "field"] | None = None

    @property
    def function(self) -> str:
        return f"sessions_{self.name}"


@dataclass(frozen=True)
class Credential:
    """A secret or identity flag, the core keyword it feeds, and the env var the core falls back to."""

    flag: str
    kwarg: str
    env: str
    help: str


@dataclass(frozen=True)
class Service:
    name: str
    core: str
    help: str
    credentials: tuple[Credential, ...]
    ops: tuple[Op, ...]

    @property
    def module(self) -> str:
        return f"sessionkit.{self.name}"


def _create(what: str = "create a session", idempotency: Literal["key", "field"] | None = "key") -> Op:
    return Op("create", what, batch=True, idempotency=idempotency)


def _by_id(name: str, summary: str, id_key: str, *, body_key: str | None = None, body: bool = False) -> Op:
    return Op(name, summary, id_key=id_key, body_key=body_key, body=body or body_key is not None, batch=True)


_ORQ_ALL = '{"filters": {"interval": "SESSION_INTERVAL_ALL_TIME"}}'

SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "jupyter",
            "JupyterCore",
            "Jupyter Server /api/sessions",
            (Credential("--token", "token", "JUPYTER_TOKEN", "server token"),),
            (
                Op("list", "list every session", body=False),
                # Jupyter answers a create for a path that has a session with that session: safe to repeat.
                _create("create a session (or get the one for the same path)", None),
                _by_id("get", "get a session", "session"),
                _by_id("update", "rename a session or change its kernel", "session", body_key="model"),
                _by_id("delete", "delete a session and stop its kernel", "session"),
            ),
        ),
        Service(
            "orq",
            "OrqCore",
            "Orq /v2/sessions",
            (Credential("--api-key", "api_key", "ORQ_API_KEY", "API key"),),
            (
                _create(),
                _by_id("get", "get a session", "session_id"),
                _by_id("update", "change a session's fields", "session_id", body_key="request_body"),
                _by_id("delete", "delete a session", "session_id"),
                Op("list", "query one page of sessions (--all: every page)", paged=True, default_body=_ORQ_ALL),
                Op("count", "count the sessions a query matches", default_body=_ORQ_ALL),
                Op("tags", "list the tags in use", body=False),
            ),
        ),
        Service(
            "mix",
            "MixCore",
            "Mix /api/sessions",
            (),
            (
                Op("list", "list every session (body: include_subagents)"),
                _create("create a session (body: title, ...)"),
                _by_id("get", "get a session", "id"),
                _by_id("fork", "fork a session (body: message_index, title)", "id", body=True),
                _by_id("delete", "delete a session", "id"),
            ),
        ),
        Service(
            "devin",
            "DevinCore",
            "Devin /v1/sessions",
            (Credential("--api-key", "api_key", "DEVIN_API_KEY", "API key"),),
            (
                _create(
                    "start a Devin session (body: prompt, ...; --batch sets idempotent unless a line does)", "field"
                ),
                _by_id("get", "get a session's details", "session_id"),
            ),
        ),
        Service(
            "log10",
            "Log10Core",
            "Log10 /api/v1/sessions",
            (
                Credential("--token", "token", "LOG10_TOKEN", "X-Log10-Token"),
                Credential("--organization", "organization", "LOG10_ORG_ID", "X-Log10-Organization"),
            ),
            (_create("create a session (optional body: organization, for this call only)"),),
        ),
    )
}
