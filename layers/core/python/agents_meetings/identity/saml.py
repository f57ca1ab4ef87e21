"""SAML 2.0 sign-in for enterprises (pysaml2): the platform is the Service Provider.

Start: an AuthnRequest through the HTTP-Redirect binding, its id kept server-side (single use,
10 minutes). Finish: the IdP posts a Response to the assertion consumer service; pysaml2 verifies
the signature against the IdP's certificate from its metadata, the audience, the validity
window, the destination and InResponseTo. Unsolicited responses are refused.

Signatures are checked by the xmlsec1 binary where it is installed (Debian ``xmlsec1``) and
otherwise by pyXMLSecurity, pure Python on ``cryptography`` and ``lxml``: the Lambda runtime has no
xmlsec1, and this keeps the auth function a plain zip (``SAML_CRYPTO_BACKEND`` forces either).
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from agents_meetings.clock import utcnow
from agents_meetings.errors import ServiceUnavailable, Unauthenticated
from agents_meetings.identity.federation import consume_pending_sign_in
from agents_meetings.observability import logger
from agents_meetings.settings import Settings, get_settings
from agents_meetings.tables import OAuthStateModel

PROVIDER = "saml"
REQUEST_TTL = timedelta(minutes=10)
EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
)
NAME_ATTRIBUTES = ("displayName", "cn", "name", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name")


@dataclass(frozen=True)
class SamlStart:
    redirect_url: str
    relay_state: str
    expires_in: int


def acs_url(settings: Settings) -> str:
    return f"{settings.oauth_redirect_base_url.rstrip('/')}/api/v1/auth/saml/acs"


def sp_entity_id(settings: Settings) -> str:
    return settings.saml_sp_entity_id or f"{settings.oauth_redirect_base_url.rstrip('/')}/api/v1/auth/saml/metadata"


@lru_cache(maxsize=4)
def _client(entity_id: str, acs: str, idp_metadata: str, crypto_backend: str, xmlsec: str | None) -> Any:
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    config = SPConfig()
    config.load(
        {
            "entityid": entity_id,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "allow_unsolicited": False,
                    "authn_requests_signed": False,
                }
            },
            "metadata": {"inline": [idp_metadata]},
            "crypto_backend": crypto_backend,
            **({"xmlsec_binary": xmlsec} if xmlsec else {}),
            "allow_unknown_attributes": True,
        }
    )
    return Saml2Client(config=config)


def crypto_backend(settings: Settings) -> tuple[str, str | None]:
    """pysaml2's signature backend and, for xmlsec1, the binary's path."""
    xmlsec = shutil.which("xmlsec1")
    choice = settings.saml_crypto_backend
    if choice == "xmlsec1" or (choice == "auto" and xmlsec):
        return "xmlsec1", xmlsec or "/usr/bin/xmlsec1"
    return "XMLSecurity", None


class SamlServiceProvider:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    def _sp(self) -> Any:
        settings = self._settings
        if not settings.saml_idp_metadata:
            raise ServiceUnavailable(
                "SAML sign-in is not configured on this platform.", code="saml_not_configured", retry_after_seconds=3600
            )
        backend, xmlsec = crypto_backend(settings)
        return _client(sp_entity_id(settings), acs_url(settings), settings.saml_idp_metadata, backend, xmlsec)

    def metadata_xml(self) -> str:
        from saml2.metadata import create_metadata_string

        return str(create_metadata_string(None, config=self._sp().config).decode())

    def start(self) -> SamlStart:
        from saml2 import BINDING_HTTP_REDIRECT

        sp = self._sp()
        relay_state = secrets.token_urlsafe(32)
        idp_entity_id = next(iter(sp.metadata.identity_providers()))
        request_id, info = sp.prepare_for_authenticate(
            entityid=idp_entity_id, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT
        )
        now = utcnow()
        # Reuses the pending-sign-in table: state = RelayState, nonce = the AuthnRequest id.
        OAuthStateModel(
            state=relay_state,
            provider=PROVIDER,
            nonce=str(request_id),
            code_verifier="-",
            created_at=now,
            expires_at=now + REQUEST_TTL,
        ).save(condition=OAuthStateModel.state.does_not_exist())
        location = dict(info["headers"])["Location"]
        return SamlStart(redirect_url=location, relay_state=relay_state, expires_in=int(REQUEST_TTL.total_seconds()))

    def finish(self, saml_response: str, relay_state: str) -> dict[str, Any]:
        """The verified assertion as claims (``sub`` = NameID, ``email``, ``name``)."""
        from saml2 import BINDING_HTTP_POST

        refused = Unauthenticated(
            "The SAML sign-in could not be verified; please start again.", code="saml_invalid_response"
        )
        request_id = str(
            consume_pending_sign_in(
                relay_state,
                PROVIDER,
                code="saml_state_invalid",
                message="This sign-in is unknown, used or expired; please start again.",
            ).nonce
        )
        sp = self._sp()
        try:
            response = sp.parse_authn_request_response(
                saml_response, BINDING_HTTP_POST, outstanding={request_id: acs_url(self._settings)}
            )
        except Exception as exc:
            logger.warning("SAML response refused", extra={"error": type(exc).__name__})
            raise refused from exc
        if response is None or response.in_response_to != request_id or not response.assertion:
            raise refused
        identity = response.get_identity() or {}
        name_id = response.name_id.text if response.name_id is not None else None
        if not name_id:
            raise refused
        email = _first(identity, EMAIL_ATTRIBUTES) or (name_id if "@" in name_id else None)
        issuer = response.issuer()
        return {
            "sub": f"{issuer}|{name_id}",
            "email": email,
            "email_verified": bool(email),
            "name": _first(identity, NAME_ATTRIBUTES),
        }


def _first(identity: dict[str, list[str]], names: tuple[str, ...]) -> str | None:
    for name in names:
        values = identity.get(name)
        if values:
            return str(values[0])
    return None
