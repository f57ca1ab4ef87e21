"""Issue 7's e2e check: hitting the login limit (5 per 15 minutes per IP) through the local runtime
gives 429 with an accurate Retry-After, the rate-limit headers and a message naming the limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, start_platform

pytestmark = pytest.mark.e2e


def test_the_login_limit_answers_429_with_the_right_retry_after(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "data", tmp_path / "runtime.log", extra_env={"RATE_LIMIT_ENABLED": "true"})
    try:
        with platform.client() as api:
            wrong = {"email": ADMIN_EMAIL, "password": "not-the-password-1!"}
            for attempt in range(5):
                response = api.post("/api/v1/auth/login", json=wrong)
                assert response.status_code == 401, (attempt, response.text)
                assert response.headers["X-RateLimit-Limit"] == "5"
                assert int(response.headers["X-RateLimit-Remaining"]) == 4 - attempt
            limited = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            assert limited.status_code == 429, limited.text
            error = limited.json()["error"]
            assert error["code"] == "rate_limited" and "login" in error["message"].lower()
            retry_after = int(limited.headers["Retry-After"])
            # The 15-minute window (sliding): the caller may retry within it, never later than two windows.
            assert 0 < retry_after <= 2 * 15 * 60
            assert limited.headers["X-RateLimit-Remaining"] == "0"
            assert int(limited.headers["X-RateLimit-Reset"]) > 0
            # Other routes keep their own budget: the API is not shut for this caller.
            assert api.get("/api/v1/health").status_code == 200
    finally:
        assert platform.stop() == 0
