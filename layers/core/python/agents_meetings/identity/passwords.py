"""Argon2id password hashing (argon2-cffi) with transparent re-hashing, and the password policy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from agents_meetings.errors import Unprocessable
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


MIN_LENGTH = 12
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list (data/README.md), loaded on first use and kept for the container's life."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def is_common_password(password: str) -> bool:
    return password.lower() in common_passwords()


def check_password_strength(password: str) -> list[str]:
    """Every rule of the policy (spec 3.1) the password breaks, in a fixed order; empty if none."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"at most {MAX_LENGTH} characters")
    if not any(c.isupper() for c in password):
        problems.append("an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("a digit")
    if not any(not c.isalnum() and not c.isspace() for c in password):
        problems.append("a symbol")
    if is_common_password(password):
        problems.append("not a commonly used password")
    return problems


def require_strong_password(password: str) -> None:
    """Every path that sets a password goes through here: 422 ``weak_password`` listing each unmet rule."""
    problems = check_password_strength(password)
    if problems:
        raise Unprocessable(
            "Password is too weak; it needs " + ", ".join(problems) + ".",
            code="weak_password",
            details={"problems": problems},
        )
