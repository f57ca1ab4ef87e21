"""Secrets of federated sign-in (OAuth client secrets, the LDAP bind password).

Locally and in tests they come from the environment (``OAUTH_GOOGLE_CLIENT_SECRET`` ...). In the
cloud CDK gives the auth function one Secrets Manager secret (``FEDERATION_SECRET_ARN``), a JSON
object with the keys below, read lazily and cached for five minutes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from agents_meetings.secret_values import resolve_secret
from agents_meetings.settings import Settings

FederationSecret = Literal["google_client_secret", "microsoft_client_secret", "ldap_bind_password"]


def federation_secret(name: FederationSecret, direct: SecretStr | None, settings: Settings) -> str | None:
    """The environment's value (an empty one is None), else the key ``name`` of the federation secret."""
    return resolve_secret(direct, settings.federation_secret_arn, key=name) or None
