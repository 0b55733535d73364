"""One-time, expiring, signed download links, for files a channel cannot send (Zalo).

The file is stored encrypted; the link carries its id, expiry and an HMAC signature; the first
valid download marks it used in the same transaction, so a link works once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from bot.types import Document
from storage.db import transaction
from storage.models import Download, utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storage.crypto import Cipher

ROUTE = "/download/{id}"


@dataclass
class DownloadLinks:
    engine: Engine
    cipher: Cipher
    public_base_url: str
    ttl: timedelta = timedelta(hours=24)

    def _sign(self, file_id: str, expires: int) -> str:
        return self._signatures(file_id, expires)[0]

    def _signatures(self, file_id: str, expires: int) -> list[str]:
        """The link's signature under every key of the ring, newest first: a link made before a
        key rotation still opens (until it expires)."""
        return self.cipher.signatures(b"download-links", f"{file_id}.{expires}".encode())

    def create(self, document: Document) -> str:
        """Stores the file and returns its link (call from a worker thread)."""
        file_id = secrets.token_urlsafe(24)
        expires_at = utcnow() + self.ttl
        sealed = self.cipher.encrypt_bytes(document.content)
        with transaction(self.engine) as session:
            session.add(Download(id=file_id, filename=document.filename, mime=document.mime, content=sealed, expires_at=expires_at))
        expires = int(expires_at.timestamp())
        return f"{self.public_base_url.rstrip('/')}/download/{file_id}?exp={expires}&sig={self._sign(file_id, expires)}"

    def take(self, file_id: str, expires: str, signature: str) -> tuple[int, Download | None, bytes]:
        """(HTTP status, the file, its content); marks it used on success."""
        try:
            expiry = int(expires)
        except ValueError:
            return 403, None, b""
        given = signature.encode("utf-8", "replace")
        if not any([hmac.compare_digest(given, valid.encode()) for valid in self._signatures(file_id, expiry)]):
            return 403, None, b""
        now = utcnow()
        if datetime.fromtimestamp(expiry, UTC) < now:
            return 410, None, b""
        with transaction(self.engine) as session:
            row = session.exec(select(Download).where(Download.id == file_id).with_for_update()).first()
            if row is None or row.used_at is not None or row.expires_at < now:
                return 410, None, b""
            row.used_at = now
            session.add(row)
            return 200, row, self.cipher.decrypt_bytes(row.content)

    def add_routes(self, router) -> None:
        # No HEAD: a link preview or scanner must not use up a one-time link.
        router.add_get(ROUTE, self.serve, allow_head=False)

    async def serve(self, request):
        # aiohttp is imported here, not at module level: `ask` and `chat` never load it.
        import asyncio

        from aiohttp import web

        status, row, content = await asyncio.to_thread(
            self.take, request.match_info["id"], request.query.get("exp", ""), request.query.get("sig", "")
        )
        if status != 200 or row is None:  # 200 comes with its row
            return web.Response(status=status)
        disposition = f"attachment; filename*=UTF-8''{_quote(row.filename)}"
        headers = {
            "Content-Disposition": disposition,
            "Cache-Control": "no-store, private",  # personal data: never kept by a proxy or browser cache
            "X-Content-Type-Options": "nosniff",
        }
        return web.Response(body=content, content_type=row.mime, headers=headers)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)
