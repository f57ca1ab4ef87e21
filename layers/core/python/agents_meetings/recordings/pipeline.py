"""Recording post-processing: the tasks of ``statemachines/recording-pipeline.asl.json``.

The state machine starts when egress's manifest (``enums.manifest_key``) is created. ``claim``
takes the job (a second execution for it, or a completed job, does nothing), then: probe ->
thumbnail + preview -> plan (remux when already web-playable, else a segmented transcode) ->
segments (a Map) -> join -> per language: extract 16 kHz audio, transcribe -> finalize (outputs on
the job, RecordingCompleted, storage policy). Any failure after the retries ends in
``mark_failed``: the job is failed with the error, never lost. Each task works in a temporary
directory that is always removed, and streams files from and to the object store.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, UpdateError

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.errors import NotFound
from agents_meetings.events.catalog import DomainEvent
from agents_meetings.events.publisher import EventBridgePublisher, EventPublisher
from agents_meetings.media import processing
from agents_meetings.media.errors import UnreadableMedia
from agents_meetings.media.probe import MediaInfo, probe
from agents_meetings.media.processing import OutputFormat
from agents_meetings.media.segments import plan_segments
from agents_meetings.media.tools import MediaTools, find_media_tools
from agents_meetings.observability import emit_dimensioned, logger
from agents_meetings.recordings.enums import MANIFEST_KEY_PATTERN, recording_id_from_manifest_key
from agents_meetings.recordings.retention import StorageService
from agents_meetings.settings import Settings, get_settings
from agents_meetings.storage import ObjectStore, object_store
from agents_meetings.tables import MeetingModel, RecordingJobModel
from agents_meetings.transcription.service import TranscriptionService

TRACK_TYPES = frozenset({"composite", "audio_only", "video_only", "screen_share"})
CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "jpg": "image/jpeg", "wav": "audio/wav"}
ERROR_MESSAGE_LIMIT = 1000
TERMINAL = "completed"


class PipelineError(Exception):
    """A post-processing failure; the class name is the Step Functions error name."""


class ManifestInvalid(PipelineError):
    """The manifest is missing, unreadable or contradicts the job (not retried: it will not change)."""


class RecordingNotFound(PipelineError):
    """No recording job with the manifest's id."""


class RawFileMissing(PipelineError):
    """A file the manifest names is not in the bucket."""


@dataclass(frozen=True)
class ManifestTrack:
    id: str
    track_type: str
    file_path: str
    language: str | None = None
    participant_identity: str | None = None
    file_size_bytes: int = 0


