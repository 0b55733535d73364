"""Encryption at rest for personal data (MultiFernet, so keys can rotate).

Keys come from DATA_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first). In development
with none set, a key file is created under DATA_DIR with owner-only permission, and a warning is
logged; production refuses to start without keys (see bot/settings.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)
KEY_FILE = "encryption.key"


class Cipher:
    """Encrypts text with the newest key; decrypts with any configured key."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._keys = list(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str | None:
        """The text, or None when no configured key opens it (never the token in an error)."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            return None

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def derive_key(self, label: bytes) -> bytes:
        """A separate key for another purpose (signing links), derived from the newest key."""
        return hashlib.sha256(label + b"\x00" + self._keys[0]).digest()



def development_key(data_dir: Path) -> bytes:
    """The key in DATA_DIR/encryption.key, created (mode 0600) on first use."""
    path = data_dir / KEY_FILE
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    log.warning("no DATA_ENCRYPTION_KEYS set: created a development key file in DATA_DIR; set real keys in production")
    return key


def cipher_from_settings(settings) -> Cipher:
    if settings.data_encryption_keys is not None:
        keys = [k.strip().encode("ascii") for k in settings.data_encryption_keys.get_secret_value().split(",") if k.strip()]
        return Cipher(keys)
    return Cipher([development_key(settings.data_dir)])
