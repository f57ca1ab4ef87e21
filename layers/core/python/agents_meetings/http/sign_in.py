"""The answer to any successful first sign-in step (password, OpenID, directory, SAML): the token
pair, or the two-factor challenge when the account has 2FA on."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agents_meetings.http.schemas.auth import TokenOut
from agents_meetings.http.schemas.two_factor import TwoFactorChallengeOut
from agents_meetings.identity.password_lifecycle import password_change_required
from agents_meetings.identity.tokens import CHALLENGE_TOKEN_TTL_SECONDS, TokenPair
from agents_meetings.identity.two_factor import TwoFactorRequired

if TYPE_CHECKING:
    from agents_meetings.tables import UserModel


def token_response(user: UserModel, pair: TokenPair) -> TokenOut:
    return TokenOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
        password_change_required=password_change_required(user),
    )


def sign_in_response(sign_in: Callable[[], tuple[UserModel, TokenPair]]) -> TokenOut | TwoFactorChallengeOut:
    try:
        user, pair = sign_in()
    except TwoFactorRequired as challenge:
        return TwoFactorChallengeOut(
            challenge_token=challenge.challenge_token, methods=challenge.methods, expires_in=CHALLENGE_TOKEN_TTL_SECONDS
        )
    return token_response(user, pair)
