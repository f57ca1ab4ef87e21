"""A secret is its environment value when set, else the Secrets Manager secret its ARN names."""

import json

import boto3
from agents_meetings.secret_values import resolve_secret
from moto import mock_aws
from pydantic import SecretStr


def test_the_value_wins_over_the_arn_and_neither_is_none() -> None:
    assert resolve_secret(SecretStr("local-value"), "arn:aws:secretsmanager:us-east-1:1:secret:never-read") == (
        "local-value"
    )
    assert resolve_secret(None, None) is None
    assert resolve_secret(None, "") is None


def test_without_a_value_the_arn_is_read_from_secrets_manager() -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        plain = client.create_secret(Name="resolver-plain", SecretString="from-the-cloud")["ARN"]
        keyed = client.create_secret(Name="resolver-json", SecretString=json.dumps({"ldap": "pw", "empty": ""}))["ARN"]
        assert resolve_secret(None, plain) == "from-the-cloud"
        assert resolve_secret(None, keyed, key="ldap") == "pw"
        assert resolve_secret(None, keyed, key="missing") is None
        assert resolve_secret(None, keyed, key="empty") is None
