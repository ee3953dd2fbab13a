"""NDJSON framing: `\\n` ends a line, nothing else does; `index` is the physical line; `--resume` input."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sessionkit._cli.ndjson import finished_indexes, split_lines
from sessionkit.testing import FakeMix

from ._run import sessionkit


def test_only_newline_ends_a_line() -> None:
    assert split_lines(b"") == []
    assert split_lines(b"\n") == [b""]
    assert split_lines(b"a\r\n\n  \nb") == [b"a", b"", b"  ", b"b"]  # the last line needs no newline
    raw = '{"t": "x\u2028y\u0085z\x1c"}\n'.encode()
    assert split_lines(raw) == [raw[:-1]]


async def test_indexes_are_physical_lines_and_odd_bytes_fail_only_their_line(fake_mix: FakeMix) -> None:
    lines = [
        json.dumps({"title": "sep\u2028par\u0085end"}, ensure_ascii=False).encode(),  # 0: raw separators
        b"",  # 1: blank
        b"   ",  # 2: blank
        b'{"title": "crlf"}\r',  # 3: a Windows line
        b"{oops",  # 4
        b'{"title": "caf\xe9"}',  # 5: Latin-1, not UTF-8
        b'{"title": "last, no newline"}',  # 6
    ]
    run = await sessionkit(
        "mix", "sessions", "create", "--batch", "--server-url", fake_mix.url, stdin=b"\n".join(lines)
    )
    assert run.code == 1, run
    assert len(run.stdout.splitlines()) == 5  # separators in results are escaped: one line each for any reader
    out = {line["index"]: line for line in run.lines()}
    assert sorted(out) == [0, 3, 4, 5, 6]
    assert out[0]["ok"]["title"] == "sep\u2028par\u0085end"
    assert out[3]["ok"]["title"] == "crlf"
    assert "input line 5 is not valid JSON" in out[4]["error"]["message"]
    assert "input line 6 is not UTF-8 text (byte 15 is invalid)" in out[5]["error"]["message"]
    assert out[6]["ok"]["title"] == "last, no newline"
    assert sorted(s["title"] for s in fake_mix.sessions) == ["crlf", "last, no newline", "sep\u2028par\u0085end"]


def test_resume_reads_results_ok_or_error_and_skips_the_rest(tmp_path: Path) -> None:
    previous = tmp_path / "out.ndjson"
    lines = [
        '{"index": 0, "ok": {"id": "a"}}',
        '{"index": 2, "error": {"error": "NotFoundError"}}',
        '{"index": 3, "ok": null}',
        '{"index": true, "ok": 1}',  # not an index
        '{"interrupted": true, "not_done": [5]}',
        "not json",
        '{"index": 4, "ok": {"id": "cut sh',  # the run was killed mid-line
    ]
    previous.write_text("\n".join(lines), encoding="utf-8")
    assert finished_indexes(str(previous)) == {0, 2, 3}


async def test_resume_refuses_an_output_file_that_stdout_just_emptied(fake_mix: FakeMix, tmp_path: Path) -> None:
    out = tmp_path / "out.ndjson"
    out.write_text('{"index": 0, "ok": {"id": "a"}}\n', encoding="utf-8")
    args = ["mix", "sessions", "create", "--batch", "--server-url", fake_mix.url, "--resume", str(out)]

    async def run_into(mode: str) -> int:
        with out.open(mode) as stdout:  # "w" is what `>` does, "a" what `>>` does
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sessionkit.cli", *args, stdin=asyncio.subprocess.PIPE, stdout=stdout
            )
            await proc.communicate(b'{"title": "zero"}\n{"title": "one"}\n')
        assert proc.returncode is not None
        return proc.returncode

    assert await run_into("w") == 2
    assert len(fake_mix.sessions) == 0
    out.write_text('{"index": 0, "ok": {"id": "a"}}\n', encoding="utf-8")
    assert await run_into("a") == 0
    assert [s["title"] for s in fake_mix.sessions] == ["one"]
    assert [json.loads(line)["index"] for line in out.read_text(encoding="utf-8").splitlines()] == [0, 1]
