"""LiveKit Egress through livekit-api: start the outputs of a recording, stop them, list them.

livekit-api is async only and its ``LiveKitAPI`` must be built inside a running loop; the
recording service is synchronous (as every service here), so each call runs in a loop of its own
(on a helper thread when the caller already runs one, as FastAPI's async routes do).

Outputs go straight to the recordings bucket through ``S3Upload``: every file lands at
``recordings/{recording_id}/raw/{track_id}.{ext}`` (enums.raw_track_key). WebM has no
``EncodedFileType`` member: LiveKit infers the container from the ``.webm`` file path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from agents_meetings.meetings.livekit_access import livekit_api_secret
from agents_meetings.recordings.enums import EgressState
from agents_meetings.settings import Settings, get_settings

T = TypeVar("T")
EgressKind = Literal["room_composite", "track_composite", "track"]
FileExtension = Literal["mp4", "webm", "ogg"]
# Track name of a published interpretation channel: "audio-es" carries the Spanish audio.
LANGUAGE_TRACK_PREFIX = "audio-"


class EgressError(Exception):
    """LiveKit refused or could not be reached; ``code`` is Twirp's error code."""

    def __init__(self, message: str, *, code: str = "unavailable", status: int = 503):
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def not_found(self) -> bool:
        return self.code == "not_found" or self.status == 404


@dataclass(frozen=True)
class EgressRequest:
    """One output of a recording: what to capture and where the file goes."""

    kind: EgressKind
    room_name: str
    file_key: str
    extension: FileExtension
    audio_only: bool = False
    audio_track_id: str | None = None
    video_track_id: str | None = None
    track_id: str | None = None  # kind "track": the one track recorded as is
    # Written as the object's S3 metadata (recording_id, track_id, language or languages).
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileResult:
    key: str | None
    location: str
    size: int | None
    duration_seconds: float | None


@dataclass(frozen=True)
class EgressSnapshot:
    egress_id: str
    room_name: str
    state: EgressState
    error: str | None = None
    files: list[FileResult] = field(default_factory=list)


@dataclass(frozen=True)
class RoomTrack:
    participant_identity: str
    track_id: str
    kind: Literal["audio", "video"]
    source: Literal["camera", "microphone", "screen_share", "screen_share_audio", "unknown"]
    name: str

    @property
    def language(self) -> str | None:
        """The language of an interpretation channel (a track named ``audio-<code>``)."""
        if self.kind == "audio" and self.name.startswith(LANGUAGE_TRACK_PREFIX):
            return self.name[len(LANGUAGE_TRACK_PREFIX) :] or None
        return None


_STATES = {
    "EGRESS_STARTING": EgressState.STARTING,
    "EGRESS_ACTIVE": EgressState.ACTIVE,
    "EGRESS_ENDING": EgressState.ENDING,
    "EGRESS_COMPLETE": EgressState.COMPLETE,
    "EGRESS_FAILED": EgressState.FAILED,
    "EGRESS_ABORTED": EgressState.FAILED,
    # The egress stopped at a time or size limit: its file is complete up to there.
    "EGRESS_LIMIT_REACHED": EgressState.COMPLETE,
}
_SOURCES = {0: "unknown", 1: "camera", 2: "microphone", 3: "screen_share", 4: "screen_share_audio"}


def key_of_location(location: str, bucket: str) -> str | None:
    """The object key in ``bucket`` of an egress file location (s3://b/k, https://host/b/k or a key)."""
    if not location:
        return None
    if location.startswith("s3://"):
        found_bucket, _, key = location[5:].partition("/")
        return key if found_bucket == bucket and key else None
    if "://" in location:
        path = location.split("://", 1)[1].partition("/")[2].split("?", 1)[0]
        # Path style (endpoint/bucket/key) or virtual-hosted style (bucket.endpoint/key).
        if path.startswith(bucket + "/"):
            return path[len(bucket) + 1 :]
        host = location.split("://", 1)[1].partition("/")[0]
        return path if host.startswith(bucket + ".") and path else None
    return location.lstrip("/")


def snapshot_of(info: Any, bucket: str) -> EgressSnapshot:
    """Our view of a LiveKit ``EgressInfo`` (from a reply, ``list_egress`` or a webhook)."""
    from livekit.protocol.egress import EgressStatus

    state = _STATES.get(EgressStatus.Name(info.status), EgressState.ACTIVE)
    files = []
    results = list(info.file_results) or ([info.file] if info.HasField("file") and info.file.filename else [])
    for result in results:
        location = result.location or result.filename
        files.append(
            FileResult(
                key=key_of_location(location, bucket),
                location=location,
                size=int(result.size) or None,
                # FileInfo.duration is in nanoseconds.
                duration_seconds=(result.duration / 1e9) if result.duration else None,
            )
        )
    return EgressSnapshot(
        egress_id=info.egress_id, room_name=info.room_name, state=state, error=info.error or None, files=files
    )


