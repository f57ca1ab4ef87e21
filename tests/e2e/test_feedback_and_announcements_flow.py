"""The five notification types of issue 11 (section 6) through the local runtime: each arrives at
the right user from the real flow (HTTP call -> bus -> notify worker -> stored notification)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, wait_for
from tests.e2e.test_notifications_flow import approved_user, login, notification_types

pytestmark = pytest.mark.e2e


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_feedback_answers_maintenance_and_features_reach_the_right_users(api: httpx.Client) -> None:
    admin = login(api, ADMIN_EMAIL, ADMIN_PASSWORD)
    _, _, host = approved_user(api, admin, "hostess", role="host")
    guest_id, _, guest = approved_user(api, admin, "guest")
    _, _, bystander = approved_user(api, admin, "bystander")

    meeting = api.post(
        "/api/v1/meetings",
        headers=host,
        json={"title": "Rated lesson", "scheduled_at": iso(datetime.now(UTC) + timedelta(hours=1))},
    ).json()["id"]
    assert (
        api.post(f"/api/v1/meetings/{meeting}/participants", headers=host, json={"user_ids": [guest_id]}).status_code
        == 200
    )
    assert api.post(f"/api/v1/meetings/{meeting}/start", headers=host).status_code == 200
    assert api.post(f"/api/v1/meetings/{meeting}/join", headers=guest).status_code == 200
    assert api.post(f"/api/v1/meetings/{meeting}/end", headers=host).status_code == 200

    feedback = api.post(f"/api/v1/meetings/{meeting}/feedback", headers=guest, json={"rating": 5, "comment": "Great"})
    assert feedback.status_code == 201, feedback.text
    question = api.post(f"/api/v1/meetings/{meeting}/questions", headers=guest, json={"text": "Slides?"}).json()
    answer = api.post(
        f"/api/v1/meetings/{meeting}/questions/{question['id']}/answer", headers=host, json={"text": "Yes"}
    )
    assert answer.status_code == 200, answer.text

    wait_for(lambda: {"new_feedback_received", "rating_received"} <= set(notification_types(api, host)), timeout=20)
    wait_for(lambda: "question_answered" in notification_types(api, guest), timeout=20)

    starts = datetime.now(UTC) + timedelta(days=1)
    maintenance = api.post(
        "/api/v1/admin/maintenance",
        headers=admin,
        json={"starts_at": iso(starts), "ends_at": iso(starts + timedelta(hours=2)), "message": "Upgrade"},
    )
    assert maintenance.status_code == 202, maintenance.text
    feature = api.post("/api/v1/admin/features", headers=admin, json={"title": "Q&A", "description": "Ask away"})
    assert feature.status_code == 202, feature.text

    for headers in (host, guest, bystander):
        wait_for(
            lambda headers=headers: (
                {"system_maintenance_scheduled", "new_feature_available"} <= set(notification_types(api, headers))
            ),
            timeout=20,
        )
    # Feedback and answers went to their one recipient only.
    assert not {"new_feedback_received", "rating_received", "question_answered"} & set(
        notification_types(api, bystander)
    )
    assert "question_answered" not in notification_types(api, host)
    assert "rating_received" not in notification_types(api, guest)
