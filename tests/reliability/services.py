"""Every service, its core class and its operations, as the one registry lists them."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from sessionkit import BaseCore, Operation
from sessionkit._registry import SERVICES as REGISTRY

SECRET = "s3cr3t-Tok3n-9f8e7d"
# Constructor parameters that carry a credential, whatever the service calls them.
CREDENTIAL_PARAMS = ("token", "api_key", "apikey", "key")


@dataclass(frozen=True)
class Service:
    name: str
    core: type[BaseCore]
    operations: tuple[Operation[Any, Any], ...]

    @property
    def credential_param(self) -> str | None:
        params = inspect.signature(self.core.__init__).parameters
        return next((p for p in CREDENTIAL_PARAMS if p in params), None)

    def make_core(self, server_url: str, secret: str | None = SECRET, **kwargs: Any) -> BaseCore:
        """A core for `server_url`, holding `secret` as its credential when it takes one."""
        param = self.credential_param
        if param is not None and secret is not None:
            kwargs[param] = secret
        return self.core(server_url=server_url, **kwargs)


def discover() -> list[Service]:
    """Every service of the one registry (`sessionkit._registry.SERVICES`), with its core class and
    every operation it declares (sessions, kernels, files, ...)."""
    return [
        Service(
            entry.package.removeprefix("sessionkit."),
            entry.core_class(),
            tuple(e.operation for e in entry.operations()),
        )
        for entry in REGISTRY
    ]


SERVICES = discover()
CREDENTIALED = [s for s in SERVICES if s.credential_param is not None]
OPERATIONS = [op for s in SERVICES for op in s.operations]
