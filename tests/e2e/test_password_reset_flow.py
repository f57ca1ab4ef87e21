"""End to end: a user resets a forgotten password through the email the local runtime sent with SES."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, RunningPlatform, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OLD_PASSWORD = "Forgotten-Passw0rd-1!"
NEW_PASSWORD = "Remembered-Passw0rd-2?"


def embedded_aws_url(platform: RunningPlatform) -> str:
    """The runtime prints "Embedded AWS  http://..." once it is up."""
    found = wait_for(lambda: re.search(r"Embedded AWS\s+(http://\S+)", platform.log_path.read_text()))
    return str(found.group(1))


def reset_emails_to(aws_url: str, email: str) -> list[dict[str, Any]]:
    data = httpx.get(f"{aws_url}/moto-api/data.json", timeout=10).json()
    return [
        m
        for m in data.get("ses", {}).get("Message", [])
        # The platform mails the same address for other reasons too (notifications).
        if email in m["destinations"].get("ToAddresses", []) and "/reset-password?token=" in m["body"]
    ]


def test_a_user_resets_a_forgotten_password_through_the_emailed_link(
    platform: RunningPlatform, api: httpx.Client
) -> None:
    admin = api.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    email = f"forgetful-{uuid.uuid4().hex[:8]}@example.com"
    user = api.post("/api/v1/auth/register", json={"email": email, "password": OLD_PASSWORD, "full_name": "Forgetful"})
    assert user.status_code == 201, user.text
    assert api.post(f"/api/v1/admin/users/{user.json()['id']}/approve", headers=admin_headers).status_code == 200
    old_session = api.post("/api/v1/auth/login", json={"email": email, "password": OLD_PASSWORD}).json()

    requested = api.post("/api/v1/auth/password-reset/request", json={"email": email})
    assert requested.status_code == 202, requested.text
    aws_url = embedded_aws_url(platform)
    [message] = wait_for(lambda: reset_emails_to(aws_url, email), timeout=60)  # "within a minute"
    link = re.search(r"http://\S+/reset-password\?token=[A-Za-z0-9_\-%]+", message["body"])
    assert link, message["body"]
    assert link.group(0).startswith(platform.base_url), "the link points at the running app"
    token = parse_qs(urlsplit(link.group(0)).query)["token"][0]

    confirmed = api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert confirmed.status_code == 204, confirmed.text
    again = api.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_reset_token"

    old_headers = {"Authorization": f"Bearer {old_session['access_token']}"}
    assert api.get("/api/v1/users/me", headers=old_headers).status_code == 401, "the old session ended"
    assert api.post("/api/v1/auth/login", json={"email": email, "password": OLD_PASSWORD}).status_code == 401
    fresh = api.post("/api/v1/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert fresh.status_code == 200, fresh.text
    me = api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == email
    assert me.headers["x-frame-options"] == "DENY" and me.headers["x-content-type-options"] == "nosniff"
