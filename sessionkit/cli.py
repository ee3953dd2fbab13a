"""The `sessionkit` console script: one sub-command per operation of every service, and `demo`.

    sessionkit jupyter sessions create --body '{"path": "a.ipynb"}' --server-url http://127.0.0.1:8888
    sessionkit orq sessions get ID
    sessionkit jupyter sessions get --batch < ids.ndjson
    sessionkit demo
    sessionkit fake mix --port 0                 # a fake served until Ctrl-C; prints its URL

Results are JSON on stdout, errors JSON on stderr. Exit codes: 0 ok, 1 API error, 2 usage,
3 connection or timeout (`--batch`: 0 when every line is ok, else 1; 130/143 when SIGINT/SIGTERM
stopped it). A bare `sessionkit` prints the help on stderr and exits 2.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from ._cli.output import EXIT_USAGE, UsageError, print_error
from ._cli.parser import build_parser, check

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args)
    if not args:  # a bare `sessionkit` is a request for directions, not a one-line error
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    ns = parser.parse_args(args)
    check(parser, ns)
    try:
        if ns.service == "demo":
            from ._cli.demo import run_demo

            return run_demo(real_jupyter=ns.jupyter)
        if ns.service == "fake":
            from ._cli.fake import run_fake

            return run_fake(ns)
        from ._cli.run import run_operation

        return asyncio.run(run_operation(ns))
    except UsageError as exc:
        return print_error(exc)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sessionkit ... | head`: the reader left
        # Point stdout at devnull so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
