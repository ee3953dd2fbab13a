"""Request bodies other than JSON: multipart forms whose file parts stream from their source.

The pipeline sends a JSON body as bytes. Any other body is a `Body`, which builds a fresh aiohttp
payload for every attempt (and redirect hop), so a retry re-sends it from the start. A body whose
source can be read only once (an async iterator) is not `replayable`: a call carrying one is sent
once and never retried.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import IO, Any, ClassVar, Union

import aiohttp
from aiohttp import payload as aiohttp_payload

__all__ = ["Body", "Multipart", "Upload", "UploadSource"]

UploadSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, AsyncIterable[bytes]]
"""What an `Upload` reads: a file path, bytes, or an async iterable of byte chunks."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_OCTET_STREAM = "application/octet-stream"
_FILE_CHUNK = 1 << 18


class Upload:
    """A file part of a multipart body, streamed from `source` when the request is sent.

    `source` is a path (read in chunks from disk, never whole; `filename` defaults to its base
    name), bytes, or an async iterable of bytes (read once, so the call is never retried).
    """

    __slots__ = ("content_type", "filename", "source")
    # How `scripts/gen_params.py` writes this type in a `...Params` twin: the model or its sources.
    __params_form__: ClassVar[tuple[str, ...]] = ("Upload", "UploadSource")

    source: str | bytes | AsyncIterable[bytes]
    filename: str
    content_type: str

    def __init__(self, source: UploadSource, *, filename: str | None = None, content_type: str | None = None) -> None:
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.source = bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if not isinstance(path, str):  # pyright: ignore[reportUnnecessaryIsInstance] - a bytes PathLike
                raise TypeError("an upload path must be text, not bytes")
            self.source = path
            filename = filename if filename is not None else os.path.basename(path)
        elif isinstance(source, AsyncIterable):  # pyright: ignore[reportUnnecessaryIsInstance]
            self.source = source
        else:
            raise TypeError(f"an upload reads a path, bytes or an async iterable of bytes, not {type(source).__name__}")
        if not filename:
            raise ValueError("an upload from bytes or an async iterable needs a filename")
        _check_text("filename", filename)
        if content_type is not None:
            _check_text("content type", content_type)
        self.filename = filename
        self.content_type = content_type or _OCTET_STREAM

    @classmethod
    def of(cls, value: Upload | UploadSource) -> Upload:
        """`value` itself if it is an `Upload`, else an `Upload` of it."""
        return value if isinstance(value, Upload) else cls(value)

    @property
    def replayable(self) -> bool:
        """Whether the source can be read again for a retry (a path or bytes can, an iterator not)."""
        return isinstance(self.source, (str, bytes))

    def __repr__(self) -> str:
        shown = self.source if isinstance(self.source, str) else f"<{type(self.source).__name__}>"
        return f"Upload({shown!r}, filename={self.filename!r}, content_type={self.content_type!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Upload):
            return NotImplemented
        return (self.source, self.filename, self.content_type) == (other.source, other.filename, other.content_type)

    __hash__ = None  # type: ignore[assignment]  # mutable sources: equal but not hashable


