"""The platform's Secrets Manager secrets, one per ``infra.catalog.SecretName``: how each is created
(generated key or placeholder for operators to replace) and why it is not rotated automatically.

Created in the stack's own scope (not under a construct of their own), so their logical ids are the
ids below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import get_args

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.catalog import SecretName
from infra.constructs import acknowledge_nag

JWT_SECRET_LENGTH = 64


@dataclass(frozen=True)
class SecretDecl:
    construct_id: str
    # The variable agents_meetings.settings.Settings reads the secret's ARN from.
    arn_variable: str
    description: str
    generator: secretsmanager.SecretStringGenerator
    # cdk-nag SMG4 (no automatic rotation): why.
    not_rotated_because: str


SECRETS: dict[SecretName, SecretDecl] = {
    "jwt": SecretDecl(
        "JwtSigningKey",
        "JWT_SECRET_ARN",
        "HS256 signing key of the platform's access and refresh tokens",
        secretsmanager.SecretStringGenerator(password_length=JWT_SECRET_LENGTH, exclude_punctuation=True),
        "Rotating the HS256 signing key would invalidate every issued token, since verifiers "
        "hold one key; automatic rotation waits for key ids (kid) and two-key verification.",
    ),
    # Created with a random placeholder: operators store the real LiveKit API secret in it
    # (aws secretsmanager put-secret-value); the meetings function reads it at run time.
    "livekit": SecretDecl(
        "LiveKitApiSecret",
        "LIVEKIT_API_SECRET_ARN",
        "LiveKit API secret that signs room access tokens (set to the deployment's real secret)",
        secretsmanager.SecretStringGenerator(password_length=48, exclude_punctuation=True),
        "The LiveKit API secret is issued by the LiveKit deployment and rotated there; this secret "
        "only carries it to the meetings function.",
    ),
    # Federated sign-in's secrets, one JSON object (identity/federation_secrets.py); created with
    # empty values, which operators replace with the providers' client secrets and the LDAP
    # service account's password. Empty values leave the matching sign-in switched off.
    "federation": SecretDecl(
        "FederationSecrets",
        "FEDERATION_SECRET_ARN",
        "OAuth client secrets (google_client_secret, microsoft_client_secret) and "
        "ldap_bind_password for federated sign-in",
        secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps(
                {"google_client_secret": "", "microsoft_client_secret": "", "ldap_bind_password": ""}
            ),
            generate_string_key="unused",
            exclude_punctuation=True,
        ),
        "Client secrets are issued by Google/Microsoft and the bind password by the directory; "
        "they are rotated there, this secret only carries them to the auth function.",
    ),
    # The Deepgram API key of the transcription task (transcription/engines/deepgram.py); created
    # with a random placeholder that operators replace with the real key.
    "deepgram": SecretDecl(
        "DeepgramApiKey",
        "DEEPGRAM_API_KEY_ARN",
        "Deepgram API key of the transcription pipeline (set to the account's real key)",
        secretsmanager.SecretStringGenerator(password_length=40, exclude_punctuation=True),
        "The Deepgram key is issued and rotated in Deepgram's console; this secret only carries it.",
    ),
}
if set(SECRETS) != set(get_args(SecretName)):
    raise ValueError("infra.constructs.secrets.SECRETS must declare every catalog SecretName")


def platform_secrets(scope: Construct, *, removal_policy: RemovalPolicy) -> dict[SecretName, secretsmanager.Secret]:
    """Every declared secret, created in ``scope``, keyed by its catalog name."""
    secrets: dict[SecretName, secretsmanager.Secret] = {}
    for name, decl in SECRETS.items():
        secret = secretsmanager.Secret(
            scope,
            decl.construct_id,
            description=decl.description,
            generate_secret_string=decl.generator,
            removal_policy=removal_policy,
        )
        acknowledge_nag(secret, {"SMG4": decl.not_rotated_because})
        secrets[name] = secret
    return secrets
