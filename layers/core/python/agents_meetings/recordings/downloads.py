"""Signed, expiring download links of a recording's files (web video, thumbnail, preview, audio per
language, finished tracks), built from its job and tracks for the API's answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents_meetings.recordings.enums import RecordingStatus
from agents_meetings.settings import get_settings
from agents_meetings.storage import ObjectStore
from agents_meetings.tables import RecordingJobModel, RecordingTrackModel


@dataclass(frozen=True)
class Download:
    path: str
    url: str
    size: int | None = None
    format: str | None = None


@dataclass(frozen=True)
class RecordingDownloads:
    """``files`` by name (video, thumbnail, preview, audio.<lang>); ``tracks`` by track id."""

    files: dict[str, Download] = field(default_factory=dict)
    tracks: dict[str, Download] = field(default_factory=dict)
    expires_in: int = 0


def recording_downloads(
    job: RecordingJobModel, tracks: list[RecordingTrackModel], store: ObjectStore
) -> RecordingDownloads:
    """Links for every file that exists; none while the recording is pending or in progress."""
    ttl = get_settings().signed_url_ttl_seconds
    downloadable = job.status not in (RecordingStatus.PENDING.value, RecordingStatus.RECORDING.value)

    def link(path: str | None, *, size: int | None = None, fmt: str | None = None) -> Download | None:
        if not path:
            return None
        filename = path.rsplit("/", 1)[-1]
        return Download(
            path=path, url=store.signed_get_url(path, ttl_seconds=ttl, filename=filename), size=size, format=fmt
        )

    by_track: dict[str, Download] = {}
    for track in tracks:
        if downloadable and track.egress_status == "complete":
            found = link(track.file_path, size=int(track.file_size_bytes or 0) or None)
            if found is not None:
                by_track[track.id] = found
    outputs = job.outputs or {}
    web = outputs.get("web") or {}
    candidates: dict[str, Download | None] = {
        "video": link(web.get("path") or job.storage_path, size=web.get("size"), fmt=web.get("format")),
        "thumbnail": link(job.thumbnail_path),
        "preview": link(job.preview_path),
    }
    for language, audio in sorted((outputs.get("audio") or {}).items()):
        candidates[f"audio.{language}"] = link((audio or {}).get("path"), size=(audio or {}).get("size"))
    files = {name: value for name, value in candidates.items() if value is not None}
    return RecordingDownloads(files=files, tracks=by_track, expires_in=ttl)
