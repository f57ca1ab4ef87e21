"""A password after registration (spec 3.1): its age rule for admins, changing it, resetting it by email.

Reset tokens are 256 random bits sent only in the email; the table keeps their SHA-256. A token is
single use, expires after ``PASSWORD_RESET_TTL_SECONDS``, and dies when a newer one is issued, when
another one is used or when the password changes by any path. A completed reset ends every session
of the user (``tokens_valid_after``).
"""

from __future__ import annotations

import hashlib
import html
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import quote

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from agents_meetings.audit import SYSTEM, Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.conditions import is_condition_failure
from agents_meetings.email import EmailMessage, EmailSender
from agents_meetings.errors import DomainError, Forbidden, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.identity.passwords import hash_password, require_strong_password, verify_password
from agents_meetings.identity.service import find_by_email
from agents_meetings.observability import logger, metrics
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import PasswordResetModel, UserModel, transaction_connection
from agents_meetings.users.service import Role, ensure_can_sign_in
from agents_meetings.users.sessions import SessionService

UNKNOWN_ACCOUNT = "unknown"


class InvalidResetToken(DomainError):
    status_code = 400
    default_code = "invalid_reset_token"


def _invalid_token() -> InvalidResetToken:
    # One message for unknown, expired, used and superseded tokens: the caller learns nothing more.
    return InvalidResetToken("This password reset link is invalid or has expired; request a new one.")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def password_set_at(user: UserModel) -> datetime:
    return user.password_changed_at or user.created_at


def password_change_required(user: UserModel, settings: Settings | None = None) -> bool:
    """Admins must change their password every ``ADMIN_PASSWORD_MAX_AGE_DAYS`` (90) days."""
    if user.role != Role.ADMIN.value:
        return False
    max_age = timedelta(days=(settings or get_settings()).admin_password_max_age_days)
    return utcnow() - password_set_at(user) >= max_age


def _to_millisecond(instant: datetime) -> datetime:
    # Tokens record their issue time in whole milliseconds (iat_ms); comparing at that resolution
    # keeps a token issued just after a reset valid.
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


