"""LDAP / Active Directory sign-in, tested against a real OpenLDAP `slapd` started for the module."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents_meetings.settings import reset_settings
from agents_meetings.tables import OAuthConnectionModel, UserModel
from fastapi.testclient import TestClient

from infra.local.runtime import free_port

pytestmark = pytest.mark.integration

SUFFIX = "dc=example,dc=com"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "root-secret"
SERVICE_DN, SERVICE_PASSWORD = f"cn=platform,{SUFFIX}", "service-secret"
PEOPLE = f"ou=people,{SUFFIX}"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    slapd = shutil.which("slapd") or "/usr/sbin/slapd"
    assert Path(slapd).exists(), "slapd is missing: `make test` installs it (Debian slapd)"
    root = tmp_path_factory.mktemp("slapd")
    (root / "db").mkdir()
    (root / "slapd.conf").write_text(f"""
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {root}/slapd.pid
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {root}/db
access to attrs=userPassword by self read by anonymous auth by * none
access to * by dn.exact="{SERVICE_DN}" read by self read by * none
""")
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        [slapd, "-f", str(root / "slapd.conf"), "-h", f"{url}/", "-d", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    from ldap3 import Connection, Server
    from ldap3.core.exceptions import LDAPException

    deadline = time.monotonic() + 30
    admin = Connection(Server(url), ROOT_DN, ROOT_PASSWORD)
    while True:  # slapd takes a moment to listen, longer on a busy machine
        try:
            if admin.bind():
                break
        except LDAPException:
            pass
        assert time.monotonic() < deadline and process.poll() is None, "slapd did not start"
        time.sleep(0.1)
    admin.add(SUFFIX, ["dcObject", "organization"], {"o": "Example", "dc": "example"})
    admin.add(SERVICE_DN, ["simpleSecurityObject", "organizationalRole"], {"userPassword": SERVICE_PASSWORD})
    admin.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
    for uid, name, password in (("ada", "Ada Lovelace", "analytical-engine"), ("alan", "Alan Turing", "enigma-1940")):
        admin.add(
            f"uid={uid},{PEOPLE}",
            ["inetOrgPerson"],
            {
                "cn": name,
                "sn": name.split()[-1],
                "displayName": name,
                "mail": f"{uid}@corp.example.com",
                "userPassword": password,
            },
        )
    admin.add(f"uid=nomail,{PEOPLE}", ["inetOrgPerson"], {"cn": "No Mail", "sn": "Mail", "userPassword": "pw-1"})
    admin.unbind()
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(autouse=True)
def configured(aws: Any, data_key: str, directory: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "LDAP_URL": directory,
        "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LDAP_USER_BASE_DN": PEOPLE,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield
    reset_settings()


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/ldap/login", json={"username": username, "password": password})


def test_ldap_bind_signs_in_and_links_the_directory_account(client: TestClient, admin_headers: dict[str, str]) -> None:
    first = login(client, "ada", "analytical-engine")
    assert first.status_code == 403 and first.json()["error"]["code"] == "account_pending"  # admission is ours
    link = OAuthConnectionModel.get(f"ldap#uid=ada,{PEOPLE}")
    user = UserModel.get(link.user_id)
    assert (user.email, user.full_name, user.password_hash) == ("ada@corp.example.com", "Ada Lovelace", None)
    assert client.post(f"/api/v1/admin/users/{user.id}/approve", headers=admin_headers).status_code == 200
    signed_in = login(client, "ada@corp.example.com", "analytical-engine")  # by mail as well as uid
    assert signed_in.status_code == 200, signed_in.text
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
    assert me.json()["id"] == user.id


def test_wrong_password_unknown_user_and_empty_password_are_refused_alike(client: TestClient) -> None:
    for username, password in (("alan", "wrong"), ("nobody", "enigma-1940"), ("alan", " ")):
        response = login(client, username, password)
        assert response.status_code == 401, (username, response.text)
        assert response.json()["error"] == {
            **response.json()["error"],
            "code": "invalid_credentials",
            "message": "Username or password is incorrect.",
        }
    empty = login(client, "alan", "")
    assert empty.status_code == 422  # never an unauthenticated bind


def test_filter_injection_is_escaped(client: TestClient) -> None:
    response = login(client, "*)(uid=*", "analytical-engine")
    assert response.status_code == 401


def test_a_directory_account_without_mail_cannot_sign_in(client: TestClient) -> None:
    response = login(client, "nomail", "pw-1")
    assert response.status_code == 401 and response.json()["error"]["code"] == "oauth_email_unverified"


def test_unreachable_or_unconfigured_directory_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LDAP_URL", f"ldap://127.0.0.1:{free_port()}")
    reset_settings()
    down = login(client, "ada", "analytical-engine")
    assert down.status_code == 503 and down.json()["error"]["code"] == "ldap_unavailable"
    monkeypatch.delenv("LDAP_URL")
    reset_settings()
    off = login(client, "ada", "analytical-engine")
    assert off.status_code == 503 and off.json()["error"]["code"] == "ldap_not_configured"
