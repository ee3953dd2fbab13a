"""Profile sessionkit's hot path with pyinstrument: `python -m benchmarks.profile [scenario] [-n N] [-c C]`.

The server runs in its own process, as in a benchmark; the profile covers only the client.
`--client` picks another client of the benchmark (default: sessionkit, standard-library JSON).
"""

from __future__ import annotations

import argparse
import asyncio

from .clients import CLIENTS, SCENARIOS, Client
from .load import drive
from .runner import server_process


async def _run(url: str, client: Client, scenario: str, requests: int, concurrency: int) -> None:
    from pyinstrument import Profiler

    await client.open(url)
    try:
        client.activate()
        call = client.call(scenario)
        await drive(call, 200, concurrency)
        profiler = Profiler(interval=0.0002, async_mode="disabled")
        with profiler:
            sample = await drive(call, requests, concurrency)
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        print(f"{requests / sample.wall:.0f} req/s while profiling; wrong: {sample.wrong}")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default="get", choices=SCENARIOS)
    parser.add_argument("-n", "--requests", type=int, default=5000)
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    names = {cls.name: cls for cls in CLIENTS}
    parser.add_argument("--client", default="sessionkit", choices=sorted(names))
    args = parser.parse_args()
    with server_process() as url:
        asyncio.run(_run(url, names[args.client](), args.scenario, args.requests, args.concurrency))


if __name__ == "__main__":
    main()
