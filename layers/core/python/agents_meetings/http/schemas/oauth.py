"""Bodies of federated sign-in: /api/v1/auth/oauth, /api/v1/auth/ldap, /api/v1/auth/saml."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from agents_meetings.http.schemas.common import (
    PlainLine,
)


class AuthorizeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "authorization_url": "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&...",
                    "state": "3q2-7w...",
                    "expires_in": 600,
                }
            ]
        }
    )
    authorization_url: str = Field(description="Send the browser here; the provider redirects back to callback")
    state: str
    expires_in: int


class DirectoryLoginIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"username": "ada", "password": "directory password"}]}
    )
    username: Annotated[PlainLine, Field(min_length=1, max_length=256)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class SamlStartOut(BaseModel):
    redirect_url: str = Field(description="Send the browser here (the IdP's single sign-on service)")
    relay_state: str
    expires_in: int
