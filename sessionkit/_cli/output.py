"""What the CLI prints: results as JSON on stdout, errors as JSON on stderr, and the exit codes."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..errors import (
    APIError,
    ConnectionError,
    InvalidRequestError,
    RequestTimeoutError,
    ResponseValidationError,
    SessionkitError,
)
from ..result import Err, Ok, Result
from .jsonout import to_json

__all__ = ["EXIT_OK", "EXIT_API", "EXIT_USAGE", "EXIT_CONNECTION", "UsageError", "dumps", "error_json", "exit_code"]

EXIT_OK = 0
EXIT_API = 1  # the server answered, but not with success (or with a body that does not decode)
EXIT_USAGE = 2  # bad arguments or input: nothing was sent
EXIT_CONNECTION = 3  # the server could not be reached in time


class UsageError(Exception):
    """Bad command-line input (an unreadable or non-JSON body, a bad flag)."""


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON of a model, a list of models or plain data: wire names, ISO datetimes, any depth."""
    text = to_json(value, indent=indent)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (say from a server's `\ud800`): print it escaped
            text = to_json(value, indent=indent, ascii_only=True)
    return text


def error_json(error: BaseException) -> dict[str, Any]:
    """The JSON form of an error: type name, message, status and body when the server answered."""
    out: dict[str, Any] = {"error": "UsageError" if isinstance(error, UsageError) else type(error).__name__}
    out["message"] = error.message if isinstance(error, SessionkitError) else str(error)
    if isinstance(error, (APIError, ResponseValidationError)):
        out["status"] = error.status
    if isinstance(error, APIError):
        out["body"] = error.body if error.body is not None else (error.raw_text or None)
    if isinstance(error, (InvalidRequestError, ResponseValidationError)) and error.field_path:
        out["field_path"] = error.field_path
    if isinstance(error, SessionkitError):
        out["operation_id"] = error.operation_id
        out["attempts"] = error.attempts
    return out


def exit_code(error: BaseException) -> int:
    """1 for an API error, 2 for usage, 3 for connection or timeout."""
    if isinstance(error, (UsageError, InvalidRequestError)):
        return EXIT_USAGE
    if isinstance(error, (ConnectionError, RequestTimeoutError)):
        return EXIT_CONNECTION
    return EXIT_API


def print_error(error: BaseException, stream: TextIO | None = None) -> int:
    """Write the error's JSON on stderr and return its exit code."""
    print(dumps(error_json(error)), file=stream or sys.stderr)
    return exit_code(error)


def print_result(result: Result[Any, SessionkitError]) -> int:
    """An `Ok` value as JSON on stdout (exit 0), or the error on stderr (its exit code)."""
    match result:
        case Ok(value):
            print(dumps(value, indent=2))
            return EXIT_OK
        case Err(error):
            return print_error(error)


# Line breaks to `str.splitlines()` that JSON leaves raw; outside strings JSON cannot hold them, so
# escaping them in the text is safe, and keeps one result on one line for any reader.
_BREAKS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def ndjson_line(value: Any) -> str:
    """`value` as JSON on exactly one line, whatever line breaks its strings hold."""
    line = dumps(value)
    return line if line.isascii() else line.translate(_BREAKS)


def batch_line(index: int, result: Result[Any, Exception]) -> str:
    """One NDJSON line of batch output: `{"index", "ok"}` or `{"index", "error"}`.

    A result that cannot be written (a bug in a model's value) is still a line, naming why, so no
    finished line ever goes missing from the output.
    """
    try:
        match result:
            case Ok(value):
                return ndjson_line({"index": index, "ok": value})
            case Err(error):
                return ndjson_line({"index": index, "error": error_json(error)})
    except Exception as exc:
        reason = f"the result could not be written as JSON: {type(exc).__name__}: {exc}"
        return ndjson_line({"index": index, "error": {"error": "OutputError", "message": reason[:1000]}})
