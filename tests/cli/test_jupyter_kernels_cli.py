"""`sessionkit jupyter kernels ...`: the kernels REST commands, and `execute` printing the code's
outputs as a terminal shows them, with the execution's status as the exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from sessionkit.cli import main
from sessionkit.testing import FakeJupyter
from tests._support.fake_fixtures import JUPYTER_TOKEN

from ._run import sessionkit

KERNEL_ID = "33333333-3333-3333-3333-333333333333"


def conn(fake: FakeJupyter) -> list[str]:
    return ["--server-url", fake.url, "--token", JUPYTER_TOKEN]


def kernel(fake: FakeJupyter) -> str:
    return fake._start_kernel("python3")  # pyright: ignore[reportPrivateUsage]


async def test_execute_prints_outputs_as_text_and_exits_0(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs(
        "show()",
        stdout="hi\n",
        stderr="careful\n",
        displays=[{"text/plain": "<Figure>", "image/png": "iVBOR"}, {"image/png": "iVBOR"}],
        result="42",
    )
    run = await sessionkit(
        "jupyter", "kernels", "execute", kernel(fake_jupyter), "--code", "show()", *conn(fake_jupyter)
    )
    assert run.code == 0, run
    assert run.stdout == "hi\n<Figure>\n<image/png>\n42\n"
    assert run.stderr == "careful\n"


async def test_code_that_raises_exits_1_with_its_traceback(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("1/0", error=("ZeroDivisionError", "division by zero"))
    run = await sessionkit("jupyter", "kernels", "execute", kernel(fake_jupyter), "--code", "1/0", *conn(fake_jupyter))
    assert run.code == 1, run
    assert "ZeroDivisionError" in run.stderr
    assert "division by zero" in run.stderr
    assert run.stdout == ""


async def test_code_from_a_file_and_from_stdin(fake_jupyter: FakeJupyter, tmp_path: Path) -> None:
    code = "x = 1\nprint(x)"
    fake_jupyter.kernel_outputs(code, stdout="1\n")
    script = tmp_path / "cell.py"
    script.write_text(code, encoding="utf-8")
    target = kernel(fake_jupyter)
    from_file = await sessionkit("jupyter", "kernels", "execute", target, "--file", str(script), *conn(fake_jupyter))
    from_stdin = await sessionkit(
        "jupyter", "kernels", "execute", target, "--file", "-", *conn(fake_jupyter), stdin=code
    )
    assert (from_file.code, from_file.stdout) == (0, "1\n"), from_file
    assert (from_stdin.code, from_stdin.stdout) == (0, "1\n"), from_stdin
    missing = await sessionkit(
        "jupyter", "kernels", "execute", target, "--file", str(script) + ".nope", *conn(fake_jupyter)
    )
    assert missing.code == 2
    assert "cannot read the code file" in missing.error()["message"]


async def test_a_timeout_exits_3_with_the_error(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("loop()", stdout="tick\n", hang=True)
    target = kernel(fake_jupyter)
    args = ["--code", "loop()", "--execution-timeout", "0.5", "--on-timeout", "restart"]
    run = await sessionkit("jupyter", "kernels", "execute", target, *args, *conn(fake_jupyter))
    assert run.code == 3, run
    assert run.stdout == "tick\n"  # what came before the timeout was shown as it came
    error = run.error()
    assert error["error"] == "ExecutionTimeoutError"
    assert "the kernel was restarted" in error["message"]
    assert [r.method for r in fake_jupyter.requests if r.path.endswith("/restart")] == ["POST"]


async def test_input_is_answered_from_stdin(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("name = input('who? ')", input_prompt="who? ")
    args = ["--code", "name = input('who? ')", "--allow-stdin"]
    run = await sessionkit(
        "jupyter", "kernels", "execute", kernel(fake_jupyter), *args, *conn(fake_jupyter), stdin="Ada\n"
    )
    assert run.code == 0, run
    assert run.stdout == "who? Ada\n"


async def test_execute_stream_prints_each_output_as_ndjson(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("6*7", stdout="hi\n", result="42")
    args = ["--code", "6*7", "--no-history"]
    run = await sessionkit("jupyter", "kernels", "execute-stream", kernel(fake_jupyter), *args, *conn(fake_jupyter))
    assert run.code == 0, run
    assert run.lines() == [
        {"name": "stdout", "text": "hi\n", "output_type": "stream"},
        {"execution_count": 0, "data": {"text/plain": "42"}, "metadata": {}, "output_type": "execute_result"},
        {"status": "ok", "execution_count": 0, "payload": [], "output_type": "execute_reply"},
    ]


async def test_the_kernels_rest_commands(fake_jupyter: FakeJupyter) -> None:
    started = await sessionkit("jupyter", "kernels", "start", "--body", '{"name": "python3"}', *conn(fake_jupyter))
    assert started.code == 0, started
    kernel_id = started.json()["id"]
    listed = await sessionkit("jupyter", "kernels", "list", *conn(fake_jupyter))
    deleted = await sessionkit("jupyter", "kernels", "delete", kernel_id, *conn(fake_jupyter))
    assert [k["id"] for k in listed.json()] == [kernel_id]
    assert (deleted.code, deleted.stdout.strip()) == (0, "null")
    assert fake_jupyter.kernels == {}
    assert [(r.method, r.path) for r in fake_jupyter.requests] == [
        ("POST", "/api/kernels"), ("GET", "/api/kernels"), ("DELETE", f"/api/kernels/{kernel_id}")
    ]  # fmt: skip


async def test_the_sessions_group_keeps_the_flat_names(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("6*7", result="42")
    run = await sessionkit(
        "jupyter", "sessions", "kernels-execute", kernel(fake_jupyter), "--code", "6*7", *conn(fake_jupyter)
    )
    assert (run.code, run.stdout) == (0, "42\n"), run


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([KERNEL_ID], "--code CODE or --file PATH"),
        ([KERNEL_ID, "--code", "1", "--file", "x"], "not allowed with argument"),
        (["--batch", "--code", "1"], "give no --code or --file"),
        (["--code", "1"], "needs the kernel id"),
        ([KERNEL_ID, "--code", "1", "--execution-timeout", "0"], "invalid positive number value"),
        ([KERNEL_ID, "--file", "-", "--allow-stdin"], "--allow-stdin answers input() from stdin"),
    ],
)
def test_bad_code_flags_are_usage_errors(args: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    # In process: a usage error is found before anything is sent (the URL answers nothing).
    argv = ["jupyter", "kernels", "execute", *args, "--server-url", "http://127.0.0.1:9", "--token", "t"]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code  # argparse's own refusals
    assert code == 2
    assert says in capsys.readouterr().err


async def test_execute_in_a_batch_writes_each_execution_as_a_line(fake_jupyter: FakeJupyter) -> None:
    fake_jupyter.kernel_outputs("6*7", result="42")
    fake_jupyter.kernel_outputs("1/0", error=("ZeroDivisionError", "division by zero"))
    target = kernel(fake_jupyter)
    lines = "".join(f'{{"kernel_id": "{target}", "code": "{code}"}}\n' for code in ("6*7", "1/0"))
    run = await sessionkit("jupyter", "kernels", "execute", "--batch", *conn(fake_jupyter), stdin=lines)
    assert run.code == 0, run  # both calls worked: code that raised is a result, not a failed line
    first, second = sorted(run.lines(), key=lambda line: line["index"])
    assert (first["ok"]["status"], first["ok"]["result"]) == ("ok", {"text/plain": "42"})
    assert (second["ok"]["status"], second["ok"]["error"]["ename"]) == ("error", "ZeroDivisionError")
