"""An admin's recording actions that are audited as such: applying a storage policy now."""

from __future__ import annotations

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.recordings.retention import RetentionOutcome, StorageService


def apply_policy_now(
    actor: Actor, recording_id: str, *, storage: StorageService | None = None, audit: AuditLog | None = None
) -> RetentionOutcome:
    """Delete the recording if its policy's retention ran out, else move it to the policy's tier
    (a recording in progress is a 409), and audit what was done."""
    outcome = (storage or StorageService()).apply_retention_policy(recording_id, strict=True)
    (audit or AuditLog()).record(actor, f"recording.policy_{outcome.action}", "recording", recording_id)
    return outcome
