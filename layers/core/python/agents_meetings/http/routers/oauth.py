"""/api/v1/auth/oauth: sign in with Google or Microsoft (OpenID Connect, authorization code + PKCE);
/api/v1/auth/ldap: sign in with an LDAP / Active Directory account; /api/v1/auth/saml: enterprise SAML 2.0."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from agents_meetings.errors import Unauthenticated
from agents_meetings.http.dependencies import publisher
from agents_meetings.http.errors import error_responses
from agents_meetings.http.origin import client_ip
from agents_meetings.http.schemas.auth import TokenOut
from agents_meetings.http.schemas.oauth import AuthorizeOut, DirectoryLoginIn, SamlStartOut
from agents_meetings.http.schemas.two_factor import TwoFactorChallengeOut
from agents_meetings.http.sign_in import sign_in_response
from agents_meetings.identity import ldap_directory, saml
from agents_meetings.identity.federation import FederatedSignIn

router = APIRouter(prefix="/api/v1/auth/oauth", tags=["auth: sign in with Google / Microsoft"])

Provider = Annotated[Literal["google", "microsoft"], Path(description="Identity provider")]
Text = Annotated[str | None, Query(max_length=2048)]


@router.post(
    "/{provider}/authorize",
    response_model=AuthorizeOut,
    responses=error_responses(404, 503),
    summary="Start signing in with a provider: returns the URL to send the browser to",
)
async def authorize(provider: Provider) -> AuthorizeOut:
    start = FederatedSignIn(await publisher()).start(provider)
    return AuthorizeOut(authorization_url=start.authorization_url, state=start.state, expires_in=start.expires_in)


@router.get(
    "/{provider}/callback",
    response_model=TokenOut | TwoFactorChallengeOut,
    responses=error_responses(401, 403, 404, 503),
    summary="Where the provider sends the browser back: verifies everything, signs in",
)
async def callback(
    provider: Provider,
    request: Request,
    code: Text = None,
    state: Text = None,
    error: Text = None,
    error_description: Text = None,
) -> TokenOut | TwoFactorChallengeOut:
    if error:
        raise Unauthenticated(
            f"The provider did not sign you in: {error_description or error}.",
            code="oauth_denied",
            details={"provider_error": error},
        )
    if not code or not state:
        raise Unauthenticated("The callback needs the provider's code and state.", code="oauth_state_invalid")
    sign_in = FederatedSignIn(await publisher())
    return sign_in_response(lambda: sign_in.finish(provider, code=code, state=state, actor_ip=client_ip(request)).pair)


directory_router = APIRouter(prefix="/api/v1/auth/ldap", tags=["auth: directory (LDAP / Active Directory)"])


@directory_router.post(
    "/login",
    response_model=TokenOut | TwoFactorChallengeOut,
    responses=error_responses(401, 403, 503),
    summary="Sign in with a directory (LDAP / Active Directory) username and password",
)
async def directory_login(body: DirectoryLoginIn, request: Request) -> TokenOut | TwoFactorChallengeOut:
    identity = ldap_directory.LdapDirectory().authenticate(body.username, body.password)
    sign_in = FederatedSignIn(await publisher())
    return sign_in_response(
        lambda: sign_in.complete(ldap_directory.PROVIDER, identity.claims(), {}, actor_ip=client_ip(request)).pair
    )


saml_router = APIRouter(prefix="/api/v1/auth/saml", tags=["auth: enterprise SAML 2.0"])


@saml_router.post(
    "/login",
    response_model=SamlStartOut,
    responses=error_responses(503),
    summary="Start enterprise sign-in: returns the identity provider URL to send the browser to",
)
async def saml_login() -> SamlStartOut:
    start = saml.SamlServiceProvider().start()
    return SamlStartOut(redirect_url=start.redirect_url, relay_state=start.relay_state, expires_in=start.expires_in)


@saml_router.post(
    "/acs",
    response_model=TokenOut | TwoFactorChallengeOut,
    responses=error_responses(401, 403, 503),
    summary="Assertion consumer service: the identity provider posts its signed response here",
)
async def saml_acs(request: Request) -> TokenOut | TwoFactorChallengeOut:
    form = await request.form()
    saml_response, relay_state = form.get("SAMLResponse"), form.get("RelayState")
    if not isinstance(saml_response, str) or not isinstance(relay_state, str) or len(saml_response) > 500_000:
        raise Unauthenticated("Post SAMLResponse and RelayState as a form.", code="saml_invalid_response")
    claims = saml.SamlServiceProvider().finish(saml_response, relay_state)
    sign_in = FederatedSignIn(await publisher())
    return sign_in_response(lambda: sign_in.complete(saml.PROVIDER, claims, {}, actor_ip=client_ip(request)).pair)


@saml_router.get(
    "/metadata",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}, **error_responses(503)},
    summary="This service provider's SAML metadata, for the identity provider's administrator",
)
async def saml_metadata() -> Response:
    return Response(saml.SamlServiceProvider().metadata_xml(), media_type="application/xml")
