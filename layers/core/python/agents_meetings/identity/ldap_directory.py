"""Sign-in against an LDAP / Active Directory directory (ldap3): find the user with the service
account, then bind as the user with the password given. The directory vouches for the identity;
the platform account is linked or created through FederatedSignIn.complete like OpenID sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents_meetings.errors import ServiceUnavailable, Unauthenticated
from agents_meetings.identity.federation_secrets import federation_secret
from agents_meetings.observability import logger
from agents_meetings.settings import Settings, get_settings

PROVIDER = "ldap"
ATTRIBUTES = ["mail", "cn", "displayName"]
REFUSED = "Username or password is incorrect."


@dataclass(frozen=True)
class DirectoryIdentity:
    dn: str
    email: str | None
    name: str | None

    def claims(self) -> dict[str, Any]:
        # The directory is authoritative for its users' mail: it counts as verified.
        return {"sub": self.dn.lower(), "email": self.email, "email_verified": bool(self.email), "name": self.name}


class LdapDirectory:
    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    def _server(self) -> Any:
        from ldap3 import Server

        if not self._settings.ldap_url:
            raise ServiceUnavailable(
                "Directory sign-in is not configured on this platform.",
                code="ldap_not_configured",
                retry_after_seconds=3600,
            )
        return Server(self._settings.ldap_url, connect_timeout=5, get_info="NO_INFO")

    def _connection(self, server: Any, user: str | None, password: str | None) -> Any:
        from ldap3 import Connection

        connection = Connection(
            server, user=user, password=password, receive_timeout=10, raise_exceptions=False, auto_referrals=False
        )
        if self._settings.ldap_start_tls:
            connection.open()
            connection.start_tls()
        return connection

    def authenticate(self, username: str, password: str) -> DirectoryIdentity:
        from ldap3.core.exceptions import LDAPException
        from ldap3.utils.conv import escape_filter_chars

        # An empty password is an "unauthenticated bind" that many directories accept: never try it.
        if not username.strip() or not password:
            raise Unauthenticated(REFUSED, code="invalid_credentials")
        server = self._server()
        settings = self._settings
        try:
            service = self._connection(
                server,
                settings.ldap_bind_dn,
                federation_secret("ldap_bind_password", settings.ldap_bind_password, settings),
            )
            if not service.bind():
                logger.error("directory service bind failed", extra={"result": service.result.get("description")})
                raise ServiceUnavailable(
                    "The directory refused the platform's service account.",
                    code="ldap_unavailable",
                    retry_after_seconds=60,
                )
            search_filter = settings.ldap_user_filter.format(username=escape_filter_chars(username.strip()))
            service.search(settings.ldap_user_base_dn, search_filter, attributes=ATTRIBUTES, size_limit=2)
            entries = list(service.entries)
            service.unbind()
            if len(entries) != 1:  # none, or ambiguous: refuse without saying which
                raise Unauthenticated(REFUSED, code="invalid_credentials")
            entry = entries[0]
            user = self._connection(server, entry.entry_dn, password)
            if not user.bind():
                raise Unauthenticated(REFUSED, code="invalid_credentials")
            user.unbind()
        except LDAPException as exc:
            logger.error("directory unreachable", extra={"error": type(exc).__name__})
            raise ServiceUnavailable(
                "The directory is unreachable; try again.", code="ldap_unavailable", retry_after_seconds=30
            ) from exc
        return DirectoryIdentity(
            dn=str(entry.entry_dn),
            email=_first(entry, "mail"),
            name=_first(entry, "displayName") or _first(entry, "cn"),
        )


def _first(entry: Any, attribute: str) -> str | None:
    if attribute not in entry.entry_attributes:
        return None
    values = entry[attribute].values
    return str(values[0]) if values else None
