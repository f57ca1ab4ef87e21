"""Federated sign-in: start (state + nonce + PKCE kept server-side, used once) and finish (verified
ID token -> the platform account, linked or created; the provider's tokens stored sealed). LDAP /
Active Directory sign-in (identity/ldap_directory.py) ends through the same ``complete``.

Linking rule: a provider account already linked signs in as its user; otherwise a *verified*
provider email that matches an existing account links to it; otherwise a new account is created,
pending approval like any registration (the platform's admission rule is the same for everyone).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.expressions.update import Action

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.crypto import secrets_cipher
from agents_meetings.errors import Unauthenticated
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.identity.oidc import OidcClient, new_pkce_pair, provider_config
from agents_meetings.identity.service import AuthService, NewAccount, find_by_email
from agents_meetings.identity.tokens import TokenPair, TokenService
from agents_meetings.identity.two_factor import TwoFactorService, signed_in
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import OAuthConnectionModel, OAuthStateModel, UserModel
from agents_meetings.users.service import ensure_can_sign_in

STATE_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class SignInStart:
    authorization_url: str
    state: str
    expires_in: int


@dataclass(frozen=True)
class SignInResult:
    user: UserModel
    tokens: TokenPair
    created: bool
    linked: bool

    @property
    def pair(self) -> tuple[UserModel, TokenPair]:
        return self.user, self.tokens


def redirect_uri(provider: str, settings: Settings) -> str:
    return f"{settings.oauth_redirect_base_url.rstrip('/')}/api/v1/auth/oauth/{provider}/callback"


class FederatedSignIn:
    def __init__(
        self,
        events: EventPublisher,
        *,
        http: Any = None,
        settings: Settings | None = None,
        tokens: TokenService | None = None,
        audit: AuditLog | None = None,
    ):
        self._settings = settings or get_settings()
        self._events = events
        self._http = http
        self._tokens = tokens or TokenService()
        self._audit = audit or AuditLog()

    def _client(self, provider: str) -> OidcClient:
        return OidcClient(provider_config(provider, self._settings), http=self._http)

    def start(self, provider: str) -> SignInStart:
        client = self._client(provider)
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier, challenge = new_pkce_pair()
        url = client.authorization_url(
            state=state, nonce=nonce, code_challenge=challenge, redirect_uri=redirect_uri(provider, self._settings)
        )
        now = utcnow()
        OAuthStateModel(
            state=state,
            provider=provider,
            nonce=nonce,
            code_verifier=secrets_cipher().seal(verifier, f"oauth-state:{state}"),
            created_at=now,
            expires_at=now + STATE_TTL,
        ).save(condition=OAuthStateModel.state.does_not_exist())
        return SignInStart(authorization_url=url, state=state, expires_in=int(STATE_TTL.total_seconds()))

    def finish(self, provider: str, *, code: str, state: str, actor_ip: str | None = None) -> SignInResult:
        pending = consume_pending_sign_in(state, provider)
        client = self._client(provider)
        verifier = secrets_cipher().open(pending.code_verifier, f"oauth-state:{state}")
        tokens = client.exchange_code(
            code=code, code_verifier=verifier, redirect_uri=redirect_uri(provider, self._settings)
        )
        claims = client.verify_id_token(
            tokens["id_token"], nonce=pending.nonce, access_token=tokens.get("access_token")
        )
        if "email" not in claims and tokens.get("access_token"):
            # Verified identity (sub) from the ID token; profile claims may come from userinfo.
            extra = client.userinfo(str(tokens["access_token"]), str(claims["sub"]))
            claims = {**{k: v for k, v in extra.items() if k in ("email", "email_verified", "name")}, **claims}
        return self.complete(provider, claims, tokens, actor_ip=actor_ip)

    def complete(
        self, provider: str, claims: dict[str, Any], provider_tokens: dict[str, Any], *, actor_ip: str | None = None
    ) -> SignInResult:
        """An identity the provider vouched for (``sub``, verified ``email``) -> platform tokens, after
        the same admission checks and second factor as a password login."""
        user, created, linked = self._account_for(provider, claims, provider_tokens)
        ensure_can_sign_in(user)
        signed_in(provider if provider in ("saml", "ldap") else "oauth", user.id)
        challenge = TwoFactorService(tokens=self._tokens, audit=self._audit).login_challenge(user)
        actor = Actor(user.id, user.role, actor_ip)
        if challenge is not None:
            self._audit.record(actor, "auth.login_challenged", "user", user.id, {"provider": provider})
            raise challenge
        pair = self._tokens.issue_pair(user.id, user.role)
        self._audit.record(actor, "auth.login", "user", user.id, {"provider": provider})
        return SignInResult(user=user, tokens=pair, created=created, linked=linked)

    def _account_for(
        self, provider: str, claims: dict[str, Any], tokens: dict[str, Any]
    ) -> tuple[UserModel, bool, bool]:
        subject = str(claims["sub"])
        key = f"{provider}#{subject}"
        try:
            connection = OAuthConnectionModel.get(key, consistent_read=True)
        except DoesNotExist:
            connection = None
        if connection is not None:
            self._store_tokens(connection, tokens)
            return UserModel.get(connection.user_id), False, False
        email = str(claims.get("email") or "")
        if not email or claims.get("email_verified") is not True:
            raise Unauthenticated(
                f"Your {provider} account has no verified email address to sign in with.", code="oauth_email_unverified"
            )
        user = find_by_email(email)
        created = user is None
        if user is None:
            name = str(claims.get("name") or email.split("@", 1)[0])
            user = AuthService(self._events, tokens=self._tokens, audit=self._audit).register(
                NewAccount(email=email, password="", full_name=name[:200]), federated=True
            )
        connection = OAuthConnectionModel(
            provider_subject=key,
            id=str(uuid.uuid4()),
            user_id=user.id,
            provider=provider,
            provider_user_id=subject,
            created_at=utcnow(),
        )
        try:
            connection.save(condition=OAuthConnectionModel.provider_subject.does_not_exist())
        except PutError:
            connection = OAuthConnectionModel.get(key, consistent_read=True)  # a concurrent first sign-in
        self._store_tokens(connection, tokens)
        self._audit.record(
            Actor(user.id, user.role), "auth.oauth_linked", "user", user.id, {"provider": provider, "created": created}
        )
        return user, created, True

    @staticmethod
    def _store_tokens(connection: OAuthConnectionModel, tokens: dict[str, Any]) -> None:
        cipher = secrets_cipher()
        context = f"oauth:{connection.provider_subject}"
        actions: list[Action] = []
        if tokens.get("access_token"):
            actions.append(OAuthConnectionModel.access_token.set(cipher.seal(str(tokens["access_token"]), context)))
        if tokens.get("refresh_token"):
            actions.append(OAuthConnectionModel.refresh_token.set(cipher.seal(str(tokens["refresh_token"]), context)))
        if tokens.get("expires_in"):
            expires = utcnow() + timedelta(seconds=int(tokens["expires_in"]))
            actions.append(OAuthConnectionModel.expires_at.set(expires))
        if actions:
            connection.update(actions=actions)


def consume_pending_sign_in(
    state: str,
    provider: str,
    *,
    code: str = "oauth_state_invalid",
    message: str = "This sign-in link is unknown, used or expired; please start again.",
) -> OAuthStateModel:
    """Load and delete a pending sign-in (OpenID state, SAML RelayState) in one conditional step:
    it is good exactly once, for its provider, before it expires."""
    refused = Unauthenticated(message, code=code)
    try:
        pending = OAuthStateModel.get(state, consistent_read=True)
        pending.delete(condition=OAuthStateModel.state.exists())
    except (DoesNotExist, DeleteError) as exc:
        raise refused from exc
    if pending.provider != provider or pending.expires_at is None or pending.expires_at <= utcnow():
        raise refused
    return pending
