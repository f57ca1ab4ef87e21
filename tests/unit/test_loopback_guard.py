"""Loopback only: the suite, the benchmarks and the processes they start cannot reach anything else."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator

import boto3
import pytest
import pytest_socket

from infra.catalog import REPO_ROOT
from infra.local import loopback_guard

pytestmark = pytest.mark.unit

# TEST-NET-1 (RFC 5737): never routed, so even an unguarded attempt would go nowhere.
UNROUTABLE = "192.0.2.1"


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", True),  # noqa: S104 - this machine, as a bind address
        ("10.0.0.1", False),
        (UNROUTABLE, False),
        ("::ffff:192.0.2.1", False),
        ("dynamodb.us-east-1.amazonaws.com", False),
        ("evil.localhost", False),  # the system resolver may send it to DNS
        ("127.0.0.1 evil.example.com", False),
        ("127.1", False),  # short forms are resolved by getaddrinfo, so not literal here
    ],
)
def test_only_loopback_addresses_and_localhost_count_as_loopback(host: str, loopback: bool) -> None:
    assert loopback_guard.is_loopback_address(host) is loopback


def test_the_guard_is_on_for_every_test_and_xdist_worker(request: pytest.FixtureRequest) -> None:
    # addopts carries --allow-hosts to every xdist worker (each re-reads the configuration).
    assert set(request.config.getoption("--allow-hosts").split(",")) == {"127.0.0.1", "localhost", "::1"}
    assert loopback_guard.installed()
    # pytest-socket restores the connect it started with after each test: the guarded one.
    assert pytest_socket._true_connect.__module__ == loopback_guard.__name__


def test_a_connection_beyond_loopback_is_refused(listener: tuple[str, int]) -> None:
    with socket.socket() as sock, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pytest-socket also warns
        with pytest.raises(pytest_socket.SocketConnectBlockedError):
            sock.connect((UNROUTABLE, 443))
    with socket.create_connection(listener, timeout=5):
        pass  # loopback stays reachable
    with socket.create_connection(("localhost", listener[1]), timeout=5):
        pass


def test_outside_pytest_socket_the_guard_refuses_connects_and_records_them() -> None:
    # What pytest-socket falls back to between tests, and what the benchmarks and the local runtime run with.
    guarded_connect = pytest_socket._true_connect
    with socket.socket() as sock, pytest.raises(loopback_guard.NonLoopbackConnectionError, match=UNROUTABLE):
        guarded_connect(sock, (UNROUTABLE, 443))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        with pytest.raises(loopback_guard.NonLoopbackConnectionError, match="datagram"):
            udp.sendto(b"dns?", (UNROUTABLE, 53))
        with pytest.raises(loopback_guard.NonLoopbackConnectionError):
            udp.connect_ex((UNROUTABLE, 53))
    assert len(loopback_guard.take_refusals()) == 3


def test_an_aws_client_without_moto_is_refused_before_any_dns_query() -> None:
    """The api_overhead escape: a DynamoDB write with no moto and no endpoint goes to AWS's endpoint.
    Name resolution is refused first, so not even a DNS query leaves the machine."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with pytest.raises(Exception, match=re.escape("dynamodb.us-east-1.amazonaws.com")) as raised:
        client.list_tables()
    assert "only loopback" in str(raised.value)
    refused = loopback_guard.take_refusals()
    assert refused and all(line.startswith("name resolution to dynamodb.us-east-1.amazonaws.com") for line in refused)


def test_a_refusal_the_code_swallows_is_still_recorded() -> None:
    with contextlib.suppress(Exception):  # as a fail-open path would
        socket.getaddrinfo("example.com", 443)
    # tests/conftest.py's _loopback_only fails a test that leaves a refusal behind; this one takes it.
    refused = loopback_guard.take_refusals()
    assert len(refused) == 1 and refused[0].startswith("name resolution to example.com:443 refused")


def test_a_python_subprocess_with_the_flag_refuses_beyond_loopback() -> None:
    """What `python -m infra.local` does first in the e2e suite and the benchmarks."""
    script = (
        "import socket\n"
        "from infra.local.loopback_guard import install_from_environment\n"
        "assert install_from_environment()\n"
        f"socket.create_connection(({UNROUTABLE!r}, 443), timeout=1)\n"
    )
    env = {**os.environ, loopback_guard.ENV_VAR: "1", "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode != 0
    assert "NonLoopbackConnectionError" in completed.stderr
    assert f"{loopback_guard.MARKER} on" in completed.stderr
    assert f"to {UNROUTABLE}:443{loopback_guard.REFUSED}" in completed.stderr


def test_the_local_runtime_points_every_aws_client_at_its_embedded_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's per-service endpoint (which botocore prefers to AWS_ENDPOINT_URL) or the switch
    that ignores configured endpoints would send that service's clients elsewhere."""
    from infra.local.runtime import LocalConfig, configure_environment

    saved = dict(os.environ)
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.us-east-1.amazonaws.com")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "https://s3.amazonaws.com")
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setenv("AWS_PROFILE", "production")
    try:
        configure_environment(LocalConfig(port=1, aws_port=2, data_dir=None, admin_email="a@b.c", admin_password="x"))
        assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:2"
        leftovers = [
            n
            for n in os.environ
            if n.startswith("AWS_ENDPOINT_URL_") or n in ("AWS_PROFILE", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        ]
        assert leftovers == []
    finally:
        os.environ.clear()
        os.environ.update(saved)
