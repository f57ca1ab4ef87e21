"""GET /api/v1/recordings/{recording_id}/transcripts: a recording's transcripts, for its readers.

Served by the recordings function (its ``/api/v1/recordings/{proxy+}`` route). Whoever may see the
recording's meeting may read (host, invited participants, admins); anyone else gets 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from agents_meetings.http.dependencies import MeetingServiceDep, ResourceId, TranscriptionServiceDep
from agents_meetings.http.errors import error_responses
from agents_meetings.http.schemas.transcripts import TranscriptListOut, TranscriptSummaryOut
from agents_meetings.http.security import CurrentPrincipal
from agents_meetings.recordings.access import readable_recording
from agents_meetings.transcription.render import FORMATS

router = APIRouter(prefix="/api/v1/recordings", tags=["recordings"])


@router.get(
    "/{recording_id}/transcripts",
    responses={
        200: {
            "description": "Without `language`: the transcripts of the recording. With it: the transcript "
            "in `format` (json: the normalised transcript; txt, srt, vtt: the file).",
            "content": {
                "application/json": {},
                "text/plain": {},
                "text/vtt": {},
                "application/x-subrip": {},
            },
        },
        **error_responses(401, 403, 404),
    },
    response_model=TranscriptListOut,
    summary="A recording's transcripts (list, or one language in txt, srt, vtt or json)",
)
async def get_transcripts(
    recording_id: ResourceId,
    principal: CurrentPrincipal,
    meetings: MeetingServiceDep,
    service: TranscriptionServiceDep,
    language: Annotated[
        str | None, Query(min_length=2, max_length=16, description="e.g. en, es, hi; omit to list the transcripts")
    ] = None,
    fmt: Annotated[str, Query(alias="format", max_length=8, description=f"one of {', '.join(FORMATS)}")] = "json",
) -> Any:
    readable_recording(principal.actor, recording_id, meetings)
    if language is None:
        return TranscriptListOut(
            recording_id=recording_id,
            items=[TranscriptSummaryOut(**item) for item in service.list_transcripts(recording_id)],
        )
    transcript = service.get_transcript(recording_id, language, fmt)
    if fmt == "json":
        return JSONResponse(content=_json(transcript.content))
    return Response(
        content=transcript.content,
        media_type=transcript.content_type,
        headers={"Content-Disposition": f'inline; filename="{transcript.filename}"'},
    )


def _json(content: bytes) -> Any:
    import json

    return json.loads(content)
