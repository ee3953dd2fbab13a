"""Devin's attachments for `FakeDevin` and `FakeDevinV3`: files uploaded to disk (never whole in
memory), presigned storage URLs that expire, and the storage route that serves them.

A download is a 307 to `<storage>/_storage/<uuid>/<name>?expires=...&signature=...`, valid 60
seconds, as Devin's presigned URLs are. Like a storage service, that route takes no API key: a
request that carries an `Authorization` header is refused (400), and so is a bad or expired
signature (403).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import shutil
import tempfile
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from ._server import receive_upload

__all__ = ["AttachmentStore", "Stored"]

PRESIGNED_SECONDS = 60
_LINE = re.compile(r'^ATTACHMENT:"([^"\r\n]+)"$', re.MULTILINE)


@dataclass(frozen=True)
class Stored:
    """One stored file: its id (the `uuid` of its URLs), name, size and where it lies."""

    attachment_id: str
    name: str
    size: int
    path: Path


class AttachmentStore:
    """The files of one fake, under a temporary folder removed with the fake."""

    def __init__(self) -> None:
        root = Path(tempfile.mkdtemp(prefix="fakedevin-"))
        self.root = root
        self._cleanup = weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)
        self._key = secrets.token_bytes(32)
        self.files: dict[str, Stored] = {}

    def clear(self) -> None:
        self.files.clear()
        for child in self.root.iterdir():
            shutil.rmtree(child, ignore_errors=True)

    async def receive(self, request: web.Request, limit: int | None) -> Stored:
        """Stream the request's multipart `file` to disk (`UploadRefused` for a bad upload)."""
        attachment_id = str(uuid.uuid4())
        name, path, size = await receive_upload(request, self.root / attachment_id, limit=limit)
        stored = self.files[attachment_id] = Stored(attachment_id, name, size, path)
        return stored

    def add(self, name: str, data: bytes) -> Stored:
        """Store a file as if Devin had made it."""
        attachment_id = str(uuid.uuid4())
        folder = self.root / attachment_id
        folder.mkdir()
        path = folder / os.path.basename(name)
        path.write_bytes(data)
        stored = self.files[attachment_id] = Stored(attachment_id, path.name, len(data), path)
        return stored

    def find(self, attachment_id: str, name: str) -> Stored | None:
        stored = self.files.get(attachment_id)
        return stored if stored is not None and stored.name == name else None

    def of_url(self, url: str) -> Stored | None:
        """The stored file a URL of this fake names (`.../attachments/<uuid>/<name>`), if any."""
        parts = urlsplit(url).path.split("/")
        if len(parts) < 3 or parts[-3] != "attachments":
            return None
        return self.find(unquote(parts[-2]), unquote(parts[-1]))

    @staticmethod
    def lines(text: str) -> list[str]:
        """The URLs of a prompt's `ATTACHMENT:"<url>"` lines (a line holding only that)."""
        return _LINE.findall(text)

    def _signature(self, stored: Stored, expires: int) -> str:
        message = f"{stored.attachment_id}/{stored.name}/{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def presigned(self, stored: Stored, storage_url: str, now: float) -> str:
        """A storage URL for `stored`, valid `PRESIGNED_SECONDS` from `now` (wall time)."""
        expires = int(now) + PRESIGNED_SECONDS
        path = f"/_storage/{quote(stored.attachment_id, safe='')}/{quote(stored.name, safe='')}"
        return f"{storage_url}{path}?expires={expires}&signature={self._signature(stored, expires)}"

    def serve(self, request: web.Request, now: float) -> web.StreamResponse:
        """The storage route: the file, streamed from disk, for a valid presigned URL without a key."""
        if "Authorization" in request.headers:
            text = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter is supported"
            return web.Response(status=400, text=text, content_type="application/xml")
        stored = self.find(request.match_info["uuid"], request.match_info["name"])
        expires = request.query.get("expires", "")
        signature = request.query.get("signature", "")
        valid = (
            stored is not None
            and expires.isdigit()
            and int(expires) >= now
            and hmac.compare_digest(signature.encode(), self._signature(stored, int(expires)).encode())
        )
        if stored is None or not valid:
            return web.Response(status=403, text="Request has expired or the signature does not match")
        return web.FileResponse(stored.path, chunk_size=256 * 1024)
