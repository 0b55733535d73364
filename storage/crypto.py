"""Encryption at rest for personal data (MultiFernet, so keys can rotate).

Keys come from DATA_ENCRYPTION_KEYS (comma-separated Fernet keys, newest first). In development
with none set, a key file is created under DATA_DIR with owner-only permission, and a warning is
logged; production refuses to start without keys (see bot/settings.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

log = logging.getLogger(__name__)
KEY_FILE = "encryption.key"


class Cipher:
    """Encrypts text with the newest key; decrypts with any configured key."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._keys = list(keys)
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        # Chat ids: deterministic AES-SIV (RFC 5297), one 512-bit key derived from each ring key.
        self._sivs = [AESSIV(HKDF(hashes.SHA256(), 64, salt=None, info=b"chat-id").derive(k)) for k in keys]

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

    def derive_key(self, label: bytes, key: bytes | None = None) -> bytes:
        """A separate key for another purpose (signing links), derived from the newest key."""
        return hashlib.sha256(label + b"\x00" + (key or self._keys[0])).digest()

    def seal(self, data: dict) -> str:
        """A dict of personal fields, encrypted as JSON."""
        return self.encrypt(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def unseal(self, token: str | None) -> dict:
        """The dict sealed by `seal`; empty when erased or unreadable."""
        text = self.decrypt(token) if token else None
        return json.loads(text) if text else {}

    def blind_index(self, value: str, key: bytes | None = None) -> str:
        """A keyed hash of a normalised value (a phone number), to find equal values without storing them."""
        return hmac.new(self.derive_key(b"blind-index", key), value.encode("utf-8"), hashlib.sha256).hexdigest()

    def blind_indexes(self, value: str) -> list[str]:
        """The value's index under every configured key: rows indexed before a key rotation still match."""
        return [self.blind_index(value, key) for key in self._keys]

    def chat_key(self, channel: str, chat_id: str, key: bytes | None = None) -> str:
        """A keyed hash of one conversation (channel and chat), to find its rows without storing who it is."""
        value = f"{channel}:{chat_id}".encode()
        return hmac.new(self.derive_key(b"chat-key", key), value, hashlib.sha256).hexdigest()

    def chat_keys(self, channel: str, chat_id: str) -> list[str]:
        """The conversation's hash under every configured key (rows written before a key rotation)."""
        return [self.chat_key(channel, chat_id, key) for key in self._keys]

    def update_key(self, channel: str, update_id: str, key: bytes | None = None) -> str:
        """A keyed hash of a channel's update id (on Zalo it holds the user id): enough to notice a
        repeated delivery, useless for telling who wrote."""
        value = f"{channel}:{update_id}".encode()
        return hmac.new(self.derive_key(b"update-id", key), value, hashlib.sha256).hexdigest()

    def update_keys(self, channel: str, update_id: str) -> list[str]:
        """The update id's hash under every configured key, newest first (rows written before a rotation)."""
        return _unique(self.update_key(channel, update_id, key) for key in self._keys)

    def question_key(self, normalised: str, key: bytes | None = None) -> str:
        """A keyed hash of an unanswered question's normalised text: equal questions are counted
        together without the text (names, numbers) being readable in the key column."""
        return hmac.new(self.derive_key(b"unanswered", key), normalised.encode("utf-8"), hashlib.sha256).hexdigest()

    def question_keys(self, normalised: str) -> list[str]:
        return _unique(self.question_key(normalised, key) for key in self._keys)

    def limit_key(self, channel: str, chat_id: str, key: bytes | None = None) -> str:
        """A keyed hash of a chat for its limit counters (bot/limits.py)."""
        value = f"{channel}\x00{chat_id}".encode()
        return hmac.new(self.derive_key(b"chat-limits", key), value, hashlib.sha256).hexdigest()

    def limit_keys(self, channel: str, chat_id: str) -> list[str]:
        return _unique(self.limit_key(channel, chat_id, key) for key in self._keys)

    def signatures(self, label: bytes, message: bytes) -> list[str]:
        """HMAC-SHA256 of `message` under the `label` key derived from every configured key, newest
        first: a signature made before a rotation still verifies (download links)."""
        return _unique(hmac.new(self.derive_key(label, key), message, hashlib.sha256).hexdigest() for key in self._keys)

    # -- chat ids: deterministic encryption (equal ids, equal ciphertexts: lookups by equality) ----

    def seal_id(self, value: str) -> str:
        """A chat id, encrypted with the newest key. Deterministic (AES-SIV, no nonce): the same id
        always gives the same text, so rows are found by equality; without the key it says nothing."""
        return _b64(self._sivs[0].encrypt(value.encode("utf-8"), None))

    def seal_ids(self, value: str) -> list[str]:
        """The id sealed under every configured key, newest first: rows written before a rotation match."""
        data = value.encode("utf-8")
        return _unique(_b64(siv.encrypt(data, None)) for siv in self._sivs)

    def open_id(self, token: str) -> str:
        """The chat id in a sealed value (any configured key). UnreadableId when no key opens it:
        an old key was removed before `keys rotate` re-encrypted the ids."""
        try:
            data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise UnreadableId("a stored chat id is not a sealed value") from None
        for siv in self._sivs:
            try:
                return siv.decrypt(data, None).decode("utf-8")
            except (InvalidTag, ValueError):
                continue
        raise UnreadableId("no configured key opens a stored chat id (was a key removed before `keys rotate`?)")

    def rotate_id(self, token: str) -> str:
        return self.seal_id(self.open_id(token))

    def rotate(self, token: str) -> str:
        """The same plaintext, re-encrypted with the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def rotate_bytes(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)


class UnreadableId(ValueError):
    """A sealed chat id that no configured key opens."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unique(values) -> list[str]:
    """In order, without repeats (a key listed twice gives the same hash twice)."""
    return list(dict.fromkeys(values))


def development_key(data_dir: Path) -> bytes:
    """The key in DATA_DIR/encryption.key, created (mode 0600) on first use."""
    from storage.db import PRIVATE_FILE, private_dir

    path = data_dir / KEY_FILE
    private_dir(data_dir)
    if path.exists():
        os.chmod(path, PRIVATE_FILE)  # a key file made by an older version, or copied in with 0644
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key)
    log.warning("no DATA_ENCRYPTION_KEYS set: created a development key file in DATA_DIR; set real keys in production")
    return key


class MissingKeys(RuntimeError):
    """Production without DATA_ENCRYPTION_KEYS: the bot must not start (nor make a key file)."""


MISSING_KEYS_MESSAGE = (
    "DATA_ENCRYPTION_KEYS must be set in production (ENVIRONMENT=production): comma-separated Fernet keys, "
    "newest first. Make one with: python -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\""
)


def cipher_from_settings(settings) -> Cipher:
    keys = []
    if settings.data_encryption_keys is not None:
        keys = [k.strip().encode("ascii") for k in settings.data_encryption_keys.get_secret_value().split(",") if k.strip()]
    if keys:
        return Cipher(keys)
    if str(getattr(settings, "environment", "development")) == "production":
        raise MissingKeys(MISSING_KEYS_MESSAGE)
    return Cipher([development_key(settings.data_dir)])
