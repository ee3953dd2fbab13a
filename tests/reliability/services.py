"""Discovery of every service package, its core class and its operations.

New services are picked up automatically: any `sessionkit.<name>` package with a `sessions` module
counts. A package that exists but fails to import is a bug, and the error propagates.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from typing import Any

import sessionkit
from sessionkit import BaseCore, Operation

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


def _sessions_module(name: str) -> Any | None:
    try:
        return importlib.import_module(f"sessionkit.{name}.sessions")
    except ModuleNotFoundError as exc:
        if exc.name in (f"sessionkit.{name}", f"sessionkit.{name}.sessions"):
            return None  # a package still being written
        raise


def discover() -> list[Service]:
    """Every service package (`sessionkit.<name>`, and subpackages such as `sessionkit.devin.v3`)
    with a `sessions` module, one core class and at least one operation."""
    services: list[Service] = []
    names = [info.name for info in sorted(pkgutil.iter_modules(sessionkit.__path__), key=lambda i: i.name)
             if info.ispkg and not info.name.startswith("_") and info.name != "testing"]  # fmt: skip
    for name in names:
        package = importlib.import_module(f"sessionkit.{name}")
        subpackages = [f"{name}.{i.name}" for i in pkgutil.iter_modules(package.__path__) if i.ispkg]
        for dotted in [name, *subpackages]:
            module = _sessions_module(dotted)
            if module is None:
                continue
            pkg = importlib.import_module(f"sessionkit.{dotted}")
            cores = [
                v for v in vars(pkg).values() if inspect.isclass(v) and issubclass(v, BaseCore) and v is not BaseCore
            ]
            ops = tuple(v for v in vars(module).values() if isinstance(v, Operation))
            if len(cores) == 1 and ops:
                services.append(Service(dotted, cores[0], ops))
    return services


SERVICES = discover()
CREDENTIALED = [s for s in SERVICES if s.credential_param is not None]
OPERATIONS = [op for s in SERVICES for op in s.operations]
