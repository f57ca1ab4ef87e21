"""The four search indexes of spec 1.3 and how a platform record becomes a search document."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from agents_meetings.clock import isoformat_z
from agents_meetings.search.backend import FieldSpec, IndexSpec


class EntityType(StrEnum):
    MEETING = "meeting"
    TRANSCRIPT = "transcript"
    USER = "user"
    MATERIAL = "material"


MEETINGS = IndexSpec(
    name="meetings",
    fields=(
        FieldSpec("id", "keyword"),
        FieldSpec("title", "text", boost=3.0),
        FieldSpec("description", "text"),
        FieldSpec("host_name", "text", boost=1.5),
        FieldSpec("participant_names", "text", multi=True),
        FieldSpec("participants", "nested"),
        FieldSpec("host_id", "keyword"),
        FieldSpec("participant_ids", "keyword", multi=True),
        FieldSpec("scheduled_at", "date"),
        FieldSpec("status", "keyword"),
        FieldSpec("languages", "keyword", multi=True),
        FieldSpec("tags", "keyword", multi=True),
        FieldSpec("meeting_type", "keyword"),
    ),
    date_field="scheduled_at",
    suggest_field="title",
)

TRANSCRIPTS = IndexSpec(
    name="transcripts",
    fields=(
        FieldSpec("id", "keyword"),
        FieldSpec("text", "text"),
        FieldSpec("meeting_title", "text", boost=0.5),
        FieldSpec("meeting_id", "keyword"),
        FieldSpec("recording_id", "keyword"),
        FieldSpec("speaker", "keyword"),
        FieldSpec("language", "keyword"),
        FieldSpec("start", "number"),
        FieldSpec("end", "number"),
        FieldSpec("recorded_at", "date"),
    ),
    date_field="recorded_at",
    suggest_field="text",
)

USERS = IndexSpec(
    name="users",
    fields=(
        FieldSpec("id", "keyword"),
        FieldSpec("full_name", "text", boost=3.0),
        FieldSpec("email", "text", boost=2.0),
        FieldSpec("bio", "text"),
        FieldSpec("expertise", "text", multi=True),
        FieldSpec("role", "keyword"),
        FieldSpec("is_active", "boolean"),
        FieldSpec("created_at", "date"),
    ),
    date_field="created_at",
    suggest_field="full_name",
)

MATERIALS = IndexSpec(
    name="materials",
    fields=(
        FieldSpec("id", "keyword"),
        FieldSpec("title", "text", boost=3.0),
        FieldSpec("description", "text", boost=1.5),
        FieldSpec("content", "text"),
        FieldSpec("owner_name", "text"),
        FieldSpec("tags", "keyword", multi=True),
        FieldSpec("subject", "keyword"),
        FieldSpec("owner_id", "keyword"),
        FieldSpec("meeting_ids", "keyword", multi=True),
        FieldSpec("created_at", "date"),
    ),
    date_field="created_at",
    suggest_field="title",
)

INDEXES: dict[EntityType, IndexSpec] = {
    EntityType.MEETING: MEETINGS,
    EntityType.TRANSCRIPT: TRANSCRIPTS,
    EntityType.USER: USERS,
    EntityType.MATERIAL: MATERIALS,
}

# Facets offered per index (keyword fields only).
FACETS: dict[EntityType, tuple[str, ...]] = {
    EntityType.MEETING: ("status", "meeting_type", "languages", "tags"),
    EntityType.TRANSCRIPT: ("language", "speaker", "meeting_id"),
    EntityType.USER: ("role", "is_active"),
    EntityType.MATERIAL: ("subject", "tags"),
}


def meeting_document(meeting: Any, host_name: str | None, participants: list[tuple[str, str | None]]) -> dict[str, Any]:
    """``participants``: (user_id, full_name) of everyone with a participant record (host included)."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "description": meeting.description or "",
        "host_id": meeting.host_id,
        "host_name": host_name or "",
        "participants": [{"user_id": uid, "full_name": name or ""} for uid, name in participants],
        "participant_ids": [uid for uid, _ in participants],
        "participant_names": [name for _, name in participants if name],
        "scheduled_at": isoformat_z(meeting.scheduled_at),
        "status": meeting.status,
        "languages": list(meeting.languages or []),
        "tags": list(meeting.tags or []),
        "meeting_type": meeting.meeting_type,
    }


def user_document(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "is_active": bool(user.is_active) and user.status == "approved",
        "bio": user.bio or "",
        "expertise": list(user.expertise or []),
        "created_at": isoformat_z(user.created_at),
    }


def transcript_documents(
    transcript: dict[str, Any],
    *,
    recording_id: str,
    meeting_id: str,
    meeting_title: str,
    recorded_at: str | None,
) -> list[dict[str, Any]]:
    """One document per segment of the transcript JSON the transcription pipeline writes, with the
    neighbouring segments' text kept as context."""
    language = str(transcript.get("language") or "")
    segments = [s for s in transcript.get("segments") or [] if str(s.get("text") or "").strip()]
    documents = []
    for position, segment in enumerate(segments):
        before = segments[position - 1]["text"] if position > 0 else ""
        after = segments[position + 1]["text"] if position + 1 < len(segments) else ""
        documents.append(
            {
                "id": f"{recording_id}:{language}:{segment.get('id', position)}",
                "segment_id": segment.get("id", position),
                "recording_id": recording_id,
                "meeting_id": meeting_id,
                "meeting_title": meeting_title,
                "speaker": str(segment.get("speaker") or "unknown"),
                "text": str(segment["text"]).strip(),
                "start": float(segment.get("start") or 0.0),
                "end": float(segment.get("end") or 0.0),
                "language": language,
                "context_before": str(before).strip(),
                "context_after": str(after).strip(),
                "recorded_at": recorded_at,
            }
        )
    return documents


def material_document(material: Any, owner_name: str | None) -> dict[str, Any]:
    return {
        "id": material.id,
        "title": material.title,
        "description": material.description or "",
        "content": material.content or "",
        "tags": list(material.tags or []),
        "subject": material.subject or "",
        "owner_id": material.owner_id,
        "owner_name": owner_name or "",
        "meeting_ids": list(material.meeting_ids or []),
        "created_at": isoformat_z(material.created_at),
    }
