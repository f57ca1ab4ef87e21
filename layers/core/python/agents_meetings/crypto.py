"""Envelope encryption of small secrets at rest: AES-256-GCM under data keys that KMS issues.

A sealed value is ``v1.<encrypted data key>.<nonce>.<ciphertext+tag>`` (URL-safe base64 parts): KMS
holds the key-encryption key, DynamoDB holds only ciphertext. The same code runs against moto's
KMS in the local runtime and the tests, where the "local key" is a key in the embedded AWS.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from agents_meetings.aws_clients import aws_client
from agents_meetings.settings import Settings, get_settings

FORMAT_VERSION = "v1"
# A generated data key seals values for at most this long / this many values, then a new one is
# asked for: few KMS calls, yet a bounded amount of data under one data key.
DATA_KEY_REUSE_SECONDS = 300
DATA_KEY_REUSE_COUNT = 1000
# Plaintext data keys opened by KMS are cached this long (per container), keyed by their ciphertext.
DECRYPTED_KEY_CACHE_SECONDS = 300
DECRYPTED_KEY_CACHE_SIZE = 256


class DecryptionFailed(Exception):
    """The sealed value is malformed, tampered with, or bound to another context."""


@dataclass
class _DataKey:
    plaintext: bytes
    encrypted: bytes
    created: float
    uses: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class EnvelopeCipher:
    """Seals and opens strings; ``context`` (e.g. user id and field) is bound as AES-GCM associated
    data, so a value copied to another user's item or field does not open."""

    def __init__(self, settings: Settings | None = None, kms_client: Any = None) -> None:
        self._settings = settings or get_settings()
        self._kms = kms_client
        self._lock = threading.Lock()
        self._current: _DataKey | None = None
        self._opened: OrderedDict[bytes, tuple[bytes, float]] = OrderedDict()

    @property
    def kms(self) -> Any:
        if self._kms is None:
            self._kms = aws_client("kms", settings=self._settings)
        return self._kms

    def _kms_context(self) -> dict[str, str]:
        return {"application": "agents-meetings", "purpose": "secrets-at-rest"}

    def _data_key(self) -> _DataKey:
        now = time.monotonic()
        with self._lock:
            key = self._current
            if key is None or now - key.created > DATA_KEY_REUSE_SECONDS or key.uses >= DATA_KEY_REUSE_COUNT:
                response = self.kms.generate_data_key(
                    KeyId=self._settings.data_key_id, KeySpec="AES_256", EncryptionContext=self._kms_context()
                )
                key = _DataKey(response["Plaintext"], response["CiphertextBlob"], now)
                self._current = key
                self._opened[key.encrypted] = (key.plaintext, now)
            key.uses += 1
            return key

    def _open_data_key(self, encrypted: bytes) -> bytes:
        now = time.monotonic()
        with self._lock:
            cached = self._opened.get(encrypted)
            if cached is not None and now - cached[1] <= DECRYPTED_KEY_CACHE_SECONDS:
                self._opened.move_to_end(encrypted)
                return cached[0]
        try:
            response = self.kms.decrypt(CiphertextBlob=encrypted, EncryptionContext=self._kms_context())
        except self.kms.exceptions.InvalidCiphertextException as exc:
            raise DecryptionFailed("the data key does not open") from exc
        plaintext: bytes = response["Plaintext"]
        with self._lock:
            self._opened[encrypted] = (plaintext, now)
            while len(self._opened) > DECRYPTED_KEY_CACHE_SIZE:
                self._opened.popitem(last=False)
        return plaintext

    def seal(self, plaintext: str, context: str) -> str:
        key = self._data_key()
        nonce = os.urandom(12)
        ciphertext = AESGCM(key.plaintext).encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return ".".join((FORMAT_VERSION, _b64(key.encrypted), _b64(nonce), _b64(ciphertext)))

    def open(self, sealed: str, context: str) -> str:
        try:
            version, encrypted_key, nonce, ciphertext = sealed.split(".")
            if version != FORMAT_VERSION:
                raise ValueError(version)
            key = self._open_data_key(_unb64(encrypted_key))
            return AESGCM(key).decrypt(_unb64(nonce), _unb64(ciphertext), context.encode("utf-8")).decode("utf-8")
        except DecryptionFailed:
            raise
        except Exception as exc:  # malformed text, wrong context, tampered ciphertext
            raise DecryptionFailed("the sealed value does not open") from exc


@lru_cache(maxsize=1)
def secrets_cipher() -> EnvelopeCipher:
    """The container's cipher: one KMS client and one data-key cache per container."""
    return EnvelopeCipher()