class PasswordService:
    def __init__(
        self,
        events: EventPublisher,
        email: EmailSender,
        audit: AuditLog | None = None,
        settings: Settings | None = None,
    ):
        self._events = events
        self._email = email
        self._audit = audit or AuditLog()
        self._settings = settings or get_settings()

    # --- change ------------------------------------------------------------------------------

    def change_password(self, user: UserModel, current_password: str, new_password: str, *, actor: Actor) -> None:
        if not verify_password(user.password_hash, current_password):
            raise Forbidden("The current password is not correct.", code="invalid_current_password")
        require_strong_password(new_password)
        if new_password == current_password:
            raise Unprocessable(
                "The new password must differ from the current one.",
                code="password_unchanged",
                details={"problems": ["different from the current password"]},
            )
        now = utcnow()
        user.update(
            actions=[
                UserModel.password_hash.set(hash_password(new_password)),
                UserModel.password_changed_at.set(now),
                UserModel.updated_at.set(now),
            ]
        )
        # Reset links issued before are now dead (created before password_changed_at); revoke them too.
        self._revoke_outstanding(user.id, now)
        self._audit.record(actor, "auth.password_changed", "user", user.id, {"method": "change"})
        self._events.publish(DomainEvent.USER_PASSWORD_CHANGED, {"user_id": user.id, "method": "change"})

    # --- reset -------------------------------------------------------------------------------

    def request_reset(self, email: str, *, actor: Actor = SYSTEM) -> None:
        """Email a reset link if the account exists and may sign in; silently nothing otherwise.

        The token is made and hashed on every call so that both paths do the same work; the router
        also gives both the same minimum duration (the email send is the part that differs).
        """
        token = secrets.token_urlsafe(32)
        digest = token_digest(token)
        user = find_by_email(email)
        if user is not None and not _may_reset(user):
            user = None
        if user is None:
            self._audit.record(
                actor, "auth.password_reset_requested", "user", UNKNOWN_ACCOUNT, {"account_found": False}
            )
            return
        now = utcnow()
        self._revoke_outstanding(user.id, now)
        record = PasswordResetModel(
            reset_token=digest,
            id=str(uuid.uuid4()),
            user_id=user.id,
            expires_at=now + timedelta(seconds=self._settings.password_reset_ttl_seconds),
            created_at=now,
            purge_at=now + timedelta(seconds=self._settings.password_reset_ttl_seconds) + timedelta(days=1),
        )
        record.save(condition=PasswordResetModel.reset_token.does_not_exist())
        self._audit.record(
            Actor(user.id, user.role, actor.source_ip, actor.request_id),
            "auth.password_reset_requested",
            "user",
            user.id,
            {"account_found": True, "reset_id": record.id},
        )
        try:
            self._email.send(self._reset_email(user, token))
        except Exception:  # noqa: BLE001 - any send failure: logged, counted, audited; the answer stays the same
            logger.exception("password reset email not sent", extra={"reset_id": record.id})
            metrics.add_metric(name="PasswordResetEmailFailed", unit="Count", value=1)
            self._audit.record(SYSTEM, "auth.password_reset_email_failed", "user", user.id, {"reset_id": record.id})
            return
        self._audit.record(SYSTEM, "auth.password_reset_email_sent", "user", user.id, {"reset_id": record.id})

    def confirm_reset(self, token: str, new_password: str, *, actor: Actor = SYSTEM) -> None:
        now = utcnow()
        try:
            record = PasswordResetModel.get(token_digest(token), consistent_read=True)
            user = UserModel.get(record.user_id, consistent_read=True)
        except DoesNotExist as exc:
            raise _invalid_token() from exc
        if (
            record.used_at is not None
            or record.revoked_at is not None
            or now >= record.expires_at
            or record.created_at < password_set_at(user)
            or not _may_reset(user)
        ):
            raise _invalid_token()
        # A weak password does not use the token up: the user may try again with the same link.
        require_strong_password(new_password)
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.update(
                    record,
                    actions=[PasswordResetModel.used_at.set(now)],
                    condition=PasswordResetModel.used_at.does_not_exist()
                    & PasswordResetModel.revoked_at.does_not_exist(),
                )
                transaction.update(
                    user,
                    actions=[
                        UserModel.password_hash.set(hash_password(new_password)),
                        UserModel.password_changed_at.set(now),
                        UserModel.tokens_valid_after.set(_to_millisecond(now)),
                        UserModel.updated_at.set(now),
                    ],
                    condition=UserModel.id.exists(),
                )
        except TransactWriteError as exc:
            # Used or superseded by a concurrent request a moment ago.
            raise _invalid_token() from exc
        user.written()  # a transaction's writes bypass the model's write hooks (the cache's)
        self._revoke_outstanding(user.id, now)
        # Every device is signed out (tokens_valid_after already refuses their tokens; this also
        # clears them from the user's session list).
        SessionService().end_all(user.id, reason="password_reset")
        self._audit.record(
            Actor(user.id, user.role, actor.source_ip, actor.request_id),
            "auth.password_reset_completed",
            "user",
            user.id,
            {"reset_id": record.id, "sessions_revoked": True},
        )
        self._events.publish(DomainEvent.USER_PASSWORD_CHANGED, {"user_id": user.id, "method": "reset"})

    def _revoke_outstanding(self, user_id: str, now: datetime) -> None:
        for record in PasswordResetModel.by_user.query(user_id):
            if record.used_at is not None or record.revoked_at is not None or record.expires_at <= now:
                continue
            try:
                record.update(
                    actions=[PasswordResetModel.revoked_at.set(now)],
                    condition=PasswordResetModel.used_at.does_not_exist(),
                )
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise

    def _reset_email(self, user: UserModel, token: str) -> EmailMessage:
        link = f"{self._settings.public_app_url.rstrip('/')}/reset-password?token={quote(token)}"
        minutes = self._settings.password_reset_ttl_seconds // 60
        text = (
            f"Hello {user.full_name},\n\n"
            "Someone (hopefully you) asked to reset the password of your Agents-Meetings account.\n"
            f"Open this link within {minutes} minutes to choose a new password:\n\n{link}\n\n"
            "The link works once. If you did not ask for it, ignore this email: your password stays as it is.\n"
        )
        safe_link = html.escape(link, quote=True)
        body_html = (
            f"<p>Hello {html.escape(user.full_name)},</p>"
            "<p>Someone (hopefully you) asked to reset the password of your Agents-Meetings account.</p>"
            f'<p><a href="{safe_link}">Choose a new password</a> (the link works once, for {minutes} minutes).</p>'
            "<p>If you did not ask for it, ignore this email: your password stays as it is.</p>"
        )
        return EmailMessage(to=user.email, subject="Reset your Agents-Meetings password", text=text, html=body_html)


def _may_reset(user: UserModel) -> bool:
    try:
        ensure_can_sign_in(user)
    except DomainError:
        return False
    return True
