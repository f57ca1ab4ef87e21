"""One token check per request (issue 12): the rate-limit middleware and the route's principal share
the access token's verification; the route then reads the account once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import test_rate_limits_api
from http_support import assert_error
from jose import jwt

pytestmark = pytest.mark.integration

rate_limiting = test_rate_limits_api.rate_limiting  # the fixture: turns rate limiting on

ME = "/api/v1/users/me"
LIMITS = "/api/v1/admin/rate-limits"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every JWT verification (python-jose's decode), whoever calls it."""
    seen: list[str] = []
    original = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return original(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return seen


def test_the_access_token_is_decoded_once_per_request_with_the_rate_limiter_on(
    client: Any, make_user: Any, rate_limiting: Callable[[], None], decodes: list[str]
) -> None:
    user = make_user()
    rate_limiting()
    decodes.clear()
    response = client.get(ME, headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-RateLimit-Limit"] == "200"
    assert len(decodes) == 1


def test_the_access_token_is_decoded_once_per_admin_request(
    client: Any, admin: Any, rate_limiting: Callable[[], None], decodes: list[str]
) -> None:
    rate_limiting()
    decodes.clear()
    assert client.get(LIMITS, headers=admin.headers).status_code == 200
    assert len(decodes) == 1


def test_a_forged_token_is_refused_and_limited_by_ip(
    client: Any, rate_limiting: Callable[[], None], decodes: list[str]
) -> None:
    rate_limiting()
    response = client.get(ME, headers={"Authorization": "Bearer not-a-token"})
    assert_error(response, 401, "invalid_token")
    assert response.headers["X-RateLimit-Limit"] == "10"
