"""Two-factor building blocks: envelope encryption, TOTP against the platform clock, backup codes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from agents_meetings import clock
from agents_meetings.crypto import DecryptionFailed, EnvelopeCipher
from agents_meetings.identity.two_factor import (
    BACKUP_CODE_ALPHABET,
    E164,
    TwoFactorService,
    hash_backup_code,
    new_backup_code,
    normalise_backup_code,
)
from agents_meetings.settings import get_settings
from agents_meetings.tables import UserTwoFactorModel
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

pytestmark = pytest.mark.unit


class FakeKms:
    """KMS's data-key API: a master key wraps data keys; counts calls."""

    class exceptions:
        class InvalidCiphertextException(Exception):
            pass

    def __init__(self) -> None:
        self.master = AESGCM(os.urandom(32))
        self.generated = 0
        self.decrypted = 0

    def generate_data_key(self, KeyId: str, KeySpec: str, EncryptionContext: dict[str, str]) -> dict[str, bytes]:
        assert KeySpec == "AES_256" and KeyId == get_settings().data_key_id
        self.generated += 1
        plaintext, nonce = os.urandom(32), os.urandom(12)
        return {
            "Plaintext": plaintext,
            "CiphertextBlob": nonce
            + self.master.encrypt(nonce, plaintext, repr(sorted(EncryptionContext.items())).encode()),
        }

    def decrypt(self, CiphertextBlob: bytes, EncryptionContext: dict[str, str]) -> dict[str, bytes]:
        self.decrypted += 1
        try:
            plaintext = self.master.decrypt(
                CiphertextBlob[:12], CiphertextBlob[12:], repr(sorted(EncryptionContext.items())).encode()
            )
        except Exception as exc:
            raise self.exceptions.InvalidCiphertextException() from exc
        return {"Plaintext": plaintext}


class PlainCipher:
    """Stands in for the envelope cipher where only the 2FA logic is under test."""

    def seal(self, plaintext: str, context: str) -> str:
        return f"{context}|{plaintext}"

    def open(self, sealed: str, context: str) -> str:
        prefix = f"{context}|"
        assert sealed.startswith(prefix)
        return sealed[len(prefix) :]


# --- envelope encryption ----------------------------------------------------------------------


def test_sealed_secrets_open_only_with_their_context_and_hold_no_plaintext() -> None:
    kms = FakeKms()
    cipher = EnvelopeCipher(kms_client=kms)
    sealed = cipher.seal("JBSWY3DPEHPK3PXP", "user-2fa:u1:secret_key")
    assert "JBSWY3DPEHPK3PXP" not in sealed and sealed.startswith("v1.")
    assert cipher.open(sealed, "user-2fa:u1:secret_key") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(DecryptionFailed):
        cipher.open(sealed, "user-2fa:u2:secret_key")  # copied onto another user's item
    version, key, nonce, body = sealed.split(".")
    tampered = ".".join((version, key, nonce, ("A" if body[0] != "A" else "B") + body[1:]))
    with pytest.raises(DecryptionFailed):
        cipher.open(tampered, "user-2fa:u1:secret_key")
    with pytest.raises(DecryptionFailed):
        cipher.open("not-a-sealed-value", "user-2fa:u1:secret_key")


def test_data_keys_are_reused_briefly_and_opened_keys_cached() -> None:
    kms = FakeKms()
    sealer = EnvelopeCipher(kms_client=kms)
    values = [sealer.seal(f"secret-{n}", "ctx") for n in range(20)]
    assert kms.generated == 1  # one data key for a burst of values
    opener = EnvelopeCipher(kms_client=kms)  # another container
    assert [opener.open(value, "ctx") for value in values] == [f"secret-{n}" for n in range(20)]
    assert kms.decrypted == 1  # the data key is opened once, then cached


# --- TOTP ------------------------------------------------------------------------------------------


def _enrolled_item(secret: str) -> UserTwoFactorModel:
    now = datetime.now(UTC)
    return UserTwoFactorModel(
        user_id="u1",
        is_enabled=True,
        secret_key=PlainCipher().seal(secret, "user-2fa:u1:secret_key"),
        created_at=now,
        updated_at=now,
    )


def test_2fa_works_with_authenticator_apps_by_the_platform_clock() -> None:
    secret = pyotp.random_base32()
    service = TwoFactorService(cipher=PlainCipher(), sms=None, audit=None)  # type: ignore[arg-type]
    item = _enrolled_item(secret)
    moment = datetime(2026, 11, 24, 12, 0, 15, tzinfo=UTC)
    clock.set_clock(lambda: moment)
    try:
        step = int(moment.timestamp()) // 30
        app = pyotp.TOTP(secret)  # an authenticator app, showing the code for that moment
        assert service._matching_timestep("u1", item, app.at(moment)) == step
        # One step of drift either way is accepted (phones' clocks), two are not.
        assert service._matching_timestep("u1", item, app.at(moment - timedelta(seconds=30))) == step - 1
        assert service._matching_timestep("u1", item, app.at(moment + timedelta(seconds=30))) == step + 1
        assert service._matching_timestep("u1", item, app.at(moment - timedelta(seconds=90))) is None
        assert service._matching_timestep("u1", item, "12345") is None
        assert service._matching_timestep("u1", item, "abcdef") is None
    finally:
        clock.set_clock(None)


# --- backup codes and phone numbers --------------------------------------------------------------


def test_backup_codes_are_random_readable_and_hashed_per_user() -> None:
    codes = {new_backup_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        left, right = code.split("-")
        assert len(left) == len(right) == 5 and set(left + right) <= set(BACKUP_CODE_ALPHABET)
    code = next(iter(codes))
    assert normalise_backup_code(f" {code.lower().replace('-', '')} ") == code.replace("-", "")
    assert hash_backup_code("u1", code) == hash_backup_code("u1", code.lower())
    assert hash_backup_code("u1", code) != hash_backup_code("u2", code)
    assert code not in hash_backup_code("u1", code)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("+14155550123", True),
        ("+442071838750", True),
        ("14155550123", False),
        ("+0123456789", False),
        ("+1 415 555", False),
    ],
)
def test_phone_numbers_must_be_e164(number: str, valid: bool) -> None:
    assert bool(E164.match(number)) is valid