def run_coroutine(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from synchronous code, inside a running loop or not."""

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="livekit") as pool:
        return pool.submit(asyncio.run, main()).result()


class EgressClient:
    """LiveKit's Egress and Room services as the recording service needs them (synchronous)."""

    def __init__(self, settings: Settings | None = None):
        self._settings = settings or get_settings()

    @property
    def url(self) -> str:
        return self._settings.livekit_egress_url or self._settings.livekit_url

    def _credentials(self) -> tuple[str, str]:
        secret = livekit_api_secret(self._settings)
        if not self._settings.livekit_api_key or secret is None:
            raise EgressError(
                "Recording is not configured (LIVEKIT_API_KEY and LIVEKIT_API_SECRET or LIVEKIT_API_SECRET_ARN).",
                code="not_configured",
            )
        return self._settings.livekit_api_key, secret

    def _call(self, action: Callable[[Any], Awaitable[T]]) -> T:
        key, secret = self._credentials()

        async def call() -> T:
            import aiohttp
            from livekit.api import LiveKitAPI
            from livekit.api.twirp_client import ServerError

            # Built here, inside the loop that uses it (livekit-api's aiohttp session needs one).
            client = LiveKitAPI(self.url, key, secret, timeout=aiohttp.ClientTimeout(total=15))
            try:
                return await action(client)
            except ServerError as exc:
                raise EgressError(f"LiveKit: {exc.message or exc.code}", code=exc.code, status=exc.status) from exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise EgressError(f"LiveKit is unreachable: {type(exc).__name__}") from exc
            finally:
                await client.aclose()

        return run_coroutine(call)

    def _s3_upload(self, metadata: dict[str, str]) -> Any:
        from livekit.protocol.egress import S3Upload

        settings = self._settings
        endpoint = settings.livekit_egress_s3_endpoint or settings.s3_endpoint_url or settings.aws_endpoint_url
        secret = settings.livekit_egress_s3_secret
        return S3Upload(
            bucket=settings.s3_bucket_name,
            region=settings.s3_region or settings.aws_region,
            endpoint=endpoint or "",
            force_path_style=bool(endpoint),
            access_key=settings.livekit_egress_s3_access_key or "",
            secret=secret.get_secret_value() if secret else "",
            assume_role_arn=settings.livekit_egress_s3_assume_role_arn or "",
            metadata=metadata,
        )

    def start(self, request: EgressRequest) -> EgressSnapshot:
        from livekit.protocol import egress as proto

        s3 = self._s3_upload(request.metadata)
        bucket = self._settings.s3_bucket_name
        file_type = {"mp4": proto.EncodedFileType.MP4, "ogg": proto.EncodedFileType.OGG}.get(
            request.extension, proto.EncodedFileType.DEFAULT_FILETYPE
        )
        encoded = proto.EncodedFileOutput(file_type=file_type, filepath=request.file_key, s3=s3)

        async def start(api: Any) -> EgressSnapshot:
            if request.kind == "room_composite":
                info = await api.egress.start_room_composite_egress(
                    proto.RoomCompositeEgressRequest(
                        room_name=request.room_name,
                        layout="grid",
                        audio_only=request.audio_only,
                        file_outputs=[encoded],
                    )
                )
            elif request.kind == "track_composite":
                info = await api.egress.start_track_composite_egress(
                    proto.TrackCompositeEgressRequest(
                        room_name=request.room_name,
                        audio_track_id=request.audio_track_id or "",
                        video_track_id=request.video_track_id or "",
                        file_outputs=[encoded],
                    )
                )
            else:
                info = await api.egress.start_track_egress(
                    proto.TrackEgressRequest(
                        room_name=request.room_name,
                        track_id=request.track_id or "",
                        file=proto.DirectFileOutput(filepath=request.file_key, s3=s3),
                    )
                )
            return snapshot_of(info, bucket)

        return self._call(start)

    def stop(self, egress_id: str) -> EgressSnapshot:
        from livekit.protocol.egress import StopEgressRequest

        bucket = self._settings.s3_bucket_name

        async def stop(api: Any) -> EgressSnapshot:
            return snapshot_of(await api.egress.stop_egress(StopEgressRequest(egress_id=egress_id)), bucket)

        return self._call(stop)

    def list_egress(self, *, room_name: str = "", egress_id: str = "") -> list[EgressSnapshot]:
        from livekit.protocol.egress import ListEgressRequest

        bucket = self._settings.s3_bucket_name

        async def list_all(api: Any) -> list[EgressSnapshot]:
            snapshots: list[EgressSnapshot] = []
            page_token: Any = None
            while True:
                request = ListEgressRequest(room_name=room_name, egress_id=egress_id)
                if page_token is not None:
                    request.page_token.CopyFrom(page_token)
                response = await api.egress.list_egress(request)
                snapshots.extend(snapshot_of(info, bucket) for info in response.items)
                if not response.HasField("next_page_token") or not response.next_page_token.token:
                    return snapshots
                page_token = response.next_page_token

        return self._call(list_all)

    def room_tracks(self, room_name: str) -> list[RoomTrack]:
        """Published tracks of the room's participants (for per-participant and screen-share outputs)."""
        from livekit.protocol.models import TrackType
        from livekit.protocol.room import ListParticipantsRequest

        async def tracks(api: Any) -> list[RoomTrack]:
            response = await api.room.list_participants(ListParticipantsRequest(room=room_name))
            found = []
            for participant in response.participants:
                for track in participant.tracks:
                    if track.type not in (TrackType.AUDIO, TrackType.VIDEO):
                        continue
                    found.append(
                        RoomTrack(
                            participant_identity=participant.identity,
                            track_id=track.sid,
                            kind="audio" if track.type == TrackType.AUDIO else "video",
                            source=_SOURCES.get(track.source, "unknown"),  # type: ignore[arg-type]
                            name=track.name,
                        )
                    )
            return found

        try:
            return self._call(tracks)
        except EgressError as exc:
            if exc.not_found:  # no such room (nobody has joined yet): no tracks
                return []
            raise
