"""MaterialService: register an upload (presigned PUT), complete it, extract its text, read, delete.

Only the owner or an admin sees a material; anyone else gets "not found". The upload is checked
when it lands (size, readable content); on ``MaterialUploaded`` the search indexer worker calls
``extract_upload`` for the text and indexes the material, as it indexes every other entity.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from pynamodb.exceptions import DoesNotExist

from agents_meetings.audit import Actor, AuditLog
from agents_meetings.clock import utcnow
from agents_meetings.errors import Conflict, NotFound, Unprocessable
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventPublisher
from agents_meetings.materials.extraction import ALLOWED_TYPES, ExtractionFailed, extract_text
from agents_meetings.pagination import Page, decode_cursor, encode_cursor, index_key_names, paginate
from agents_meetings.settings import get_settings
from agents_meetings.storage import ObjectStore, object_store
from agents_meetings.tables import MaterialModel

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class NewMaterial:
    title: str
    filename: str
    content_type: str
    size_bytes: int
    description: str | None = None
    subject: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PendingUpload:
    material: MaterialModel
    upload_url: str
    expires_in: int


def materials_store() -> ObjectStore:
    return object_store(bucket=get_settings().materials_bucket_name)


class MaterialService:
    def __init__(self, events: EventPublisher | None = None, audit: AuditLog | None = None):
        self._events = events
        self._audit = audit or AuditLog()

    def create(self, actor: Actor, new: NewMaterial) -> PendingUpload:
        settings = get_settings()
        if new.content_type not in ALLOWED_TYPES:
            raise Unprocessable(
                "Materials must be PDF, DOCX or plain text.",
                code="unsupported_content_type",
                details={"allowed": sorted(ALLOWED_TYPES)},
            )
        if new.size_bytes > settings.material_max_bytes:
            raise Unprocessable(
                f"Materials may be at most {settings.material_max_bytes} bytes.",
                code="material_too_large",
                details={"max_bytes": settings.material_max_bytes},
            )
        material_id = str(uuid.uuid4())
        safe = _SAFE_NAME.sub("_", new.filename).strip("._") or "material"
        now = utcnow()
        material = MaterialModel(
            id=material_id,
            owner_id=actor.user_id,
            title=new.title.strip(),
            description=new.description,
            tags=list(dict.fromkeys(t.strip().lower() for t in new.tags if t.strip())),
            subject=(new.subject or "").strip().lower() or None,
            filename=new.filename,
            content_type=new.content_type,
            storage_key=f"materials/{actor.user_id}/{material_id}/{safe}",
            size_bytes=new.size_bytes,
            status="awaiting_upload",
            created_at=now,
            updated_at=now,
        )
        material.save(condition=MaterialModel.id.does_not_exist())
        self._audit.record(actor, "material.created", "material", material_id, {"title": material.title})
        url = materials_store().signed_put_url(material.storage_key, content_type=new.content_type)
        return PendingUpload(material, url, settings.signed_url_ttl_seconds)

    def get(self, actor: Actor, material_id: str) -> MaterialModel:
        try:
            material = MaterialModel.get(material_id)
        except DoesNotExist as exc:
            raise NotFound("Material not found.", code="material_not_found") from exc
        if not (actor.is_admin or material.owner_id == actor.user_id):
            raise NotFound("Material not found.", code="material_not_found")
        return material

    def list_mine(self, actor: Actor, *, limit: int, cursor: str | None) -> Page[MaterialModel]:
        key_names = index_key_names(MaterialModel, "by_owner")

        def run(lek: dict[str, Any] | None) -> Any:
            return MaterialModel.by_owner.query(actor.user_id, scan_index_forward=False, last_evaluated_key=lek)

        items, last = paginate(run, key_names=key_names, limit=limit, cursor_key=decode_cursor(cursor))
        return Page(items, encode_cursor(last) if last else None)

    def complete(self, actor: Actor, material_id: str) -> MaterialModel:
        """The client's PUT is done: check the object and hand it to extraction (idempotent)."""
        material = self.get(actor, material_id)
        if material.status in ("processing", "ready"):
            return material
        stored = materials_store().head(material.storage_key)
        if stored is None:
            raise Conflict("Upload the file to upload_url first.", code="upload_missing")
        if stored.size > get_settings().material_max_bytes:
            materials_store().delete(material.storage_key)
            raise Unprocessable("The uploaded file is too large.", code="material_too_large")
        material.update(
            actions=[
                MaterialModel.status.set("processing"),
                MaterialModel.size_bytes.set(stored.size),
                MaterialModel.updated_at.set(utcnow()),
            ]
        )
        if self._events is not None:
            self._events.publish(
                DomainEvent.MATERIAL_UPLOADED,
                {
                    "material_id": material.id,
                    "owner_id": material.owner_id,
                    "storage_key": material.storage_key,
                    "content_type": material.content_type,
                },
            )
        return material

    def extract_upload(self, material_id: str) -> MaterialModel | None:
        """Extract the upload's text: the material, ``ready`` with its content, for the indexer to
        index; None when the file is unreadable (recorded as ``failed``, not retried)."""
        material = MaterialModel.get(material_id)
        body = materials_store().get_bytes(material.storage_key)
        try:
            content = extract_text(body, material.content_type)
        except ExtractionFailed as exc:
            material.update(
                actions=[
                    MaterialModel.status.set("failed"),
                    MaterialModel.error_message.set(str(exc)[:1000]),
                    MaterialModel.updated_at.set(utcnow()),
                ]
            )
            return None  # an unreadable file will not become readable: recorded, not retried
        material.update(
            actions=[
                MaterialModel.status.set("ready"),
                MaterialModel.content.set(content),
                MaterialModel.error_message.remove(),
                MaterialModel.updated_at.set(utcnow()),
            ]
        )
        return material

    def delete(self, actor: Actor, material_id: str) -> None:
        material = self.get(actor, material_id)
        materials_store().delete(material.storage_key)
        material.delete()
        self._audit.record(actor, "material.deleted", "material", material_id)
        if self._events is not None:
            self._events.publish(
                DomainEvent.MATERIAL_DELETED, {"material_id": material_id, "owner_id": material.owner_id}
            )