def _check_text(what: str, value: str) -> None:
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"an upload's {what} must be a string, not {type(value).__name__}")
    if _CONTROL.search(value):
        raise ValueError(f"an upload's {what} must not hold control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"an upload's {what} is not valid Unicode (it holds a lone surrogate)") from None


class SourceFailed(Exception):
    """An upload's source failed while it was being sent (the caller's iterator raised, or the file
    shrank); `field` names the part, `cause` is what went wrong."""

    def __init__(self, field: str, reason: str, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.field, self.reason, self.cause = field, reason, cause


class Body:
    """A request body other than bytes: `open()` builds the payload of one attempt, `release()`
    frees what it opened (files), whether or not the attempt sent it all."""

    content_type: str = ""
    replayable: bool = True
    failed: SourceFailed | None = None
    """Set when a source failed while the last attempt sent it (the pipeline reports it, not the
    connection error aiohttp makes of it)."""

    def check(self) -> tuple[str, str] | None:
        """`(field_path, reason)` when the body cannot be sent at all (checked once, before sending)."""
        return None

    def open(self) -> aiohttp_payload.Payload:
        raise NotImplementedError

    def release(self) -> None:
        """Close what the last `open()` opened."""


class Multipart(Body):
    """`multipart/form-data`: text fields and `Upload` file parts, in order."""

    def __init__(self, fields: list[tuple[str, Any]]) -> None:
        self.fields = fields
        self._boundary = uuid.uuid4().hex  # one per call, so every attempt sends the same headers
        self.content_type = f"multipart/form-data; boundary={self._boundary}"
        self.replayable = all(v.replayable for _, v in fields if isinstance(v, Upload))
        self._open: list[IO[bytes]] = []

    def check(self) -> tuple[str, str] | None:
        for name, value in self.fields:
            if isinstance(value, Upload):
                try:
                    _check_text("filename", value.filename)
                    _check_text("content type", value.content_type)
                except (TypeError, ValueError) as exc:
                    return f"$.{name}", str(exc)
            if isinstance(value, Upload) and isinstance(value.source, str):
                try:
                    mode = os.stat(value.source).st_mode
                except OSError as exc:
                    return f"$.{name}", f"cannot read the file to upload: {exc.strerror}"
                if not stat.S_ISREG(mode):
                    return f"$.{name}", "the path to upload is not a regular file"
        return None

    def open(self) -> aiohttp_payload.Payload:
        self.release()
        self.failed = None
        writer = aiohttp.MultipartWriter("form-data", boundary=self._boundary)
        for name, value in self.fields:
            if isinstance(value, Upload):
                part = writer.append_payload(self._payload(name, value))
                # Unquoted: servers read the filename as written (Go does not percent-decode it).
                part.set_content_disposition("form-data", quote_fields=False, name=name, filename=value.filename)
            else:
                part = writer.append(str(value))
                part.set_content_disposition("form-data", quote_fields=False, name=name)
        return writer

    def _payload(self, name: str, upload: Upload) -> aiohttp_payload.Payload:
        source = upload.source
        if isinstance(source, bytes):
            return aiohttp_payload.BytesPayload(source, content_type=upload.content_type)
        if isinstance(source, str):
            file = open(source, "rb")  # noqa: SIM115 - closed by release(), after the attempt
            self._open.append(file)
            return _FilePart(file, upload.content_type, self, name)
        return aiohttp_payload.AsyncIterablePayload(self._watched(name, source), content_type=upload.content_type)

    async def _watched(self, name: str, source: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """`source`'s chunks; what it raises is kept (aiohttp would wrap it in a connection error)."""
        try:
            async for chunk in source:
                yield chunk
        except Exception as exc:
            self.failed = SourceFailed(name, f"the upload's source raised {type(exc).__name__}: {exc}", exc)
            raise

    def release(self) -> None:
        files, self._open = self._open, []
        for file in files:
            file.close()


class _FilePart(aiohttp_payload.Payload):
    """A file sent as exactly the size it had when the request started.

    aiohttp's file payload reads to the end of the file, so a file that grows while it is sent
    puts more bytes on the wire than `Content-Length` announced (a server framing by it would read
    the rest as further requests). This one sends the announced bytes and no more; a file that
    shrinks meanwhile fails the attempt (`SourceFailed`).
    """

    def __init__(self, file: IO[bytes], content_type: str, body: Multipart, name: str) -> None:
        super().__init__(file, content_type=content_type)
        self._file, self._body, self._name = file, body, name
        self._length = os.fstat(file.fileno()).st_size - file.tell()

    @property
    def size(self) -> int:
        return self._length

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a file part is streamed, never decoded")

    async def write(self, writer: Any) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        loop = asyncio.get_running_loop()
        left = self._length if content_length is None else min(self._length, content_length)
        while left > 0:
            chunk = await loop.run_in_executor(None, self._file.read, min(_FILE_CHUNK, left))
            if not chunk:
                reason = f"the file shrank while it was being sent ({left} of its {self._length} bytes missing)"
                self._body.failed = SourceFailed(self._name, reason)
                raise self._body.failed
            await writer.write(chunk)
            left -= len(chunk)
