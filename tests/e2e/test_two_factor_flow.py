"""Two-factor authentication on the local runtime with the admin rule on, as a user goes through it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, start_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


STRICT = {"ADMIN_2FA_REQUIRED": "true"}


@pytest.fixture()
def strict_platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "data", tmp_path / "runtime.log", extra_env=STRICT)
    yield running
    running.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _challenge(api: httpx.Client) -> str:
    response = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["two_factor_required"] is True and "access_token" not in body, body
    return str(body["challenge_token"])


def test_an_admin_enrols_2fa_signs_in_with_it_and_uses_a_backup_code_once(strict_platform: RunningPlatform) -> None:
    with strict_platform.client() as api:
        login = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        headers = _bearer(login.json()["access_token"])

        refused = api.get("/api/v1/admin/users", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "two_factor_required"

        started = api.post("/api/v1/auth/2fa/enable", headers=headers)
        assert started.status_code == 200, started.text
        app = pyotp.TOTP(pyotp.parse_uri(started.json()["otpauth_uri"]).secret)  # the authenticator app
        verified = api.post("/api/v1/auth/2fa/verify", json={"code": app.now()}, headers=headers)
        assert verified.status_code == 200, verified.text
        backup_codes = verified.json()["backup_codes"]
        assert len(backup_codes) == 10
        assert api.get("/api/v1/admin/users", headers=headers).status_code == 200

        # Two-step login with the app. The code that activated 2FA is spent; the app's next code
        # (inside the accepted drift) signs in without waiting for the next 30-second step.
        challenge = _challenge(api)
        code = app.at(time.time(), counter_offset=1)
        signed_in = api.post("/api/v1/auth/2fa/login", json={"challenge_token": challenge, "code": code})
        assert signed_in.status_code == 200, signed_in.text
        fresh = _bearer(signed_in.json()["access_token"])
        assert api.get("/api/v1/admin/users", headers=fresh).status_code == 200

        # A backup code works once; the second time it is refused.
        first = api.post(
            "/api/v1/auth/2fa/login",
            json={"challenge_token": _challenge(api), "method": "backup_code", "code": backup_codes[0]},
        )
        assert first.status_code == 200, first.text
        second = api.post(
            "/api/v1/auth/2fa/login",
            json={"challenge_token": _challenge(api), "method": "backup_code", "code": backup_codes[0]},
        )
        assert second.status_code == 401, second.text
        assert second.json()["error"]["code"] == "invalid_two_factor_code"

    # The sealed secrets survive a restart: the local KMS key keeps its id and material.
    assert strict_platform.stop() == 0
    restarted = start_platform(strict_platform.data_dir, strict_platform.log_path, extra_env=STRICT)
    try:
        with restarted.client() as api:
            again = api.post(
                "/api/v1/auth/2fa/login",
                json={"challenge_token": _challenge(api), "method": "backup_code", "code": backup_codes[1]},
            )
            assert again.status_code == 200, again.text
    finally:
        restarted.stop()
