"""AuthService: registration (atomic email uniqueness), login, authentication of an access token (the
request's Principal), token refresh and logout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from agents_meetings.audit import SYSTEM, Actor, AuditLog
from agents_meetings.cache import CacheService, Lookup, cache_service
from agents_meetings.cache.entities import user_from
from agents_meetings.cache.keys import deny_key, session_key, user_key
from agents_meetings.clock import utcnow
from agents_meetings.conditions import cancelled_by_condition
from agents_meetings.errors import Conflict, Forbidden, Unauthenticated
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.identity.passwords import (
    hash_password,
    needs_rehash,
    require_strong_password,
    verify_password,
)
from agents_meetings.identity.tokens import (
    TokenClaims,
    TokenPair,
    TokenService,
    is_revoked,
    issued_before,
    revocation_reason,
    revoke,
)
from agents_meetings.identity.two_factor import TwoFactorService, signed_in
from agents_meetings.platform_settings import platform_settings
from agents_meetings.tables import UserEmailModel, UserModel, transaction_connection
from agents_meetings.users.service import AccountStatus, Role, active_key, ensure_can_sign_in
from agents_meetings.users.sessions import SessionService

# Key of the uniqueness item that marks "an admin was bootstrapped". It has no "@", so no real
# email can collide with it; writing it in the registration transaction makes "the first user
# becomes admin" race-free.
BOOTSTRAP_MARKER = "bootstrap-admin"


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the user as stored now (role changes apply at once) and the token."""

    user: UserModel
    claims: TokenClaims
    actor: Actor


@dataclass(frozen=True)
class NewAccount:
    email: str
    password: str
    full_name: str
    timezone: str = "UTC"


