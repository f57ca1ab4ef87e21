"""Recording control (spec 1.1) through the API and moto, against the LiveKit emulator driven by the
real livekit-api client: start/stop, webhooks (signed, unsigned, tampered, duplicate), reconcile,
failures, the authorisation matrix, storage policies and retention, auto-recording."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.recordings.enums import manifest_key
from agents_meetings.settings import get_settings, reset_settings
from agents_meetings.tables import MeetingModel, RecordingJobModel
from http_support import assert_error, eventbridge_event, future, sqs_event

from infra.local.livekit_emulator import LiveKitEmulator

pytestmark = pytest.mark.integration

START, STOP, RECORDINGS = "/api/v1/recordings/start", "/api/v1/recordings/stop", "/api/v1/recordings"
WEBHOOK = "/api/v1/webhooks/livekit"
POLICIES = "/api/v1/admin/storage-policies"


@pytest.fixture
def livekit(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveKitEmulator]:
    """The emulator on a free port; its webhooks are kept for the test to deliver (or not)."""
    settings = get_settings()
    emulator = LiveKitEmulator(
        settings.livekit_api_key or "",
        settings.livekit_api_secret.get_secret_value() if settings.livekit_api_secret else "",
        max_duration_seconds=2.0,
        min_duration_seconds=1.0,
    ).start()
    monkeypatch.setenv("LIVEKIT_URL", emulator.url)
    reset_settings()
    yield emulator
    emulator.wait_idle()
    emulator.stop()
    monkeypatch.undo()
    reset_settings()


class Recorder:
    def __init__(self, client: Any, livekit: LiveKitEmulator, aws: Any) -> None:
        self.client, self.livekit, self.aws = client, livekit, aws
        self.delivered = 0

    def live_meeting(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        body = {"title": "Algebra 101", "scheduled_at": future(), "languages": ["en", "es"], **fields}
        created = self.client.post("/api/v1/meetings", json=body, headers=headers)
        assert created.status_code == 201, created.text
        meeting = created.json()
        started = self.client.post(f"/api/v1/meetings/{meeting['id']}/start", headers=headers)
        assert started.status_code == 200, started.text
        return dict(started.json())

    def start(self, headers: dict[str, str], meeting_id: str, **options: Any) -> Any:
        return self.client.post(START, json={"meeting_id": meeting_id, "options": options}, headers=headers)

    def stop(self, headers: dict[str, str], meeting_id: str) -> Any:
        return self.client.post(STOP, json={"meeting_id": meeting_id}, headers=headers)

    def deliver_webhooks(self) -> list[dict[str, Any]]:
        """Post every webhook the emulator has sent since the last call, as LiveKit would."""
        self.livekit.wait_idle()
        outcomes = []
        for hook in self.livekit.webhooks_sent[self.delivered :]:
            response = self.client.post(
                WEBHOOK,
                content=hook.body,
                headers={"Authorization": hook.authorization, "Content-Type": "application/webhook+json"},
            )
            assert response.status_code == 200, response.text
            outcomes.append(response.json())
        self.delivered = len(self.livekit.webhooks_sent)
        return outcomes

    def recorded(self, headers: dict[str, str], teacher_meeting: dict[str, Any], **options: Any) -> dict[str, Any]:
        started = self.start(headers, teacher_meeting["id"], **options)
        assert started.status_code == 201, started.text
        stopped = self.stop(headers, teacher_meeting["id"])
        assert stopped.status_code == 200, stopped.text
        self.deliver_webhooks()
        return dict(self.client.get(f"{RECORDINGS}/{started.json()['id']}", headers=headers).json())


@pytest.fixture
def recorder(client: Any, livekit: LiveKitEmulator, aws: Any) -> Recorder:
    return Recorder(client, livekit, aws)


def _manifest(aws: Any, recording_id: str) -> dict[str, Any]:
    body = aws.client("s3").get_object(Bucket=get_settings().s3_bucket_name, Key=manifest_key(recording_id))["Body"]
    return dict(json.loads(body.read()))


def test_recordings_start_and_stop_reliably_raw_files_and_manifest_land_in_the_bucket(
    recorder: Recorder, make_user: Any, aws: Any
) -> None:
    teacher = make_user("teacher")
    meeting = recorder.live_meeting(teacher.headers, meeting_type="classroom")
    started = recorder.start(teacher.headers, meeting["id"], format="mp4")
    assert started.status_code == 201, started.text
    recording = started.json()
    assert recording["status"] == "recording" and recording["output_format"] == "mp4"
    kinds = [(t["track_type"], t["language"]) for t in recording["tracks"]]
    assert kinds == [("composite", None), ("audio_only", "en"), ("audio_only", "es")]
    assert all(t["download"] is None for t in recording["tracks"])
    [event] = aws.events_of(DomainEvent.RECORDING_STARTED)
    assert event["recording_id"] == recording["id"] and event["started_by"] == teacher.id
    assert MeetingModel.get(meeting["id"]).recording_id == recording["id"]

    assert_error(recorder.start(teacher.headers, meeting["id"]), 409, "recording_in_progress")

    stopped = recorder.stop(teacher.headers, meeting["id"])
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["stopped_at"] is not None
    assert aws.events_of(DomainEvent.RECORDING_STOPPED)[0]["recording_id"] == recording["id"]
    outcomes = recorder.deliver_webhooks()
    assert [o["outcome"] for o in outcomes if o["event"] == "egress_ended"] == ["finished"] * 3

    details = recorder.client.get(f"{RECORDINGS}/{recording['id']}", headers=teacher.headers).json()
    assert details["status"] == "processing"
    manifest = _manifest(aws, recording["id"])
    assert manifest["recording_id"] == recording["id"] and manifest["meeting_id"] == meeting["id"]
    assert manifest["output_format"] == "mp4" and manifest["languages"] == ["en", "es"]
    s3 = aws.client("s3")
    for track in manifest["tracks"]:
        extension = "mp4" if track["track_type"] == "composite" else "ogg"
        assert track["file_path"] == f"recordings/{recording['id']}/raw/{track['id']}.{extension}"
        head = s3.head_object(Bucket=get_settings().s3_bucket_name, Key=track["file_path"])
        assert head["ContentLength"] == track["file_size_bytes"] > 1000
    composite = s3.get_object(Bucket=get_settings().s3_bucket_name, Key=manifest["tracks"][0]["file_path"])[
        "Body"
    ].read()
    assert composite[4:8] == b"ftyp"  # a real MP4
    for track in details["tracks"]:
        assert track["egress_status"] == "complete" and track["download"]["url"].startswith("https://")
    # The meeting is free again: a new recording may start.
    assert MeetingModel.get(meeting["id"]).recording_id is None
    assert_error(recorder.stop(teacher.headers, meeting["id"]), 409, "not_recording")


def test_webm_format_and_unknown_format(recorder: Recorder, make_user: Any, aws: Any) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["fr"])
    assert_error(recorder.start(host.headers, meeting["id"], format="avi"), 422)
    details = recorder.recorded(host.headers, meeting, format="webm", include_audio_tracks=False)
    assert [t["track_type"] for t in details["tracks"]] == ["composite"]
    [track] = _manifest(aws, details["id"])["tracks"]
    assert track["file_path"].endswith(".webm")
    body = aws.client("s3").get_object(Bucket=get_settings().s3_bucket_name, Key=track["file_path"])["Body"].read()
    assert body[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a real WebM


def test_a_meeting_that_is_not_live_cannot_be_recorded(recorder: Recorder, make_user: Any) -> None:
    host = make_user("host")
    created = recorder.client.post(
        "/api/v1/meetings", json={"title": "Later", "scheduled_at": future()}, headers=host.headers
    ).json()
    assert_error(recorder.start(host.headers, created["id"]), 409, "meeting_not_live")
    assert_error(recorder.stop(host.headers, created["id"]), 409, "not_recording")
    assert RecordingJobModel.count() == 0


def test_only_the_host_or_an_admin_starts_participants_read_others_get_404(
    recorder: Recorder, make_user: Any, admin_headers: dict[str, str]
) -> None:
    host, invited, outsider = make_user("host"), make_user(), make_user("teacher")
    meeting = recorder.live_meeting(host.headers)
    invite = recorder.client.post(
        f"/api/v1/meetings/{meeting['id']}/participants", json={"user_ids": [invited.id]}, headers=host.headers
    )
    assert invite.status_code == 200, invite.text
    assert_error(recorder.start(invited.headers, meeting["id"]), 403, "host_required")
    assert_error(recorder.start(outsider.headers, meeting["id"]), 404)
    started = recorder.start(admin_headers, meeting["id"])
    assert started.status_code == 201, started.text
    recording_id = started.json()["id"]
    assert recorder.client.get(f"{RECORDINGS}/{recording_id}", headers=invited.headers).status_code == 200
    assert_error(
        recorder.client.get(f"{RECORDINGS}/{recording_id}", headers=outsider.headers), 404, "recording_not_found"
    )
    assert_error(recorder.client.get(f"{RECORDINGS}/{recording_id}"), 401)
    assert_error(recorder.stop(invited.headers, meeting["id"]), 403)
    assert_error(recorder.stop(outsider.headers, meeting["id"]), 404)
    listed = recorder.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=invited.headers)
    assert [r["id"] for r in listed.json()["items"]] == [recording_id]
    assert_error(recorder.client.get(f"/api/v1/meetings/{meeting['id']}/recordings", headers=outsider.headers), 404)
    assert recorder.stop(host.headers, meeting["id"]).status_code == 200


def test_meeting_recordings_are_listed_newest_first_with_a_cursor(recorder: Recorder, make_user: Any) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    ids = []
    for _ in range(3):
        started = recorder.start(host.headers, meeting["id"], include_audio_tracks=False)
        assert started.status_code == 201, started.text
        ids.append(started.json()["id"])
        assert recorder.stop(host.headers, meeting["id"]).status_code == 200
    url = f"/api/v1/meetings/{meeting['id']}/recordings"
    first = recorder.client.get(url, params={"limit": 2}, headers=host.headers).json()
    second = recorder.client.get(url, params={"limit": 2, "cursor": first["next_cursor"]}, headers=host.headers).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


def test_webhooks_unsigned_tampered_or_wrongly_signed_get_401_and_change_nothing(
    recorder: Recorder, make_user: Any
) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    recording_id = recorder.start(host.headers, meeting["id"], include_audio_tracks=False).json()["id"]
    assert recorder.stop(host.headers, meeting["id"]).status_code == 200
    recorder.livekit.wait_idle()
    ended = next(h for h in recorder.livekit.webhooks_sent if h.event == "egress_ended")
    wrong = LiveKitEmulator(get_settings().livekit_api_key or "", "another-secret-0123456789abcdefghijklmn")
    forged = wrong.signed_webhook("egress_ended", json_to_info(ended.body))
    tampered_body = ended.body.replace('"EGRESS_COMPLETE"', '"EGRESS_FAILED"')
    assert tampered_body != ended.body
    for body, headers in [
        (ended.body, {}),
        (ended.body, {"Authorization": "not-a-jwt"}),
        (tampered_body, {"Authorization": ended.authorization}),
        (forged.body, {"Authorization": forged.authorization}),
    ]:
        assert_error(recorder.client.post(WEBHOOK, content=body, headers=headers), 401, "invalid_webhook_signature")
    assert RecordingJobModel.get(recording_id).status == "recording"
    recorder.deliver_webhooks()
    assert RecordingJobModel.get(recording_id).status == "processing"


def json_to_info(body: str) -> Any:
    from google.protobuf.json_format import Parse
    from livekit.protocol.webhook import WebhookEvent

    return Parse(body, WebhookEvent()).egress_info


def test_a_duplicate_webhook_changes_nothing(recorder: Recorder, make_user: Any, aws: Any) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    details = recorder.recorded(host.headers, meeting, include_audio_tracks=False)
    before = RecordingJobModel.get(details["id"]).attribute_values
    manifest_before = aws.client("s3").head_object(
        Bucket=get_settings().s3_bucket_name, Key=manifest_key(details["id"])
    )
    for hook in recorder.livekit.webhooks_sent:
        response = recorder.client.post(WEBHOOK, content=hook.body, headers={"Authorization": hook.authorization})
        assert response.status_code == 200 and response.json()["outcome"] == "duplicate", response.text
    assert RecordingJobModel.get(details["id"]).attribute_values == before
    after = aws.client("s3").head_object(Bucket=get_settings().s3_bucket_name, Key=manifest_key(details["id"]))
    assert after["LastModified"] == manifest_before["LastModified"] and after["ETag"] == manifest_before["ETag"]


def test_reconcile_finishes_an_egress_whose_egress_ended_never_came(
    recorder: Recorder, make_user: Any, aws: Any
) -> None:
    from agents_meetings.http.dependencies import event_publisher
    from agents_meetings.recordings.service import RecordingService

    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en", "es"])
    recorder.livekit.drop_egress_ended = True
    recording_id = recorder.start(host.headers, meeting["id"]).json()["id"]
    assert recorder.stop(host.headers, meeting["id"]).status_code == 200
    recorder.deliver_webhooks()
    assert RecordingJobModel.get(recording_id).status == "recording"  # nobody said the egresses ended
    report = RecordingService(event_publisher()).reconcile()
    assert report.tracks_finished == 3 and report.jobs_finalised == 1, report
    assert RecordingJobModel.get(recording_id).status == "processing"
    assert len(_manifest(aws, recording_id)["tracks"]) == 3
    again = RecordingService(event_publisher()).reconcile()
    assert again.tracks_finished == 0 and again.jobs_finalised == 0


def test_every_egress_failing_fails_the_recording_without_a_manifest(
    recorder: Recorder, make_user: Any, aws: Any
) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    recorder.livekit.fail_egresses = True
    details = recorder.recorded(host.headers, meeting)
    assert details["status"] == "failed" and "emulated fault" in details["error_message"]
    [failed] = aws.events_of(DomainEvent.RECORDING_FAILED)
    assert failed["recording_id"] == details["id"]
    listed = aws.client("s3").list_objects_v2(
        Bucket=get_settings().s3_bucket_name, Prefix=f"recordings/{details['id']}/"
    )
    assert listed.get("KeyCount", 0) == 0


def test_livekit_refusing_to_start_is_a_503_and_leaves_the_meeting_free(recorder: Recorder, make_user: Any) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers)
    recorder.livekit.refuse_starts = True
    assert_error(recorder.start(host.headers, meeting["id"]), 503, "egress_unavailable")
    assert MeetingModel.get(meeting["id"]).recording_id is None
    [job] = list(RecordingJobModel.scan())
    assert job.status == "failed"
    recorder.livekit.refuse_starts = False
    assert recorder.start(host.headers, meeting["id"]).status_code == 201


def test_participant_cameras_screen_shares_and_interpretation_channels_are_recorded(
    recorder: Recorder, make_user: Any, aws: Any
) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en", "es"])
    room = meeting["room_name"]
    recorder.livekit.add_participant(
        room,
        "teacher-1",
        [
            ("TR_cam", "video", "camera", "camera"),
            ("TR_mic", "audio", "microphone", "mic"),
            ("TR_screen", "video", "screen_share", "screen"),
        ],
    )
    recorder.livekit.add_participant(room, "interpreter", [("TR_es", "audio", "microphone", "audio-es")])
    details = recorder.recorded(host.headers, meeting, include_participant_tracks=True)
    tracks = [(t["track_type"], t["language"], t["participant_identity"]) for t in details["tracks"]]
    assert tracks == [
        ("composite", None, None),
        ("audio_only", "en", None),
        ("audio_only", "es", None),
        ("composite", None, "teacher-1"),
        ("screen_share", None, "teacher-1"),
    ]
    assert all(t["egress_status"] == "complete" for t in details["tracks"])
    es_egress = next(e for e in recorder.livekit.egresses.values() if e.kind == "track_composite" and e.audio_only)
    assert es_egress.info.track_composite.audio_track_id == "TR_es"
    assert len(_manifest(aws, details["id"])["tracks"]) == 5


def test_signed_download_urls_expire_and_download(recorder: Recorder, make_user: Any) -> None:
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    details = recorder.recorded(host.headers, meeting, include_audio_tracks=False)
    url = details["tracks"][0]["download"]["url"]
    assert "X-Amz-Expires=900" in url and details["url_expires_in"] == 900
    key = details["tracks"][0]["download"]["path"]
    assert recorder.aws.client("s3").head_object(Bucket=get_settings().s3_bucket_name, Key=key)["ContentLength"] > 0


# --- storage policies and retention --------------------------------------------------------------


def _finished_recording(recorder: Recorder, headers: dict[str, str], **meeting: Any) -> str:
    live = recorder.live_meeting(headers, languages=["en"], **meeting)
    details = recorder.recorded(headers, live, include_audio_tracks=False)
    job = RecordingJobModel.get(details["id"])
    job.update(actions=[RecordingJobModel.status.set("completed"), RecordingJobModel.completed_at.set(job.started_at)])
    return str(details["id"])


def test_storage_policy_crud_is_admin_only_and_validated(
    client: Any, admin_headers: dict[str, str], make_user: Any
) -> None:
    teacher = make_user("teacher")
    body = {
        "policy_name": "Classes",
        "retention_days": 30,
        "auto_delete": True,
        "storage_tier": "cool",
        "applies_to": "classroom_only",
    }
    assert_error(client.post(POLICIES, json=body, headers=teacher.headers), 403, "admin_required")
    assert_error(client.post(POLICIES, json={**body, "retention_days": -1}, headers=admin_headers), 422)
    assert_error(client.post(POLICIES, json={**body, "storage_tier": "frozen"}, headers=admin_headers), 422)
    created = client.post(POLICIES, json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert client.get(f"{POLICIES}/{policy['id']}", headers=admin_headers).json()["applies_to"] == "classroom_only"
    changed = client.put(f"{POLICIES}/{policy['id']}", json={"retention_days": 0}, headers=admin_headers)
    assert changed.status_code == 200 and changed.json()["retention_days"] == 0
    assert [p["id"] for p in client.get(POLICIES, headers=admin_headers).json()["items"]] == [policy["id"]]
    assert_error(client.get(f"{POLICIES}/unknown-policy", headers=admin_headers), 404, "storage_policy_not_found")


def test_a_retention_policy_deletes_an_expired_recording_and_the_most_specific_policy_wins(
    recorder: Recorder, admin_headers: dict[str, str], make_user: Any, frozen_clock: Any, api: Any, admin: Any
) -> None:
    teacher = make_user("teacher")
    classroom = _finished_recording(recorder, teacher.headers, meeting_type="classroom")
    regular = _finished_recording(recorder, teacher.headers, meeting_type="regular")
    for body in (
        {
            "policy_name": "All: keep forever, cool",
            "retention_days": 0,
            "auto_delete": True,
            "storage_tier": "cool",
            "applies_to": "all_meetings",
        },
        {
            "policy_name": "Classes: 30 days",
            "retention_days": 30,
            "auto_delete": True,
            "storage_tier": "hot",
            "applies_to": "classroom_only",
        },
    ):
        assert recorder.client.post(POLICIES, json=body, headers=admin_headers).status_code == 201
    apply = "/api/v1/admin/recordings/apply-policy/"
    young = recorder.client.post(apply + classroom, headers=admin_headers).json()
    assert young["action"] in ("kept", "tiered") and young["retention_days"] == 30
    frozen_clock.advance(days=31)
    # A month later the morning's tokens have expired: sign in again.
    admin_headers = {"Authorization": f"Bearer {api.tokens(admin.email)['access_token']}"}
    teacher.headers = {"Authorization": f"Bearer {api.tokens(teacher.email)['access_token']}"}
    old = recorder.client.post(apply + classroom, headers=admin_headers)
    assert old.status_code == 200 and old.json()["action"] == "deleted" and old.json()["objects"] >= 2
    assert_error(recorder.client.get(f"{RECORDINGS}/{classroom}", headers=teacher.headers), 404)
    s3 = recorder.aws.client("s3")
    assert (
        s3.list_objects_v2(Bucket=get_settings().s3_bucket_name, Prefix=f"recordings/{classroom}/").get("KeyCount") == 0
    )
    # The regular meeting falls under "all meetings": kept forever, moved to the cool tier.
    kept = recorder.client.post(apply + regular, headers=admin_headers).json()
    assert kept["action"] == "tiered" and kept["storage_tier"] == "cool"
    for item in s3.list_objects_v2(Bucket=get_settings().s3_bucket_name, Prefix=f"recordings/{regular}/")["Contents"]:
        assert item["StorageClass"] == "STANDARD_IA"
    assert_error(recorder.client.post(apply + classroom, headers=admin_headers), 404)


def test_without_a_policy_the_environment_defaults_apply_and_a_live_recording_is_not_touched(
    recorder: Recorder,
    admin_headers: dict[str, str],
    make_user: Any,
    frozen_clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from agents_meetings.recordings.retention import StorageService

    host = make_user("host")
    finished = _finished_recording(recorder, host.headers)
    live = recorder.live_meeting(host.headers, languages=["en"])
    running = recorder.start(host.headers, live["id"], include_audio_tracks=False).json()["id"]
    assert_error(
        recorder.client.post(f"/api/v1/admin/recordings/apply-policy/{running}", headers=admin_headers),
        409,
        "recording_in_progress",
    )
    frozen_clock.advance(days=91)
    assert StorageService().sweep() == {"kept": 1}  # AUTO_DELETE_ENABLED is false by default
    monkeypatch.setenv("AUTO_DELETE_ENABLED", "true")
    reset_settings()
    assert StorageService().sweep() == {"deleted": 1}
    assert RecordingJobModel.get(finished).deleted_at is not None
    assert RecordingJobModel.get(running).deleted_at is None
    assert StorageService().move_to_archive(running) == 0  # nothing written yet
    # (access tokens expired with the clock's 91 days: stop as the system does on MeetingEnded)
    from agents_meetings.http.dependencies import event_publisher
    from agents_meetings.recordings.service import RecordingService

    assert RecordingService(event_publisher()).stop_for_meeting(live["id"]) is not None


# --- auto-recording ------------------------------------------------------------------------------


def test_auto_record_starts_on_meeting_started_once_and_stops_on_meeting_ended(
    recorder: Recorder, make_user: Any, aws: Any, load_handler: Any
) -> None:
    from http_support import FakeLambdaContext as LambdaContext

    worker = load_handler("workers/auto_record")
    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"], auto_record=True)
    started_event = aws.events_of(DomainEvent.MEETING_STARTED)[-1]
    event = sqs_event(json.dumps(eventbridge_event("MeetingStarted", started_event, event_id="ev-started-1")))
    assert worker.handler(event, LambdaContext()) == {"batchItemFailures": []}
    assert worker.handler(event, LambdaContext()) == {"batchItemFailures": []}  # redelivered
    redelivered_elsewhere = sqs_event(
        json.dumps(eventbridge_event("MeetingStarted", started_event, event_id="ev-started-2"))
    )
    assert worker.handler(redelivered_elsewhere, LambdaContext()) == {"batchItemFailures": []}
    jobs = list(RecordingJobModel.by_meeting.query(meeting["id"]))
    assert len(jobs) == 1 and jobs[0].started_by == "auto-record" and jobs[0].status == "recording"
    ended = recorder.client.post(f"/api/v1/meetings/{meeting['id']}/end", headers=host.headers)
    assert ended.status_code == 200
    ended_event = aws.events_of(DomainEvent.MEETING_ENDED)[-1]
    assert worker.handler(
        sqs_event(json.dumps(eventbridge_event("MeetingEnded", ended_event, event_id="ev-ended"))), LambdaContext()
    ) == {"batchItemFailures": []}
    recorder.deliver_webhooks()
    assert RecordingJobModel.get(jobs[0].id).status == "processing"
    assert MeetingModel.get(meeting["id"]).recording_id is None


def test_a_meeting_without_auto_record_is_not_recorded_on_start(recorder: Recorder, make_user: Any, aws: Any) -> None:
    from agents_meetings.http.dependencies import event_publisher
    from agents_meetings.recordings.service import RecordingService

    host = make_user("host")
    meeting = recorder.live_meeting(host.headers, languages=["en"])
    assert RecordingService(event_publisher()).start_for_meeting(meeting["id"]) is None
    assert RecordingJobModel.count() == 0