@dataclass(frozen=True)
class Manifest:
    recording_id: str
    meeting_id: str
    output_format: OutputFormat
    languages: tuple[str, ...]
    tracks: tuple[ManifestTrack, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, body: bytes, recording_id: str) -> Manifest:
        try:
            raw = json.loads(body)
            if not isinstance(raw, dict):
                raise TypeError("not an object")
            output_format = raw.get("output_format")
            if output_format not in ("mp4", "webm"):
                raise ValueError(f"output_format must be mp4 or webm, not {output_format!r}")
            tracks = []
            for item in raw.get("tracks") or []:
                track_type = item["track_type"]
                if track_type not in TRACK_TYPES:
                    raise ValueError(f"unknown track_type {track_type!r}")
                file_path = str(item["file_path"])
                if not file_path.startswith(f"recordings/{recording_id}/") or ".." in file_path:
                    raise ValueError(f"track file {file_path!r} is outside this recording")
                tracks.append(
                    ManifestTrack(
                        id=str(item["id"]),
                        track_type=track_type,
                        file_path=file_path,
                        language=item.get("language") or None,
                        participant_identity=item.get("participant_identity") or None,
                        file_size_bytes=int(item.get("file_size_bytes") or 0),
                    )
                )
            manifest = cls(
                recording_id=str(raw["recording_id"]),
                meeting_id=str(raw["meeting_id"]),
                output_format=cast(OutputFormat, output_format),
                languages=tuple(str(language) for language in raw.get("languages") or []),
                tracks=tuple(tracks),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ManifestInvalid(f"manifest of recording {recording_id} is invalid: {exc}") from exc
        if manifest.recording_id != recording_id:
            raise ManifestInvalid(f"manifest names recording {manifest.recording_id}, its key {recording_id}")
        return manifest

    @property
    def composite(self) -> ManifestTrack | None:
        return next((t for t in self.tracks if t.track_type == "composite"), None)

    def audio_sources(self) -> list[dict[str, str]]:
        """Per language: its audio-only track; else, for the first language only, the composite."""
        sources = []
        for position, language in enumerate(self.languages):
            track = next((t for t in self.tracks if t.track_type == "audio_only" and t.language == language), None)
            if track is None and position == 0 and self.composite is not None:
                track = self.composite
            if track is not None:
                sources.append({"recording_id": self.recording_id, "language": language, "source_key": track.file_path})
        return sources


def recording_id_from_key(key: str) -> str:
    recording_id = recording_id_from_manifest_key(key)
    if recording_id is None:
        raise ManifestInvalid(f"{key!r} is not a recording manifest key ({MANIFEST_KEY_PATTERN})")
    return recording_id


def task_correlation(event: dict[str, Any]) -> str | None:
    """The correlation id of a pipeline task: its recording. An execution starts from the manifest's
    S3 event, which no request caused; every task of it, and what it publishes, logs the same id."""
    recording_id = event.get("recording_id") or recording_id_from_manifest_key(str(event.get("key") or ""))
    return str(recording_id) if recording_id else None


Transcriber = Callable[[str, str], Any]
RetentionApplier = Callable[[str], Any]


def default_transcriber(recording_id: str, language: str) -> Any:
    """The transcription service: Deepgram in the cloud, the offline recogniser locally."""
    return TranscriptionService().transcribe_language(recording_id, language)


def default_retention(recording_id: str) -> Any:
    """The recording's storage policy (tier now; deletion once its retention runs out)."""
    return StorageService().apply_retention_policy(recording_id)


def _key(recording_id: str, *parts: str) -> str:
    return "/".join(("recordings", recording_id, *parts))


def _error_text(error: Any) -> str:
    """Step Functions' Catch output ``{"Error", "Cause"}`` (Cause: Lambda's error JSON) as one line."""
    if not isinstance(error, dict):
        return str(error or "unknown error")[:ERROR_MESSAGE_LIMIT]
    name = str(error.get("Error") or "Error")
    cause: Any = error.get("Cause") or ""
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else cause
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or parsed.get("Cause") or cause
    except ValueError:
        pass
    return f"{name}: {cause}"[:ERROR_MESSAGE_LIMIT]


class RecordingPipeline:
    """Every task of the state machine; ``run(event)`` dispatches on ``event["task"]``."""

    def __init__(
        self,
        *,
        store: ObjectStore | None = None,
        publisher: EventPublisher | None = None,
        tools: MediaTools | None = None,
        transcriber: Transcriber | None = None,
        retention: RetentionApplier | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._publisher = publisher
        self._tools = tools
        self.transcriber = transcriber or default_transcriber
        self.retention = retention or default_retention
        self.tasks: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "claim": self.claim,
            "probe": self.probe,
            "thumbnail": self.thumbnail,
            "preview": self.preview,
            "plan": self.plan,
            "remux": self.remux,
            "transcode_segment": self.transcode_segment,
            "join": self.join,
            "extract_audio": self.extract_audio,
            "transcribe": self.transcribe,
            "finalize": self.finalize,
            "mark_failed": self.mark_failed,
        }

    # --- collaborators, made on first use (a warm container keeps them) ---------------------

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            self._store = object_store()
        return self._store

    @property
    def publisher(self) -> EventPublisher:
        if self._publisher is None:
            self._publisher = EventBridgePublisher()
        return self._publisher

    @property
    def tools(self) -> MediaTools:
        if self._tools is None:
            self._tools = find_media_tools()
        return self._tools

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        task = event.get("task")
        if task not in self.tasks:
            raise ValueError(f"unknown pipeline task {task!r}")
        logger.info("pipeline task", extra={"task": task, "recording_id": event.get("recording_id")})
        return self.tasks[str(task)](event)

    @contextmanager
    def _workspace(self, recording_id: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix=f"rec-{recording_id}-", dir=self.settings.pipeline_work_dir) as path:
            yield Path(path)

    def _download(self, key: str, dest: Path) -> Path:
        try:
            return self.store.download_to(key, dest)
        except NotFound as exc:
            raise RawFileMissing(f"{key} is not in bucket {self.store.bucket}") from exc

    def _upload(self, path: Path, key: str) -> dict[str, Any]:
        stored = self.store.put_file(key, path, content_type=CONTENT_TYPES.get(path.suffix.lstrip(".")))
        return {"path": key, "size": stored.size}

    def _source(self, event: dict[str, Any], work: Path) -> tuple[Path, MediaInfo]:
        key = str(event["source_key"])
        local = self._download(key, work / ("source" + Path(key).suffix))
        return local, probe(self.tools, local)

    # --- tasks -----------------------------------------------------------------------------

    def claim(self, event: dict[str, Any]) -> dict[str, Any]:
        """Read the manifest and take the job for this execution; ``proceed`` false: nothing to do."""
        key = str(event.get("key") or "")
        recording_id = recording_id_from_key(key)
        bucket = event.get("bucket")
        if bucket and bucket != self.store.bucket:
            raise ManifestInvalid(f"manifest is in bucket {bucket}, recordings are in {self.store.bucket}")
        try:
            manifest = Manifest.parse(self.store.get_bytes(key), recording_id)
        except NotFound as exc:
            raise ManifestInvalid(f"{key} no longer exists") from exc
        try:
            job = RecordingJobModel.get(recording_id)
        except DoesNotExist as exc:
            raise RecordingNotFound(f"no recording job {recording_id}") from exc
        if manifest.meeting_id != job.meeting_id:
            raise ManifestInvalid(f"manifest names meeting {manifest.meeting_id}, the job {job.meeting_id}")
        execution = str(event.get("execution") or "")
        if job.status == TERMINAL:
            return {"proceed": False, "reason": "already_completed", "recording_id": recording_id}
        if job.status == "processing" and job.execution_arn and job.execution_arn != execution:
            logger.info("duplicate pipeline start ignored", extra={"recording_id": recording_id})
            return {"proceed": False, "reason": "already_claimed", "recording_id": recording_id}
        if manifest.composite is None:
            raise ManifestInvalid(f"manifest of recording {recording_id} has no composite track")
        try:
            job.update(
                actions=[
                    RecordingJobModel.status.set("processing"),
                    RecordingJobModel.execution_arn.set(execution),
                    RecordingJobModel.error_message.remove(),
                    RecordingJobModel.updated_at.set(utcnow()),
                    RecordingJobModel.version.set(job.version + 1),
                ],
                condition=RecordingJobModel.version == job.version,
            )
        except UpdateError:
            # Another execution changed the job between our read and write: it owns the job.
            return {"proceed": False, "reason": "already_claimed", "recording_id": recording_id}
        return {
            "proceed": True,
            "recording_id": recording_id,
            "meeting_id": job.meeting_id,
            "output_format": manifest.output_format,
            "languages": list(manifest.languages),
            "source_key": manifest.composite.file_path,
            "audio_sources": manifest.audio_sources(),
        }

    def probe(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._workspace(event["recording_id"]) as work:
            _, info = self._source(event, work)
        return info.as_dict()

    def thumbnail(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id = event["recording_id"]
        with self._workspace(recording_id) as work:
            source, info = self._source(event, work)
            if info.video is None:
                return {"path": None, "size": 0}
            image = processing.thumbnail(
                self.tools, source, work / "thumbnail.jpg", at_seconds=processing.thumbnail_time(info.duration)
            )
            return self._upload(image, _key(recording_id, "thumbnail.jpg"))

    def preview(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id = event["recording_id"]
        with self._workspace(recording_id) as work:
            source, info = self._source(event, work)
            if info.video is None:
                return {"path": None, "size": 0}
            image = processing.preview_strip(self.tools, source, work / "preview.jpg", duration=info.duration)
            return self._upload(image, _key(recording_id, "preview.jpg"))

    def plan(self, event: dict[str, Any]) -> dict[str, Any]:
        """Remux when the source is already web-playable; otherwise the segments of a parallel transcode."""
        recording_id = event["recording_id"]
        output_format = cast(OutputFormat, event["output_format"])
        with self._workspace(recording_id) as work:
            source, info = self._source(event, work)
            if processing.is_web_ready(info, output_format):
                return {"mode": "remux", "segments": []}
            keyframes = processing.keyframe_times(self.tools, source) if info.video else []
        segments = (
            plan_segments(info.duration, self.settings.recording_segment_seconds, keyframes) if info.video else []
        )
        return {
            "mode": "transcode",
            "segments": [
                {
                    # Map items go to the task as they are: each names its task.
                    "task": "transcode_segment",
                    "recording_id": recording_id,
                    "source_key": event["source_key"],
                    "output_format": output_format,
                    "index": segment.index,
                    "start": segment.start,
                    "duration": segment.duration,
                }
                for segment in segments
            ],
        }

    def _web_output(self, recording_id: str, output_format: str, local: Path) -> dict[str, Any]:
        info = probe(self.tools, local)
        uploaded = self._upload(local, _key(recording_id, "web", f"recording.{output_format}"))
        return {**uploaded, "format": output_format, "duration": round(info.duration, 3)}

    def remux(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id, output_format = event["recording_id"], cast(OutputFormat, event["output_format"])
        with self._workspace(recording_id) as work:
            source, _ = self._source(event, work)
            web = processing.remux_for_web(self.tools, source, work / f"recording.{output_format}", output_format)
            return self._web_output(recording_id, output_format, web)

    def transcode_segment(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id, output_format = event["recording_id"], cast(OutputFormat, event["output_format"])
        index = int(event["index"])
        with self._workspace(recording_id) as work:
            source, _ = self._source(event, work)
            encoded = processing.transcode_segment(
                self.tools,
                source,
                work / f"{index:04d}.{output_format}",
                start=float(event["start"]),
                duration=None if event.get("duration") is None else float(event["duration"]),
                output_format=output_format,
            )
            uploaded = self._upload(encoded, _key(recording_id, "work", "segments", f"{index:04d}.{output_format}"))
        return {"index": index, "key": uploaded["path"], "size": uploaded["size"]}

    def join(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id, output_format = event["recording_id"], cast(OutputFormat, event["output_format"])
        segments = sorted(event.get("segments") or [], key=lambda item: int(item["index"]))
        with self._workspace(recording_id) as work:
            source, info = self._source(event, work)
            parts = [self._download(item["key"], work / "parts" / Path(item["key"]).name) for item in segments]
            joined = processing.join_segments(
                self.tools,
                parts,
                source if info.audio else None,
                work / f"recording.{output_format}",
                output_format=output_format,
                list_file=work / "segments.txt",
            )
            result = self._web_output(recording_id, output_format, joined)
        for item in segments:
            # The web file is stored: a segment left behind is waste, not a failure (a retry of this
            # task must not find its inputs half deleted and fail the recording).
            try:
                self.store.delete(item["key"])
            except Exception:  # noqa: BLE001 - logged; the output is already safe
                logger.warning("intermediate segment not deleted", extra={"key": item["key"]})
        return result

    def extract_audio(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id, language = event["recording_id"], str(event["language"])
        with self._workspace(recording_id) as work:
            source, info = self._source(event, work)
            if info.audio is None:
                raise UnreadableMedia(f"{event['source_key']} has no audio stream for language {language}")
            wav = processing.extract_speech_audio(self.tools, source, work / f"{language}.wav")
            uploaded = self._upload(wav, _key(recording_id, "audio", f"{language}.wav"))
        return {"language": language, **uploaded, "duration": round(info.duration, 3)}

    def transcribe(self, event: dict[str, Any]) -> dict[str, Any]:
        recording_id, language = event["recording_id"], str(event["language"])
        settings = self.settings
        if not settings.transcription_enabled:
            return {"language": language, "status": "skipped", "reason": "TRANSCRIPTION_ENABLED is false"}
        if language not in settings.transcription_language_list:
            return {"language": language, "status": "skipped", "reason": "not in TRANSCRIPTION_LANGUAGES"}
        result = self.transcriber(recording_id, language)
        job_id = getattr(result, "job_id", None) or (result.get("job_id") if isinstance(result, dict) else None)
        return {"language": language, "status": "completed", "transcription_job_id": job_id}

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        """Outputs, size and duration on the job, status completed, RecordingCompleted; then the storage policy."""
        recording_id = event["recording_id"]
        job = RecordingJobModel.get(recording_id)
        if job.status == TERMINAL:
            return {"recording_id": recording_id, "status": TERMINAL, "changed": False}
        web = event["web"]
        languages = event.get("languages") or []
        audio = {item["language"]: {"path": item["audio"]["path"], "size": item["audio"]["size"]} for item in languages}
        outputs = {
            "web": {key: web[key] for key in ("path", "size", "format", "duration")},
            "audio": audio,
            "transcripts": {item["language"]: item["transcript"]["status"] for item in languages},
        }
        thumbnail = (event.get("thumbnail") or {}).get("path")
        preview = (event.get("preview") or {}).get("path")
        duration = round(float(web["duration"]))
        now = utcnow()
        job.update(
            actions=[
                RecordingJobModel.status.set(TERMINAL),
                RecordingJobModel.outputs.set(outputs),
                RecordingJobModel.storage_path.set(web["path"]),
                RecordingJobModel.thumbnail_path.set(thumbnail)
                if thumbnail
                else RecordingJobModel.thumbnail_path.remove(),
                RecordingJobModel.preview_path.set(preview) if preview else RecordingJobModel.preview_path.remove(),
                RecordingJobModel.file_size_bytes.set(int(web["size"])),
                RecordingJobModel.duration_seconds.set(duration),
                RecordingJobModel.completed_at.set(now),
                RecordingJobModel.updated_at.set(now),
                RecordingJobModel.error_message.remove(),
                RecordingJobModel.version.set(job.version + 1),
            ],
            condition=RecordingJobModel.version == job.version,
        )
        self.publisher.publish(
            DomainEvent.RECORDING_COMPLETED,
            {
                "recording_id": recording_id,
                "meeting_id": job.meeting_id,
                "host_id": self._host_id(job),
                "duration_seconds": duration,
                "storage_path": web["path"],
                "thumbnail_path": thumbnail,
                "output_format": job.output_format,
                "file_size_bytes": int(web["size"]),
                "languages": sorted(audio),
                "completed_at": isoformat_z(now),
            },
        )
        emit_dimensioned(
            {"RecordingsCompleted": ("Count", 1), "RecordingMinutes": ("Count", duration / 60)},
            {"output_format": str(job.output_format)},
            {"recording_id": recording_id, "meeting_id": job.meeting_id},
        )
        policy = self.retention(recording_id)
        return {"recording_id": recording_id, "status": TERMINAL, "changed": True, "policy_applied": policy is not None}

    def mark_failed(self, event: dict[str, Any]) -> dict[str, Any]:
        """The Catch target: the job failed with the error (a completed job is left alone)."""
        recording_id = event.get("recording_id")
        if not recording_id:
            try:
                recording_id = recording_id_from_key(str(event.get("key") or ""))
            except ManifestInvalid:
                logger.error("pipeline failed before a recording was known", extra={"error": event.get("error")})
                return {"status": "unknown_recording"}
        message = _error_text(event.get("error"))
        try:
            job = RecordingJobModel.get(recording_id)
        except DoesNotExist:
            logger.error("pipeline failed for an unknown recording", extra={"recording_id": recording_id})
            return {"recording_id": recording_id, "status": "unknown_recording"}
        if job.status == TERMINAL:
            return {"recording_id": recording_id, "status": TERMINAL, "changed": False}
        execution = event.get("execution")
        if job.status == "processing" and job.execution_arn and execution and job.execution_arn != execution:
            # A duplicate execution failed; the one that owns the job is still at work.
            return {"recording_id": recording_id, "status": job.status, "changed": False}
        already_failed = job.status == "failed"
        job.update(
            actions=[
                RecordingJobModel.status.set("failed"),
                RecordingJobModel.error_message.set(message),
                RecordingJobModel.updated_at.set(utcnow()),
                RecordingJobModel.version.set(job.version + 1),
            ]
        )
        logger.error("recording processing failed", extra={"recording_id": recording_id, "error": message})
        if not already_failed:
            self.publisher.publish(
                DomainEvent.RECORDING_FAILED,
                {"recording_id": recording_id, "meeting_id": job.meeting_id, "error_message": message},
            )
        return {"recording_id": recording_id, "status": "failed", "error_message": message}

    @staticmethod
    def _host_id(job: RecordingJobModel) -> str | None:
        try:
            return MeetingModel.get(job.meeting_id).host_id
        except DoesNotExist:
            return job.started_by
