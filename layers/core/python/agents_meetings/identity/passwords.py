"""Argon2id password hashing (argon2-cffi) with transparent re-hashing, and the password policy."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
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


# Leetspeak digits and symbols, read back as the letters they stand for; "1" is an "l" or an "i".
_LEET_AS_L = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t"})
_LEET_AS_I = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t"})
# Affixes are cut one character at a time up to this length, at up to this many changes between
# digits and symbols ("-2024", "!!" in "Footba11-2024!!"), and whole. A bounded number of
# candidates, each a set lookup: no scan of the list, whatever the password's length.
_AFFIX_STEPS = 4


def _non_letter_run(text: Iterable[str]) -> list[str]:
    run = []
    for char in text:
        if char.isalpha():
            break
        run.append(char)
    return run


def _affix_lengths(run: list[str]) -> set[int]:
    """Lengths of affix to cut, ``run`` read from the password's outer end inwards."""
    changes = [i for i in range(1, len(run)) if run[i].isdigit() != run[i - 1].isdigit()]
    return {*range(min(len(run), _AFFIX_STEPS) + 1), *changes[:_AFFIX_STEPS], len(run)}


def common_password_candidates(password: str) -> set[str]:
    """The forms of a password that are looked up in the list (NIST SP 800-63B blocklist guidance):
    case-folded, without digits and symbols added at either end, and with leetspeak read back
    (``P@ssw0rd2024!`` -> ``password``)."""
    folded = unicodedata.normalize("NFKC", password).casefold()
    leading = _non_letter_run(folded)
    trailing = _non_letter_run(reversed(folded)) if len(leading) < len(folded) else []
    candidates = {folded}
    for start in _affix_lengths(leading):
        for cut in _affix_lengths(trailing):
            core = folded[start : len(folded) - cut]
            if core:
                candidates.update((core, core.translate(_LEET_AS_L), core.translate(_LEET_AS_I)))
    return candidates


def is_common_password(password: str) -> bool:
    common = common_passwords()
    return any(candidate in common for candidate in common_password_candidates(password))


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
