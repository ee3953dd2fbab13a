"""In-process fake servers for the five sessions APIs, for your own tests.

Each fake is an `aiohttp.web` app on 127.0.0.1 at a free port, with in-memory sessions, the real
service's auth, status codes, error bodies and quirks, a request log and scripted fault injection.

    from sessionkit.jupyter import JupyterCore, sessions_create
    from sessionkit.testing import Fault, FakeJupyter

    async def test_create_survives_a_503() -> None:
        async with FakeJupyter(token="t") as fake:
            fake.faults.push(Fault.status(503))                # the first attempt fails
            async with JupyterCore(server_url=fake.url, token="t") as core:
                result = await sessions_create(core, {"path": "a.ipynb"})
            assert result.is_ok()
            assert [r.method for r in fake.requests] == ["POST", "POST"]

| fake | imitates | auth |
| --- | --- | --- |
| `FakeJupyter(token)` | Jupyter Server 2.21 `/api/sessions`, `/api/kernels` and the kernels' channels (code outputs registered with `kernel_outputs`) | `?token=` or `Authorization: token|Bearer` |
| `FakeOrq(api_key)` | Orq `/v2/sessions` (threads) | `Authorization: Bearer` |
| `FakeMix(version="0.10.1")` | Mix server 0.10.1 or 0.11.4: REST, files, event stream, an agent that asks (`script_turn`) | none |
| `FakeDevin(api_key)` | Devin `/v1/sessions` | `Authorization: Bearer` |
| `FakeDevinV3(api_key, org_id)` | Devin `/v3/organizations/{org_id}/sessions`, states that move over time | `Authorization: Bearer cog_...` |
| `FakeLog10(token)` | Log10 `/api/v1/sessions` | `X-Log10-Token` |

Every fake has `url`, `start()`/`stop()` (or `async with`), `sessions` (a `SessionStore`),
`requests` (`RecordedRequest` list), `faults` (`FaultQueue`), `reset()`, and `seed_sessions(n)`
(all but Log10); Orq, Mix and Devin also have `populate(n)` for a large, lazily built population.

`FakeClock` gives a core (`clock=`) or a batch virtual time, so retries and deadlines are tested
without waiting.
"""

from ._server import FakeServer, Fault, FaultKind, FaultQueue, RecordedRequest, SessionStore
from .clock import FakeClock
from .devin import FakeDevin
from .devin_v3 import FakeDevinV3
from .jupyter import CodeOutputs, FakeJupyter, KernelMessage
from .log10 import FakeLog10
from .mix import AskNotification, AskPermission, AwaitReconnect, DropStream, FailTurn, FakeMix, Pause, RunTool, Say
from .orq import FakeOrq

__all__ = [
    "AskNotification",
    "AskPermission",
    "AwaitReconnect",
    "CodeOutputs",
    "DropStream",
    "FailTurn",
    "Pause",
    "RunTool",
    "Say",
    "FakeClock",
    "FakeDevin",
    "FakeDevinV3",
    "FakeJupyter",
    "FakeLog10",
    "FakeMix",
    "FakeOrq",
    "FakeServer",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "KernelMessage",
    "RecordedRequest",
    "SessionStore",
]
