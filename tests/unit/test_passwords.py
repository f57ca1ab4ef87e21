"""Argon2id password hashing, verification and re-hash detection (the policy: test_password_policy.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agents_meetings.identity import passwords
from agents_meetings.settings import get_settings, reset_settings
from argon2 import PasswordHasher

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _fresh_hasher() -> Iterator[None]:
    reset_settings()
    passwords._hasher.cache_clear()
    passwords._dummy_hash.cache_clear()
    yield
    passwords._hasher.cache_clear()
    passwords._dummy_hash.cache_clear()


def test_a_hash_is_argon2id_with_the_configured_cost() -> None:
    settings = get_settings()
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert f"m={settings.password_hash_memory_kib},t={settings.password_hash_time_cost}," in hashed
    assert "correct horse battery" not in hashed


def test_the_same_password_hashes_differently_each_time() -> None:
    assert passwords.hash_password("same password") != passwords.hash_password("same password")


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(hashed, "correct horse battery") is True
    assert passwords.verify_password(hashed, "correct horse batterY") is False
    assert passwords.verify_password(hashed, "") is False


def test_verifying_against_no_hash_fails_but_still_does_the_work() -> None:
    assert passwords.verify_password(None, "anything") is False
    assert passwords._dummy_hash.cache_info().currsize == 1, "the dummy hash was verified (equal timing)"


@pytest.mark.parametrize("stored", ["", "not-a-hash", "$argon2id$v=19$m=64,t=1,p=4$broken"])
def test_a_corrupt_stored_hash_fails_verification_without_raising(stored: str) -> None:
    assert passwords.verify_password(stored, "anything") is False


def test_a_hash_made_with_another_cost_needs_rehashing() -> None:
    assert passwords.needs_rehash(passwords.hash_password("pw-123456")) is False
    older = PasswordHasher(time_cost=2, memory_cost=128).hash("pw-123456")
    assert passwords.needs_rehash(older) is True
    assert passwords.verify_password(older, "pw-123456") is True, "old hashes keep verifying"
