"""Enterprise SAML 2.0 sign-in, tested with an identity provider made here: pysaml2's IdP server with
a freshly generated certificate, signing real assertions that xmlsec1 verifies."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from agents_meetings.identity import saml as saml_sp
from agents_meetings.settings import reset_settings
from agents_meetings.tables import OAuthConnectionModel, UserModel
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.server import Server

pytestmark = pytest.mark.integration

IDP_ENTITY = "https://idp.corp.example.com/metadata"
BASE = "http://testserver"


def self_signed(directory: Path, name: str) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


def idp_config(key: str, cert: str, sp_metadata: str | None) -> IdPConfig:
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [("https://idp.corp.example.com/sso", BINDING_HTTP_REDIRECT)]
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "policy": {"default": {"lifetime": {"minutes": 15}, "attribute_restrictions": None}},
                }
            },
            "key_file": key,
            "cert_file": cert,
            "metadata": {"inline": [sp_metadata]} if sp_metadata else {},
            "xmlsec_binary": "/usr/bin/xmlsec1",
        }
    )
    return config


@dataclass
class IdentityProvider:
    server: Server
    metadata: str

    def respond(self, redirect_url: str, email: str, *, name: str = "Grace Hopper") -> str:
        query = parse_qs(urlparse(redirect_url).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
        response = self.server.create_authn_response(
            identity={"mail": [email], "displayName": [name]},
            in_response_to=request.id,
            destination=request.assertion_consumer_service_url,
            sp_entity_id=request.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=email),
            sign_assertion=True,
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
        )
        return base64.b64encode(str(response).encode()).decode()


@pytest.fixture(scope="module")
def idp_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str, str]:
    directory = tmp_path_factory.mktemp("saml")
    return (*self_signed(directory, "idp"), *self_signed(directory, "impostor"))


# Every test runs with both signature backends: xmlsec1 (Debian) and pyXMLSecurity (Lambda).
@pytest.fixture(params=["xmlsec1", "XMLSecurity"])
def idp(
    request: pytest.FixtureRequest,
    aws: Any,
    data_key: str,
    idp_files: tuple[str, str, str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[IdentityProvider]:
    key, cert, _, _ = idp_files
    idp_metadata = create_metadata_string(None, config=idp_config(key, cert, None)).decode()
    monkeypatch.setenv("SAML_CRYPTO_BACKEND", request.param)
    monkeypatch.setenv("SAML_IDP_METADATA", idp_metadata)
    monkeypatch.setenv("OAUTH_REDIRECT_BASE_URL", BASE)
    reset_settings()
    saml_sp._client.cache_clear()
    sp = saml_sp.SamlServiceProvider()._sp()
    assert (
        type(sp.sec.crypto).__name__
        == {"xmlsec1": "CryptoBackendXmlSec1", "XMLSecurity": "CryptoBackendXMLSecurity"}[request.param]
    )
    sp_metadata = create_metadata_string(None, config=sp.config).decode()
    yield IdentityProvider(Server(config=idp_config(key, cert, sp_metadata)), idp_metadata)
    saml_sp._client.cache_clear()
    reset_settings()


def begin(client: TestClient) -> dict[str, Any]:
    response = client.post("/api/v1/auth/saml/login")
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_signed_assertion_signs_in_and_links_the_account(
    client: TestClient, idp: IdentityProvider, make_user: Any
) -> None:
    account = make_user(email="grace@corp.example.com")
    start = begin(client)
    posted = client.post(
        "/api/v1/auth/saml/acs",
        data={
            "SAMLResponse": idp.respond(start["redirect_url"], "grace@corp.example.com"),
            "RelayState": start["relay_state"],
        },
    )
    assert posted.status_code == 200, posted.text
    link = OAuthConnectionModel.get(f"saml#{IDP_ENTITY}|grace@corp.example.com")
    assert link.user_id == account.id
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {posted.json()['access_token']}"})
    assert me.json()["email"] == "grace@corp.example.com"


def test_a_new_enterprise_user_is_created_pending(
    client: TestClient, idp: IdentityProvider, admin_headers: dict[str, str]
) -> None:
    start = begin(client)
    posted = client.post(
        "/api/v1/auth/saml/acs",
        data={
            "SAMLResponse": idp.respond(start["redirect_url"], "new.hire@corp.example.com", name="New Hire"),
            "RelayState": start["relay_state"],
        },
    )
    assert posted.status_code == 403 and posted.json()["error"]["code"] == "account_pending"
    user = UserModel.get(OAuthConnectionModel.get(f"saml#{IDP_ENTITY}|new.hire@corp.example.com").user_id)
    assert user.full_name == "New Hire" and user.status == "pending"


def test_a_response_signed_by_another_key_is_refused(
    client: TestClient, idp: IdentityProvider, idp_files: tuple[str, str, str, str]
) -> None:
    _, _, impostor_key, impostor_cert = idp_files
    impostor = IdentityProvider(
        Server(
            config=idp_config(
                impostor_key,
                impostor_cert,
                create_metadata_string(None, config=saml_sp.SamlServiceProvider()._sp().config).decode(),
            )
        ),
        "",
    )
    start = begin(client)
    forged = impostor.respond(start["redirect_url"], "grace@corp.example.com")
    posted = client.post("/api/v1/auth/saml/acs", data={"SAMLResponse": forged, "RelayState": start["relay_state"]})
    assert posted.status_code == 401 and posted.json()["error"]["code"] == "saml_invalid_response"


def test_a_tampered_assertion_is_refused(client: TestClient, idp: IdentityProvider) -> None:
    start = begin(client)
    genuine = base64.b64decode(idp.respond(start["redirect_url"], "grace@corp.example.com")).decode()
    tampered = base64.b64encode(genuine.replace("grace@corp.example.com", "admin@corp.example.com").encode()).decode()
    posted = client.post("/api/v1/auth/saml/acs", data={"SAMLResponse": tampered, "RelayState": start["relay_state"]})
    assert posted.status_code == 401 and posted.json()["error"]["code"] == "saml_invalid_response"


def test_replayed_or_unsolicited_responses_are_refused(
    client: TestClient, idp: IdentityProvider, make_user: Any
) -> None:
    make_user(email="grace@corp.example.com")
    start = begin(client)
    response = idp.respond(start["redirect_url"], "grace@corp.example.com")
    form = {"SAMLResponse": response, "RelayState": start["relay_state"]}
    assert client.post("/api/v1/auth/saml/acs", data=form).status_code == 200
    replay = client.post("/api/v1/auth/saml/acs", data=form)
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "saml_state_invalid"
    other = begin(client)  # a fresh request: the old response answers a different AuthnRequest
    mismatched = client.post(
        "/api/v1/auth/saml/acs", data={"SAMLResponse": response, "RelayState": other["relay_state"]}
    )
    assert mismatched.status_code == 401
    assert client.post("/api/v1/auth/saml/acs", data={"RelayState": "x"}).status_code == 401


def test_the_service_provider_publishes_its_metadata(client: TestClient, idp: IdentityProvider) -> None:
    response = client.get("/api/v1/auth/saml/metadata")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert "AssertionConsumerService" in response.text and f"{BASE}/api/v1/auth/saml/acs" in response.text


def test_unconfigured_saml_is_503(client: TestClient, aws: Any) -> None:
    reset_settings()
    response = client.post("/api/v1/auth/saml/login")
    assert response.status_code == 503 and response.json()["error"]["code"] == "saml_not_configured"