class AuthService:
    def __init__(self, events: EventPublisher, tokens: TokenService | None = None, audit: AuditLog | None = None):
        self._events = events
        self._tokens = tokens or TokenService()
        self._audit = audit or AuditLog()

    def register(
        self, account: NewAccount, *, actor: Actor = SYSTEM, as_admin: bool = False, federated: bool = False
    ) -> UserModel:
        """Create a pending participant; the very first account (or ``as_admin``) is an approved admin.

        A ``federated`` account (signed in through an identity provider) has no password.
        """
        if not federated:
            require_strong_password(account.password)
        email = normalise_email(account.email)
        claim = not _bootstrap_marker_exists()
        if actor.user_id == SYSTEM.user_id and not as_admin and not claim and not platform_settings().registration_open:
            # Closed by an admin (platform settings): sign-ups stop; the first admin and accounts
            # admins create still go through.
            raise Forbidden("Registration is closed on this platform.", code="registration_closed")
        user = self._create(account, email, admin=as_admin or claim, claim_bootstrap=claim)
        if user is None and claim:
            # Either the email is taken (this fails again) or another registration became the first
            # admin a moment ago: this one is then an ordinary account.
            user = self._create(account, email, admin=as_admin, claim_bootstrap=False)
        if user is None:
            raise Conflict("An account with this email already exists.", code="email_taken")
        self._audit.record(
            actor if actor is not SYSTEM else Actor(user.id, user.role, actor.source_ip, actor.request_id),
            "user.registered",
            "user",
            user.id,
            {"role": user.role, "status": user.status},
        )
        self._events.publish(
            DomainEvent.USER_REGISTERED,
            {"user_id": user.id, "email": user.email, "role": user.role, "status": user.status},
        )
        return user

    def _create(self, account: NewAccount, email: str, *, admin: bool, claim_bootstrap: bool) -> UserModel | None:
        now = utcnow()
        user = UserModel(
            id=str(uuid.uuid4()),
            email=email,
            full_name=account.full_name.strip(),
            role=Role.ADMIN.value if admin else Role.PARTICIPANT.value,
            status=AccountStatus.APPROVED.value if admin else AccountStatus.PENDING.value,
            is_active=True,
            active_key=active_key(True),
            password_hash=hash_password(account.password) if account.password else None,
            password_changed_at=now,
            timezone=account.timezone,
            expertise=[],
            created_at=now,
            updated_at=now,
        )
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                transaction.save(
                    UserEmailModel(email=email, user_id=user.id), condition=UserEmailModel.email.does_not_exist()
                )
                transaction.save(user, condition=UserModel.id.does_not_exist())
                if claim_bootstrap:
                    transaction.save(
                        UserEmailModel(email=BOOTSTRAP_MARKER, user_id=user.id),
                        condition=UserEmailModel.email.does_not_exist(),
                    )
        except TransactWriteError as exc:
            if cancelled_by_condition(exc, 0):
                return None  # email taken
            if claim_bootstrap and cancelled_by_condition(exc, 2):
                return None  # someone else became the first admin
            raise
        return user

    def login(self, email: str, password: str, *, actor_ip: str | None = None) -> tuple[UserModel, TokenPair]:
        user = find_by_email(email)
        if not verify_password(user.password_hash if user else None, password) or user is None:
            raise Unauthenticated("Email or password is incorrect.", code="invalid_credentials")
        ensure_can_sign_in(user)
        signed_in("password", user.id)
        if user.password_hash and needs_rehash(user.password_hash):
            user.update(actions=[UserModel.password_hash.set(hash_password(password))])
        challenge = TwoFactorService(tokens=self._tokens, audit=self._audit).login_challenge(user)
        if challenge is not None:  # the route answers with the challenge; POST /2fa/login finishes
            self._audit.record(Actor(user.id, user.role, actor_ip), "auth.login_challenged", "user", user.id)
            raise challenge
        pair = self._tokens.issue_pair(user.id, user.role)
        self._audit.record(Actor(user.id, user.role, actor_ip), "auth.login", "user", user.id)
        return user, pair

    def verify_access_token(self, token: str) -> TokenClaims:
        """The access token on its own (size, algorithm, signature, issuer, audience, times, type),
        without a read: the rate limiter's caller, and the first step of ``authenticate``."""
        return self._tokens.decode(token, "access", check_revoked=False)

    def authenticate(
        self,
        token: str,
        *,
        verified: TokenClaims | None = None,
        source_ip: str | None = None,
        request_id: str | None = None,
    ) -> Principal:
        """The whole check of an access token, each refusal in this order: the token itself (unless
        ``verified`` already, by ``verify_access_token`` for the same request), the deny list, the
        user, the account's status (a deactivated account says so, before its ended sessions do),
        the session (ended, idle or limited out) and a password reset (tokens issued before it)."""
        claims = verified or self.verify_access_token(token)
        cache = cache_service()
        if not cache.enabled:
            if is_revoked(claims.jti):
                raise Unauthenticated("Token has been revoked.", code="token_revoked")
            user = _token_user(claims)
            ensure_can_sign_in(user)
            SessionService().touch(claims.session_id)
        else:
            user = self._authenticate_cached(claims, cache)
        if issued_before(claims, user.tokens_valid_after):
            raise Unauthenticated("Token has been revoked.", code="token_revoked")
        return Principal(user=user, claims=claims, actor=Actor(user.id, user.role, source_ip, request_id))

    @staticmethod
    def _authenticate_cached(claims: TokenClaims, cache: CacheService) -> UserModel:
        """The same checks in the same order, with the deny-list answer, the user and the session
        state read in one shared-cache round trip; what is missing is read from DynamoDB and stored.
        Every write of these items invalidates them before its response (``cache.entities``), so a
        revoked token, an ended session or a deactivated account is refused on the next request."""
        keys = deny_key(claims.jti), user_key(claims.subject), session_key(claims.session_id)
        found = cache.lookup_many(keys)
        fresh: dict[str, tuple[Lookup, Any]] = {}
        deny, user_entry, session_entry = (found[key] for key in keys)
        revoked = deny.value if deny.hit else is_revoked(claims.jti)
        if not deny.hit:
            fresh[keys[0]] = (deny, bool(revoked))
        if revoked:
            raise Unauthenticated("Token has been revoked.", code="token_revoked")
        try:
            user, user_fresh = user_from(user_entry, claims.subject)
        except DoesNotExist as exc:
            raise Unauthenticated("Token is not valid.", code="invalid_token") from exc
        if user_fresh is not None:
            fresh[keys[1]] = (user_entry, user_fresh)
        try:
            ensure_can_sign_in(user)
            state = SessionService().check(claims.session_id, session_entry.value if session_entry.hit else None)
            if state is not None:
                # Stored under the stamp read before the touch: a touch's own write invalidated the
                # key, so this entry is a miss once (then stored fresh); never a stale "open".
                fresh[keys[2]] = (session_entry, state)
        finally:
            cache.store_many(fresh)
        return user

    def refresh(self, refresh_token: str) -> TokenPair:
        claims = self._tokens.decode(refresh_token, "refresh", check_revoked=False)
        reason = revocation_reason(claims.jti)
        if reason == "rotated":  # it was exchanged already: this is a copy
            raise self._reused(claims)
        if reason is not None:
            raise Unauthenticated("Token has been revoked.", code="token_revoked")
        user = _token_user(claims)
        ensure_can_sign_in(user)
        if issued_before(claims, user.tokens_valid_after):
            raise Unauthenticated("Token has been revoked.", code="token_revoked")
        # A refresh token is good for one use: the revocation is conditional, so of two concurrent
        # refreshes with the same token exactly one wins.
        if not revoke(claims, "rotated", only_if_unused=True):
            raise self._reused(claims)
        return self._tokens.issue_pair(user.id, user.role, session_id=claims.session_id, rotated_from=claims.jti)

    def _reused(self, claims: TokenClaims) -> Unauthenticated:
        """A refresh token came back after it was rotated: a copy exists. End its whole session."""
        SessionService().detect_reuse(claims.session_id)
        self._audit.record(
            Actor(claims.subject, claims.role), "auth.refresh_token_reused", "session", claims.session_id
        )
        return Unauthenticated(
            "This refresh token was already used; the session has been ended to be safe. Sign in again.",
            code="refresh_token_reused",
        )

    def logout(self, access: TokenClaims, refresh_token: str | None, *, actor: Actor) -> None:
        # Everything is checked before anything is revoked: a refused logout changes nothing.
        refresh_claims = self._tokens.decode(refresh_token, "refresh") if refresh_token else None
        if refresh_claims is not None and refresh_claims.subject != access.subject:
            raise Forbidden("That refresh token belongs to another user.", code="token_mismatch")
        revoke(access, "logout")
        if refresh_claims is not None:
            revoke(refresh_claims, "logout")
        SessionService().end(access.subject, access.session_id)
        self._audit.record(actor, "auth.logout", "user", access.subject)


def _token_user(claims: TokenClaims) -> UserModel:
    """The user a valid token names; a token of a user that no longer exists is not valid."""
    try:
        return UserModel.get(claims.subject)
    except DoesNotExist as exc:
        raise Unauthenticated("Token is not valid.", code="invalid_token") from exc


def _bootstrap_marker_exists() -> bool:
    try:
        UserEmailModel.get(BOOTSTRAP_MARKER, consistent_read=True)
    except DoesNotExist:
        return False
    return True


def find_by_email(email: str) -> UserModel | None:
    try:
        link = UserEmailModel.get(normalise_email(email), consistent_read=True)
        return UserModel.get(link.user_id, consistent_read=True)
    except DoesNotExist:
        return None
