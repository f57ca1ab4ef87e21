"""Storage policies (admin CRUD) and StorageService: files in and out of the object store,
retention (delete expired recordings when the policy says so) and tiers (S3 storage classes).

The policy of a recording is the most specific one for its meeting's type: ``classroom_only`` or
``regular_only`` beats ``all_meetings``; among equals the newest wins. Without any policy the
environment decides: ``DEFAULT_RETENTION_DAYS`` and ``AUTO_DELETE_ENABLED``, tier hot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.errors import Conflict, NotFound
from agents_meetings.observability import logger
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.recordings.enums import AppliesTo, RecordingStatus, StorageTier, recording_prefix
from agents_meetings.settings import get_settings
from agents_meetings.storage import ObjectStore, StoredObject, object_store
from agents_meetings.tables import RecordingJobModel, StoragePolicyModel

# Only finished recordings are deleted or moved; one still recording or processing is left alone.
SETTLED = (RecordingStatus.COMPLETED.value, RecordingStatus.FAILED.value)
_SPECIFIC = {"classroom": AppliesTo.CLASSROOM_ONLY.value, "regular": AppliesTo.REGULAR_ONLY.value}


@dataclass(frozen=True)
class NewPolicy:
    policy_name: str
    retention_days: int
    auto_delete: bool
    storage_tier: StorageTier
    applies_to: AppliesTo


@dataclass(frozen=True)
class EffectivePolicy:
    policy_id: str | None  # None: the environment's defaults
    retention_days: int
    auto_delete: bool
    storage_tier: StorageTier


@dataclass(frozen=True)
class RetentionOutcome:
    recording_id: str
    action: str  # deleted | tiered | kept | skipped
    policy: EffectivePolicy
    objects: int = 0
    reason: str = ""


class StoragePolicyService:
    def __init__(self, audit: AuditLog | None = None):
        self._audit = audit or AuditLog()

    def create(self, actor: Actor, new: NewPolicy) -> StoragePolicyModel:
        now = utcnow()
        policy = StoragePolicyModel(
            id=str(uuid.uuid4()),
            policy_name=new.policy_name.strip(),
            retention_days=new.retention_days,
            auto_delete=new.auto_delete,
            storage_tier=new.storage_tier.value,
            applies_to=new.applies_to.value,
            created_at=now,
            updated_at=now,
            created_by=actor.user_id,
        )
        policy.save(condition=StoragePolicyModel.id.does_not_exist())
        self._audit.record(actor, "storage_policy.created", "storage_policy", policy.id, _describe(policy))
        return policy

    def get(self, policy_id: str) -> StoragePolicyModel:
        try:
            return StoragePolicyModel.get(policy_id)
        except DoesNotExist as exc:
            raise NotFound("Storage policy not found.", code="storage_policy_not_found") from exc

    def list(self, *, limit: int, cursor: str | None) -> Page[StoragePolicyModel]:
        # Policies are a handful of items: a paginated scan is the whole access pattern.
        key_names = index_key_names(StoragePolicyModel)
        items, last = paginate(
            lambda start: StoragePolicyModel.scan(last_evaluated_key=start),
            key_names=key_names,
            limit=limit,
            cursor_key=decode_cursor(cursor),
        )
        return Page(items, encode_cursor(last) if last else None)

    def update(self, actor: Actor, policy_id: str, changes: dict[str, Any]) -> StoragePolicyModel:
        policy = self.get(policy_id)
        values = {name: value for name, value in changes.items() if value is not None}
        if not values:
            return policy
        actions = []
        for name, value in values.items():
            stored = value.value if isinstance(value, StorageTier | AppliesTo) else value
            if name == "policy_name":
                stored = str(stored).strip()
            actions.append(getattr(StoragePolicyModel, name).set(stored))
        policy.update(actions=[*actions, StoragePolicyModel.updated_at.set(utcnow())])
        self._audit.record(actor, "storage_policy.updated", "storage_policy", policy.id, {"fields": sorted(values)})
        return policy


def policy_for(meeting_type: str | None) -> EffectivePolicy:
    """The policy that governs a recording of this meeting type (the most specific wins)."""
    specific = _SPECIFIC.get(meeting_type or "")
    best: StoragePolicyModel | None = None
    for policy in StoragePolicyModel.scan():
        if policy.applies_to not in (AppliesTo.ALL_MEETINGS.value, specific):
            continue
        if best is None or _rank(policy, specific) > _rank(best, specific):
            best = policy
    if best is None:
        settings = get_settings()
        return EffectivePolicy(None, settings.default_retention_days, settings.auto_delete_enabled, StorageTier.HOT)
    return EffectivePolicy(best.id, int(best.retention_days), bool(best.auto_delete), StorageTier(best.storage_tier))


def _rank(policy: StoragePolicyModel, specific: str | None) -> tuple[int, str]:
    changed = policy.updated_at or policy.created_at
    return (1 if policy.applies_to == specific else 0, changed.isoformat())


def _describe(policy: StoragePolicyModel) -> dict[str, Any]:
    return {
        "policy_name": policy.policy_name,
        "retention_days": int(policy.retention_days),
        "auto_delete": bool(policy.auto_delete),
        "storage_tier": policy.storage_tier,
        "applies_to": policy.applies_to,
    }


class StorageService:
    """The spec's StorageService on the ObjectStore port (S3, or MinIO through its endpoint)."""

    def __init__(self, store: ObjectStore | None = None):
        self._store = store

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = object_store()
        return self._store

    def upload_to_storage(
        self, file: Path | bytes | BinaryIO, path: str, *, content_type: str | None = None
    ) -> StoredObject:
        if isinstance(file, bytes):
            return self.store.put_bytes(path, file, content_type=content_type)
        if isinstance(file, Path):
            return self.store.put_file(path, file, content_type=content_type)
        return self.store.put_stream(path, file, content_type=content_type)

    def download_from_storage(self, path: str) -> bytes:
        return self.store.get_bytes(path)

    def apply_retention_policy(self, recording_id: str, *, strict: bool = False) -> RetentionOutcome:
        """Delete the recording's files if its policy's retention has run out (and auto_delete is
        on; 0 days keeps forever), else move them to the policy's tier. ``strict``: a recording
        still in progress is a 409 (the admin endpoint), not a skip (the daily sweep)."""
        job = _job(recording_id)
        policy = policy_for(job.meeting_type)
        if job.status not in SETTLED:
            if strict:
                raise Conflict(
                    f"A recording that is {job.status} cannot be deleted or moved yet.",
                    code="recording_in_progress",
                    details={"status": job.status},
                )
            return RetentionOutcome(job.id, "skipped", policy, reason=f"status {job.status}")
        now = utcnow()
        finished = job.completed_at or job.stopped_at or job.started_at
        age_days = (now - finished).total_seconds() / 86_400
        if policy.auto_delete and policy.retention_days > 0 and age_days > policy.retention_days:
            deleted = self.store.delete_prefix(recording_prefix(job.id))
            job.update(
                actions=[
                    RecordingJobModel.deleted_at.set(now),
                    RecordingJobModel.policy_id.set(policy.policy_id or "default"),
                    RecordingJobModel.updated_at.set(now),
                ],
                condition=RecordingJobModel.deleted_at.does_not_exist(),
            )
            logger.info("recording deleted by retention", extra={"recording_id": job.id, "objects": deleted})
            return RetentionOutcome(job.id, "deleted", policy, objects=deleted)
        moved = self._tier(job, policy.storage_tier, policy.policy_id)
        return RetentionOutcome(job.id, "tiered" if moved else "kept", policy, objects=moved)

    def move_to_archive(self, recording_id: str) -> int:
        """Every file of the recording to the archive tier (Glacier Instant Retrieval); how many moved."""
        job = _job(recording_id)
        return self._tier(job, StorageTier.ARCHIVE, job.policy_id)

    def sweep(self) -> dict[str, int]:
        """The daily retention job: apply each finished recording's policy."""
        counts: dict[str, int] = {}
        for status in SETTLED:
            for job in list(RecordingJobModel.by_status.query(status)):
                if job.deleted_at is not None:
                    continue
                try:
                    outcome = self.apply_retention_policy(job.id)
                except Exception:  # noqa: BLE001 - one bad recording must not stop the sweep
                    logger.exception("retention failed", extra={"recording_id": job.id})
                    counts["failed"] = counts.get("failed", 0) + 1
                    continue
                counts[outcome.action] = counts.get(outcome.action, 0) + 1
        return counts

    def _tier(self, job: RecordingJobModel, tier: StorageTier, policy_id: str | None) -> int:
        moved = 0
        for stored in self.store.list(recording_prefix(job.id)):
            if stored.storage_class != tier.storage_class:
                self.store.set_storage_class(stored.key, tier.storage_class)
                moved += 1
        job.update(
            actions=[
                RecordingJobModel.storage_tier.set(tier.value),
                RecordingJobModel.policy_id.set(policy_id or "default"),
                RecordingJobModel.updated_at.set(utcnow()),
            ]
        )
        return moved


def _job(recording_id: str) -> RecordingJobModel:
    try:
        job = RecordingJobModel.get(recording_id)
    except DoesNotExist as exc:
        raise NotFound("Recording not found.", code="recording_not_found") from exc
    if job.deleted_at is not None:
        raise NotFound("Recording not found.", code="recording_not_found")
    return job
