"""Secrets given as a value or as a Secrets Manager ARN: the environment variable with the value wins
(local runtime, tests); else the ARN's secret (the cloud: CDK sets ``*_ARN``), fetched lazily."""

from __future__ import annotations

from pydantic import SecretStr

# Powertools caches a fetched secret per container for this long (a rotation is seen within it).
SECRET_MAX_AGE_SECONDS = 300


def resolve_secret(value: SecretStr | None, arn: str | None, *, key: str | None = None) -> str | None:
    """``value`` when set; else the secret at ``arn`` (its JSON object's ``key`` when given); else None."""
    if value is not None:
        return value.get_secret_value()
    if not arn:
        return None
    from aws_lambda_powertools.utilities import parameters

    if key is None:
        return str(parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS))
    values = parameters.get_secret(arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS)
    item = values.get(key) if isinstance(values, dict) else None
    return str(item) if item else None
