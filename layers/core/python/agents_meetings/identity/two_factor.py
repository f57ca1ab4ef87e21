"""Two-factor authentication: TOTP enrolment, backup codes, SMS codes and the login's second step.

Secrets (TOTP secret, backup-code hashes, phone number) are sealed with ``agents_meetings.crypto``
before they reach DynamoDB. Every "use once" rule is a conditional update, so two concurrent
requests with the same code cannot both succeed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pyotp
import segno
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.crypto import EnvelopeCipher, secrets_cipher
from agents_meetings.errors import Conflict, InvalidRequest, ServiceUnavailable, Unauthenticated
from agents_meetings.identity.passwords import hash_password, verify_password
from agents_meetings.identity.sms import SmsSender, sms_sender
from agents_meetings.identity.tokens import TokenPair, TokenService, revoke
from agents_meetings.observability import emit_dimensioned
from agents_meetings.tables import UserModel, UserTwoFactorModel
from agents_meetings.users.service import ensure_can_sign_in

ISSUER = "Agents-Meetings"
TOTP_STEP_SECONDS = 30
# Codes of the previous and next time-step are accepted too: phones' clocks drift.
TOTP_VALID_WINDOW = 1
BACKUP_CODE_COUNT = 10
BACKUP_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # base32-like, without 0/O and 1/I
BACKUP_CODE_LENGTH = 10
SMS_CODE_TTL = timedelta(minutes=10)
SMS_SEND_WINDOW = timedelta(minutes=10)
SMS_SENDS_PER_WINDOW = 3
SMS_MAX_ATTEMPTS = 5
# Wrong codes at the login's second step: at most this many per window, then 429 until it ends.
FAILED_LOGINS_PER_WINDOW = 10
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
E164 = re.compile(r"^\+[1-9]\d{7,14}$")

Method = Literal["totp", "backup_code", "sms"]


class SmsSendLimited(ServiceUnavailable):
    """Too many SMS codes asked for: 429 with Retry-After (the handler adds it for this family)."""

    status_code = 429
    default_code = "sms_rate_limited"


class TwoFactorLocked(ServiceUnavailable):
    status_code = 429
    default_code = "two_factor_locked"


class TwoFactorRequired(Exception):
    """Raised by the password step of a login when the account has 2FA: answer with a challenge."""

    def __init__(self, challenge_token: str, methods: list[str]) -> None:
        super().__init__("two-factor authentication required")
        self.challenge_token = challenge_token
        self.methods = methods


@dataclass(frozen=True)
class Enrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def signed_in(method: str, user_id: str) -> None:
    """``SignIns`` by first factor (password, oauth, saml, ldap), counted when it is accepted; an
    account with 2FA also counts ``TwoFactorUsed`` by method when its code is."""
    emit_dimensioned({"SignIns": ("Count", 1)}, {"method": method}, {"user_id": user_id})


def _timestep(moment_seconds: float) -> int:
    return int(moment_seconds) // TOTP_STEP_SECONDS


def normalise_backup_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def hash_backup_code(user_id: str, code: str) -> str:
    # Backup codes carry 50 random bits, so a fast hash suffices (slow hashes protect guessable
    # passwords); the user id salts it, and the list of hashes is itself sealed with KMS.
    return hashlib.sha256(f"{user_id}:{normalise_backup_code(code)}".encode()).hexdigest()


def new_backup_code() -> str:
    raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def find_two_factor(user_id: str) -> UserTwoFactorModel | None:
    try:
        return UserTwoFactorModel.get(user_id, consistent_read=True)
    except DoesNotExist:
        return None


def two_factor_enabled(user_id: str) -> bool:
    item = find_two_factor(user_id)
    return bool(item and item.is_enabled)


def login_methods(item: UserTwoFactorModel) -> list[str]:
    return ["totp", "backup_code", *(["sms"] if item.sms_phone else [])]


class TwoFactorService:
    def __init__(
        self,
        tokens: TokenService | None = None,
        cipher: EnvelopeCipher | None = None,
        sms: SmsSender | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self._tokens = tokens or TokenService()
        self._cipher = cipher or secrets_cipher()
        self._sms = sms or sms_sender()
        self._audit = audit or AuditLog()

    # --- sealing ------------------------------------------------------------------------------

    def _seal(self, user_id: str, field: str, value: str) -> str:
        return self._cipher.seal(value, f"user-2fa:{user_id}:{field}")

    def _open(self, user_id: str, field: str, sealed: str) -> str:
        return self._cipher.open(sealed, f"user-2fa:{user_id}:{field}")

    # --- enrolment ----------------------------------------------------------------------------

    def begin_enrolment(self, user: UserModel, actor: Actor) -> Enrolment:
        """A new TOTP secret, stored sealed and inactive until ``activate`` sees a code from it."""
        secret = pyotp.random_base32()
        now = utcnow()
        item = UserTwoFactorModel(
            user_id=user.id,
            is_enabled=False,
            secret_key=self._seal(user.id, "secret_key", secret),
            backup_codes_version=0,
            created_at=now,
            updated_at=now,
        )
        try:
            # Never overwrite an active enrolment: that would drop the second factor silently.
            item.save(
                condition=UserTwoFactorModel.user_id.does_not_exist() | (UserTwoFactorModel.is_enabled == False)  # noqa: E712
            )
        except PutError as exc:
            if is_condition_failure(exc):
                raise Conflict(
                    "Two-factor authentication is already on; disable it first to enrol a new device.",
                    code="two_factor_already_enabled",
                ) from exc
            raise
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
        qr_svg = segno.make(uri, error="m").svg_data_uri(scale=4)
        self._audit.record(actor, "auth.2fa_enrolment_started", "user", user.id)
        return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg)

    def activate(self, user: UserModel, code: str, actor: Actor) -> list[str]:
        """Turn 2FA on with a first code from the authenticator; returns the backup codes (shown once)."""
        item = find_two_factor(user.id)
        if item is None or not item.secret_key:
            raise Conflict("Start with POST /api/v1/auth/2fa/enable.", code="two_factor_not_started")
        if item.is_enabled:
            raise Conflict("Two-factor authentication is already on.", code="two_factor_already_enabled")
        step = self._matching_timestep(user.id, item, code)
        if step is None:
            raise InvalidRequest("That code is not valid.", code="invalid_two_factor_code")
        codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
        hashes = [hash_backup_code(user.id, c) for c in codes]
        now = utcnow()
        try:
            item.update(
                actions=[
                    UserTwoFactorModel.is_enabled.set(True),
                    UserTwoFactorModel.backup_codes.set(self._seal(user.id, "backup_codes", json.dumps(hashes))),
                    UserTwoFactorModel.backup_codes_version.add(1),
                    UserTwoFactorModel.last_used_timestep.set(step),
                    UserTwoFactorModel.enabled_at.set(now),
                    UserTwoFactorModel.updated_at.set(now),
                ],
                condition=(UserTwoFactorModel.is_enabled == False)  # noqa: E712
                & (UserTwoFactorModel.secret_key == item.secret_key),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise Conflict("Two-factor enrolment changed meanwhile; try again.", code="two_factor_changed") from exc
            raise
        self._audit.record(actor, "auth.2fa_enabled", "user", user.id)
        return codes

    def disable(self, user: UserModel, code: str, actor: Actor) -> None:
        """Turn 2FA off; needs a current authenticator code or an unused backup code."""
        item = find_two_factor(user.id)
        if item is None or not item.is_enabled:
            raise Conflict("Two-factor authentication is not on.", code="two_factor_not_enabled")
        method = self._accept_any(user.id, item, code)
        if method is None:
            raise InvalidRequest("That code is not valid.", code="invalid_two_factor_code")
        item.delete()
        self._audit.record(actor, "auth.2fa_disabled", "user", user.id, {"method": method})

    def enroll_sms(self, user: UserModel, phone_number: str, actor: Actor) -> int:
        """Text a confirmation code to a new number; it can receive sign-in codes once
        ``confirm_sms`` gets that code back. Returns the code's lifetime in seconds."""
        if not E164.match(phone_number):
            raise InvalidRequest("Give the number in E.164 form, e.g. +14155550123.", code="invalid_phone_number")
        item = find_two_factor(user.id)
        if item is None or not item.is_enabled:
            raise Conflict(
                "Turn on authenticator-app 2FA first (POST /api/v1/auth/2fa/enable, then /verify).",
                code="two_factor_not_enabled",
            )
        self._count_sms_send(item)
        code = f"{secrets.randbelow(1_000_000):06d}"
        item.update(
            actions=[
                UserTwoFactorModel.sms_pending_phone.set(self._seal(user.id, "sms_phone", phone_number)),
                UserTwoFactorModel.sms_pending_code_hash.set(hash_password(code)),
                UserTwoFactorModel.sms_pending_expires_at.set(utcnow() + SMS_CODE_TTL),
                UserTwoFactorModel.sms_pending_attempts.set(0),
                UserTwoFactorModel.updated_at.set(utcnow()),
            ]
        )
        minutes = int(SMS_CODE_TTL.total_seconds() // 60)
        self._sms.send(
            phone_number, f"Your Agents-Meetings code to confirm this phone is {code}. It expires in {minutes} minutes."
        )
        self._audit.record(actor, "auth.2fa_sms_confirmation_sent", "user", user.id, {"phone": phone_number[-4:]})
        return int(SMS_CODE_TTL.total_seconds())

    def confirm_sms(self, user: UserModel, code: str, actor: Actor) -> None:
        """The code texted by ``enroll_sms`` proves the number reaches the user: enrol it."""
        item = find_two_factor(user.id)
        if item is None or not item.is_enabled or not item.sms_pending_phone:
            raise Conflict("No phone number is waiting for confirmation.", code="sms_not_pending")
        pending_phone = item.sms_pending_phone
        if not self._consume_code(item, code, _PENDING_SMS_CODE):
            raise InvalidRequest("That code is not valid.", code="invalid_two_factor_code")
        item.update(
            actions=[
                UserTwoFactorModel.sms_phone.set(pending_phone),
                UserTwoFactorModel.sms_pending_phone.remove(),
                UserTwoFactorModel.updated_at.set(utcnow()),
            ]
        )
        phone = self._open(user.id, "sms_phone", pending_phone)
        self._audit.record(actor, "auth.2fa_sms_enrolled", "user", user.id, {"phone": phone[-4:]})

    # --- login -----------------------------------------------------------------------------------

    def login_challenge(self, user: UserModel) -> TwoFactorRequired | None:
        """The second step a login needs, or None when the account has no 2FA."""
        item = find_two_factor(user.id)
        if item is None or not item.is_enabled:
            return None
        return TwoFactorRequired(self._tokens.issue_challenge(user.id, user.role), login_methods(item))

    def send_sms_code(self, challenge_token: str) -> int:
        """Text a fresh 6-digit code to the enrolled phone; returns its lifetime in seconds."""
        claims = self._tokens.decode(challenge_token, "2fa_challenge")
        item = find_two_factor(claims.subject)
        if item is None or not item.is_enabled or not item.sms_phone:
            raise Conflict("No phone number is enrolled for SMS codes.", code="sms_not_enrolled")
        self._count_sms_send(item)
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = utcnow()
        # Six digits are guessable offline: the stored hash is a slow one (argon2id).
        item.update(
            actions=[
                UserTwoFactorModel.sms_code_hash.set(hash_password(code)),
                UserTwoFactorModel.sms_code_expires_at.set(now + SMS_CODE_TTL),
                UserTwoFactorModel.sms_code_attempts.set(0),
            ]
        )
        phone = self._open(item.user_id, "sms_phone", item.sms_phone)
        minutes = int(SMS_CODE_TTL.total_seconds() // 60)
        self._sms.send(phone, f"Your Agents-Meetings sign-in code is {code}. It expires in {minutes} minutes.")
        self._audit.record(
            Actor(claims.subject, claims.role), "auth.2fa_sms_sent", "user", claims.subject, {"phone": phone[-4:]}
        )
        return int(SMS_CODE_TTL.total_seconds())

    def complete_login(
        self, challenge_token: str, code: str, method: Method, *, actor_ip: str | None = None
    ) -> tuple[UserModel, TokenPair]:
        claims = self._tokens.decode(challenge_token, "2fa_challenge")
        try:
            user = UserModel.get(claims.subject, consistent_read=True)
        except DoesNotExist as exc:
            raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
        ensure_can_sign_in(user)
        item = find_two_factor(user.id)
        if item is None or not item.is_enabled:
            raise Unauthenticated("Two-factor authentication is no longer on; sign in again.", code="invalid_token")
        self._refuse_while_locked(item)
        accepted = {
            "totp": lambda: self._accept_totp(user.id, item, code),
            "backup_code": lambda: self._consume_backup_code(user.id, code),
            "sms": lambda: self._consume_sms_code(item, code),
        }[method]()
        if not accepted:
            self._count_failed_login(item)
            raise Unauthenticated("That code is not valid.", code="invalid_two_factor_code")
        # The challenge is single use: of two logins racing with it, one wins.
        if not revoke(claims, "2fa_login", only_if_unused=True):
            raise Unauthenticated("This sign-in challenge was already used.", code="token_revoked")
        pair = self._tokens.issue_pair(user.id, user.role)
        emit_dimensioned({"TwoFactorUsed": ("Count", 1)}, {"method": method}, {"user_id": user.id})
        actor = Actor(user.id, user.role, actor_ip)
        self._audit.record(actor, "auth.login", "user", user.id, {"second_factor": method})
        return user, pair

    # --- codes --------------------------------------------------------------------------------

    def _matching_timestep(self, user_id: str, item: UserTwoFactorModel, code: str) -> int | None:
        code = code.strip()
        if not (len(code) == 6 and code.isdigit()) or not item.secret_key:
            return None
        totp = pyotp.TOTP(self._open(user_id, "secret_key", item.secret_key))
        current = _timestep(utcnow().timestamp())
        for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
            # pyotp checks against the platform clock's time, never the system's.
            if totp.verify(code, for_time=step * TOTP_STEP_SECONDS):
                return step
        return None

    def _accept_totp(self, user_id: str, item: UserTwoFactorModel, code: str) -> bool:
        """A valid code whose time-step is later than the last accepted one (replays refused)."""
        step = self._matching_timestep(user_id, item, code)
        if step is None:
            return False
        try:
            item.update(
                actions=[UserTwoFactorModel.last_used_timestep.set(step)],
                condition=(UserTwoFactorModel.is_enabled == True)  # noqa: E712
                & (
                    UserTwoFactorModel.last_used_timestep.does_not_exist()
                    | (UserTwoFactorModel.last_used_timestep < step)
                ),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _consume_backup_code(self, user_id: str, code: str) -> bool:
        wanted = hash_backup_code(user_id, code)
        for _ in range(5):  # retried only when another change to the list raced this one
            item = find_two_factor(user_id)
            if item is None or not item.is_enabled or not item.backup_codes:
                return False
            hashes: list[str] = json.loads(self._open(user_id, "backup_codes", item.backup_codes))
            matches = [h for h in hashes if hmac.compare_digest(h, wanted)]
            if not matches:
                return False
            remaining = [h for h in hashes if h != matches[0]]
            try:
                item.update(
                    actions=[
                        UserTwoFactorModel.backup_codes.set(self._seal(user_id, "backup_codes", json.dumps(remaining))),
                        UserTwoFactorModel.backup_codes_version.add(1),
                        UserTwoFactorModel.updated_at.set(utcnow()),
                    ],
                    condition=UserTwoFactorModel.backup_codes_version == item.backup_codes_version,
                )
            except UpdateError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return True
        return False

    def _consume_sms_code(self, item: UserTwoFactorModel, code: str) -> bool:
        return self._consume_code(item, code, _LOGIN_SMS_CODE)

    def _consume_code(self, item: UserTwoFactorModel, code: str, fields: _CodeFields) -> bool:
        """Accept a texted code once: unexpired, under the attempt limit, matching its slow hash."""
        code_hash, expires_at, attempts = fields
        stored = getattr(item, code_hash.attr_name)
        expires = getattr(item, expires_at.attr_name)
        if (
            not stored
            or expires is None
            or utcnow() >= expires
            or getattr(item, attempts.attr_name) >= SMS_MAX_ATTEMPTS
        ):
            return False
        code = code.strip()
        if not (len(code) == 6 and code.isdigit()) or not verify_password(stored, code):
            # Wrong guesses are counted: after SMS_MAX_ATTEMPTS the code is dead.
            item.update(actions=[attempts.add(1)])
            return False
        try:
            item.update(actions=[code_hash.remove(), expires_at.remove()], condition=code_hash == stored)
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False  # used by a concurrent request
            raise
        return True

    def _accept_any(self, user_id: str, item: UserTwoFactorModel, code: str) -> Method | None:
        if self._accept_totp(user_id, item, code):
            return "totp"
        if self._consume_backup_code(user_id, code):
            return "backup_code"
        return None

    def _refuse_while_locked(self, item: UserTwoFactorModel) -> None:
        now = utcnow()
        start = item.failed_window_start
        if start is None or start <= now - FAILED_LOGIN_WINDOW or item.failed_attempts < FAILED_LOGINS_PER_WINDOW:
            return
        retry_after = max(1, int((start + FAILED_LOGIN_WINDOW - now).total_seconds()) + 1)
        raise TwoFactorLocked(
            f"Too many wrong codes; try again in {retry_after} seconds.",
            retry_after_seconds=retry_after,
            details={"retry_after_seconds": retry_after},
        )

    def _count_failed_login(self, item: UserTwoFactorModel) -> None:
        # Not counted means a concurrent failure opened a new window a moment ago: counted there.
        _count_in_window(
            item, UserTwoFactorModel.failed_attempts, UserTwoFactorModel.failed_window_start, FAILED_LOGIN_WINDOW
        )

    def _count_sms_send(self, item: UserTwoFactorModel) -> None:
        """At most SMS_SENDS_PER_WINDOW sends per window: one conditional counter update."""
        now = utcnow()
        if not _count_in_window(
            item,
            UserTwoFactorModel.sms_sends,
            UserTwoFactorModel.sms_window_start,
            SMS_SEND_WINDOW,
            limit=SMS_SENDS_PER_WINDOW,
        ):
            current = find_two_factor(item.user_id)
            start = current.sms_window_start if current and current.sms_window_start else now
            retry_after = max(1, int((start + SMS_SEND_WINDOW - now).total_seconds()) + 1)
            raise SmsSendLimited(
                f"At most {SMS_SENDS_PER_WINDOW} codes per {int(SMS_SEND_WINDOW.total_seconds() // 60)} minutes; "
                f"try again in {retry_after} seconds.",
                retry_after_seconds=retry_after,
                details={"retry_after_seconds": retry_after},
            )


_CodeFields = tuple[Any, Any, Any]  # (hash, expires_at, attempts) attributes of a texted code
_LOGIN_SMS_CODE: _CodeFields = (
    UserTwoFactorModel.sms_code_hash,
    UserTwoFactorModel.sms_code_expires_at,
    UserTwoFactorModel.sms_code_attempts,
)
_PENDING_SMS_CODE: _CodeFields = (
    UserTwoFactorModel.sms_pending_code_hash,
    UserTwoFactorModel.sms_pending_expires_at,
    UserTwoFactorModel.sms_pending_attempts,
)


def _count_in_window(
    item: UserTwoFactorModel, count: Any, start: Any, window: timedelta, limit: int | None = None
) -> bool:
    """Add one to ``count`` inside the window ``start`` opened, or open a new window at one; each
    step is one conditional update. Returns False when nothing was counted: with ``limit``, the
    open window is full; without, a concurrent caller opened the new window first."""
    now = utcnow()
    since = now - window
    in_window = start > since
    try:
        item.update(actions=[count.add(1)], condition=in_window if limit is None else in_window & (count < limit))
        return True
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    try:
        item.update(actions=[start.set(now), count.set(1)], condition=start.does_not_exist() | (start <= since))
        return True
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
