"""Secrets of federated sign-in (OAuth client secrets, the LDAP bind password).

Locally and in tests they come from the environment (``OAUTH_GOOGLE_CLIENT_SECRET`` ...). In the
cloud CDK gives the auth function one Secrets Manager secret (``FEDERATION_SECRET_ARN``), a JSON
object with the keys below, read lazily and cached for five minutes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr

from agents_meetings.settings import Settings

FederationSecret = Literal["google_client_secret", "microsoft_client_secret", "ldap_bind_password"]


def federation_secret(name: FederationSecret, direct: SecretStr | None, settings: Settings) -> str | None:
    if direct is not None:
        return direct.get_secret_value() or None
    if not settings.federation_secret_arn:
        return None
    from aws_lambda_powertools.utilities import parameters

    values = parameters.get_secret(settings.federation_secret_arn, transform="json", max_age=300)
    value = values.get(name) if isinstance(values, dict) else None
    return str(value) if value else None
