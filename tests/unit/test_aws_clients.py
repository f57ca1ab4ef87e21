"""boto3 clients are built once per container, on first use, with the settings' region and endpoint."""

from collections.abc import Iterator

import pytest
from agents_meetings.aws_clients import aws_client, reset_aws_clients
from agents_meetings.settings import Settings


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    reset_aws_clients()
    yield
    reset_aws_clients()


def settings(**values: str) -> Settings:
    return Settings(**{"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566", **values})


def test_a_client_is_built_once_with_the_settings_region_and_endpoint() -> None:
    first = aws_client("sqs", settings=settings())
    assert aws_client("sqs", settings=settings()) is first
    assert first.meta.region_name == "eu-west-1"
    assert first.meta.endpoint_url == "http://127.0.0.1:4566"


def test_region_endpoint_and_config_overrides_each_get_their_own_client() -> None:
    base = aws_client("s3", settings=settings())
    elsewhere = aws_client("s3", settings=settings(), region="ap-south-1", endpoint_url="http://127.0.0.1:9000")
    tuned = aws_client("s3", settings=settings(), config={"connect_timeout": 2, "retries": {"max_attempts": 2}})
    assert len({id(base), id(elsewhere), id(tuned)}) == 3
    assert elsewhere.meta.region_name == "ap-south-1" and elsewhere.meta.endpoint_url == "http://127.0.0.1:9000"
    assert tuned.meta.config.connect_timeout == 2
    assert aws_client("s3", settings=settings(), config={"retries": {"max_attempts": 2}, "connect_timeout": 2}) is tuned
