"""Argon2id password hashing (argon2-cffi) with transparent re-hashing when the cost changes."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from agents_meetings.settings import get_settings

# A real hash of a random password: verifying against it when the user does not exist keeps
# login time the same for known and unknown emails (no account enumeration by timing).
_DUMMY_PASSWORD = "dummy-password-for-timing-equalisation"  # noqa: S105


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    settings = get_settings()
    return PasswordHasher(time_cost=settings.password_hash_time_cost, memory_cost=settings.password_hash_memory_kib)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(_DUMMY_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        _hasher().verify(_dummy_hash(), _DUMMY_PASSWORD)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def check_password_strength(password: str) -> list[str]:
    """Problems with a new password; the full policy (spec 3.1) arrives with the identity issue."""
    problems = []
    if len(password) < 8:
        problems.append("at least 8 characters")
    if len(password) > 256:
        problems.append("at most 256 characters")
    return problems
