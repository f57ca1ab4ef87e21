"""A LiveKit server as far as recording goes: the Twirp Egress API, room participants, signed webhooks.

The local runtime's embedded default when no ``LIVEKIT_URL`` is configured, and the counterpart of
the integration tests (driven by the real livekit-api client). It speaks the wire format of a real
server: ``POST /twirp/livekit.Egress/<Method>`` and ``/twirp/livekit.RoomService/ListParticipants``
with protobuf bodies, a Bearer JWT checked against the API key and secret (grant ``roomRecord``,
or ``roomAdmin`` for rooms), protobuf replies and JSON ``{code, msg}`` errors.

On stop it writes real media where Egress would (the request's ``S3Upload``), rendered by
``agents_meetings.media.samples.egress_file``: a test-pattern video with speech from espeak-ng (MP4
H.264/AAC, WebM VP8/Opus when the path ends in .webm), OGG/Opus for audio-only outputs, one sentence
per language (the language comes from the upload's object
metadata, ``language`` or ``languages``). The duration is the wall time between start and stop,
capped. Then it sends ``egress_updated`` and ``egress_ended`` webhooks with the file results,
signed as LiveKit signs them. Fault switches: ``drop_egress_ended`` (reconcile must notice) and
``fail_egresses`` (the egress ends ``EGRESS_FAILED``); ``refuse_starts`` makes starts answer 503.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents_meetings.media import samples
from agents_meetings.media.tools import find_media_tools
from aiohttp import web
from livekit.protocol import egress as proto
from livekit.protocol import models, room
from livekit.protocol import webhook as webhook_proto


@dataclass
class _Egress:
    info: Any  # EgressInfo
    kind: str
    filepath: str
    s3: Any  # S3Upload
    audio_only: bool
    started: float
    languages: list[str]


@dataclass
class RoomParticipant:
    identity: str
    # (track sid, "audio" | "video", source: "camera" | "microphone" | "screen_share", track name)
    tracks: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SignedWebhook:
    event: str
    egress_id: str
    body: str
    authorization: str


class TwirpError(Exception):
    def __init__(self, status: int, code: str, msg: str):
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class LiveKitEmulator:
    def __init__(
        self,
        api_key: str,
        api_secret: str,
        *,
        webhook_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_duration_seconds: float = 20.0,
        min_duration_seconds: float = 2.0,
        local_storage: bool = False,
    ):
        self.api_key, self._secret = api_key, api_secret
        self.webhook_url = webhook_url
        self.host, self.port = host, port
        self.max_duration_seconds = max_duration_seconds
        self.min_duration_seconds = min_duration_seconds
        # True: outputs go to the platform's local directory store (STORAGE_BACKEND=local), as a
        # self-hosted egress writes to a volume the platform reads, instead of its S3 upload.
        self.local_storage = local_storage
        # Fault switches (tests and demos flip them at run time).
        self.drop_egress_ended = False
        self.fail_egresses = False
        self.refuse_starts = False
        self.egresses: dict[str, _Egress] = {}
        self.rooms: dict[str, list[RoomParticipant]] = {}
        self.webhooks_sent: list[SignedWebhook] = []
        # (event, egress id, the receiver's last HTTP status or None if it never answered), in order.
        self.webhook_deliveries: list[tuple[str, str, int | None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()

    # --- life cycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LiveKitEmulator:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="livekit-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(15):
            raise RuntimeError("the LiveKit emulator did not start")
        return self

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/twirp/livekit.Egress/{method}", self._egress_route)
        app.router.add_post("/twirp/livekit.RoomService/{method}", self._room_route)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self.host, self.port)
        self._loop.run_until_complete(site.start())
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None and server.sockets:
            self.port = int(server.sockets[0].getsockname()[1])
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._loop is None:
            return
        loop, runner = self._loop, self._runner

        async def shutdown() -> None:
            for task in list(self._pending):
                task.cancel()
            if runner is not None:
                await runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = None

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until every stop's media and webhooks are done (tests poll this with a deadline)."""
        deadline = time.monotonic() + timeout
        while self._pending:
            if time.monotonic() > deadline:
                raise TimeoutError("the LiveKit emulator is still busy")
            time.sleep(0.05)

    # --- rooms (what a real server learns from connected clients) -----------------------------

    def add_participant(self, room_name: str, identity: str, tracks: list[tuple[str, str, str, str]]) -> None:
        with self._lock:
            self.rooms.setdefault(room_name, []).append(RoomParticipant(identity, list(tracks)))

    # --- HTTP ---------------------------------------------------------------------------------

    def _claims(self, request: web.Request) -> Any:
        from livekit.api.access_token import TokenVerifier

        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise TwirpError(401, "unauthenticated", "authorization header missing")
        try:
            return TokenVerifier(self.api_key, self._secret).verify(header[7:])
        except Exception as exc:
            raise TwirpError(401, "unauthenticated", f"invalid token: {exc}") from exc

    @staticmethod
    def _error(exc: TwirpError) -> web.Response:
        return web.json_response({"code": exc.code, "msg": exc.msg}, status=exc.status)

    @staticmethod
    def _reply(message: Any) -> web.Response:
        return web.Response(body=message.SerializeToString(), content_type="application/protobuf")

    async def _egress_route(self, request: web.Request) -> web.Response:
        try:
            claims = self._claims(request)
            if not (claims.video and claims.video.room_record):
                raise TwirpError(403, "permission_denied", "roomRecord permission required")
            method = request.match_info["method"]
            body = await request.read()
            handlers = {
                "StartRoomCompositeEgress": self._start_room_composite,
                "StartTrackCompositeEgress": self._start_track_composite,
                "StartTrackEgress": self._start_track,
                "StopEgress": self._stop_egress,
                "ListEgress": self._list_egress,
            }
            if method not in handlers:
                raise TwirpError(404, "bad_route", f"no handler for {method}")
            return self._reply(handlers[method](body))
        except TwirpError as exc:
            return self._error(exc)

    async def _room_route(self, request: web.Request) -> web.Response:
        try:
            claims = self._claims(request)
            if request.match_info["method"] != "ListParticipants":
                raise TwirpError(404, "bad_route", "only ListParticipants is emulated")
            parsed = _parse(room.ListParticipantsRequest, await request.read())
            if not (claims.video and claims.video.room_admin and claims.video.room == parsed.room):
                raise TwirpError(403, "permission_denied", "roomAdmin permission for this room required")
            with self._lock:
                participants = self.rooms.get(parsed.room)
            if participants is None:
                raise TwirpError(404, "not_found", "room not found")
            response = room.ListParticipantsResponse()
            for participant in participants:
                info = response.participants.add(identity=participant.identity, sid=f"PA_{participant.identity}")
                for sid, kind, source, name in participant.tracks:
                    info.tracks.add(
                        sid=sid,
                        name=name,
                        type=models.TrackType.AUDIO if kind == "audio" else models.TrackType.VIDEO,
                        source=models.TrackSource.Value(source.upper()),
                    )
            return self._reply(response)
        except TwirpError as exc:
            return self._error(exc)

    # --- egress methods -------------------------------------------------------------------------

    def _start_room_composite(self, body: bytes) -> Any:
        request = _parse(proto.RoomCompositeEgressRequest, body)
        output = _single_file_output(request)
        info = proto.EgressInfo(room_name=request.room_name)
        info.room_composite.CopyFrom(request)
        return self._begin(info, "room_composite", output, audio_only=request.audio_only)

    def _start_track_composite(self, body: bytes) -> Any:
        request = _parse(proto.TrackCompositeEgressRequest, body)
        if not (request.audio_track_id or request.video_track_id):
            raise TwirpError(400, "invalid_argument", "audio_track_id or video_track_id required")
        self._require_tracks(request.room_name, [request.audio_track_id, request.video_track_id])
        output = _single_file_output(request)
        info = proto.EgressInfo(room_name=request.room_name)
        info.track_composite.CopyFrom(request)
        return self._begin(info, "track_composite", output, audio_only=not request.video_track_id)

    def _start_track(self, body: bytes) -> Any:
        request = _parse(proto.TrackEgressRequest, body)
        if not request.HasField("file") or not request.file.HasField("s3"):
            raise TwirpError(400, "invalid_argument", "a file output with s3 upload is required")
        self._require_tracks(request.room_name, [request.track_id])
        info = proto.EgressInfo(room_name=request.room_name)
        info.track.CopyFrom(request)
        audio_only = any(
            sid == request.track_id and kind == "audio"
            for participant in self.rooms.get(request.room_name, [])
            for sid, kind, _, _ in participant.tracks
        )
        return self._begin(info, "track", request.file, audio_only=audio_only)

    def _require_tracks(self, room_name: str, track_ids: list[str]) -> None:
        known = {sid for p in self.rooms.get(room_name, []) for sid, *_ in p.tracks}
        missing = [sid for sid in track_ids if sid and sid not in known]
        if missing:
            raise TwirpError(404, "not_found", f"track {missing[0]} not found in room {room_name}")

    def _begin(self, info: Any, kind: str, output: Any, *, audio_only: bool) -> Any:
        if self.refuse_starts:
            raise TwirpError(503, "unavailable", "no egress instance available")
        if not info.room_name:
            raise TwirpError(400, "invalid_argument", "room_name is required")
        if not output.filepath:
            raise TwirpError(400, "invalid_argument", "filepath is required")
        metadata = dict(output.s3.metadata)
        languages = [
            code for code in (metadata.get("languages") or metadata.get("language") or "en").split(",") if code
        ]
        info.egress_id = f"EG_{uuid.uuid4().hex[:12]}"
        info.status = proto.EgressStatus.EGRESS_STARTING
        info.started_at = time.time_ns()
        info.updated_at = info.started_at
        egress = _Egress(info, kind, output.filepath, output.s3, audio_only, time.monotonic(), languages)
        with self._lock:
            self.egresses[info.egress_id] = egress
        reply = proto.EgressInfo()
        reply.CopyFrom(info)
        self._background(self._announce_start(egress))
        return reply

    def _stop_egress(self, body: bytes) -> Any:
        request = _parse(proto.StopEgressRequest, body)
        with self._lock:
            egress = self.egresses.get(request.egress_id)
        if egress is None:
            raise TwirpError(404, "not_found", "egress not found")
        if egress.info.status not in (proto.EgressStatus.EGRESS_STARTING, proto.EgressStatus.EGRESS_ACTIVE):
            status = proto.EgressStatus.Name(egress.info.status)
            raise TwirpError(412, "failed_precondition", f"egress with status {status} cannot be stopped")
        egress.info.status = proto.EgressStatus.EGRESS_ENDING
        egress.info.updated_at = time.time_ns()
        duration = min(max(time.monotonic() - egress.started, self.min_duration_seconds), self.max_duration_seconds)
        reply = proto.EgressInfo()
        reply.CopyFrom(egress.info)
        self._background(self._finish(egress, duration))
        return reply

    def _list_egress(self, body: bytes) -> Any:
        request = _parse(proto.ListEgressRequest, body)
        response = proto.ListEgressResponse()
        with self._lock:
            egresses = list(self.egresses.values())
        for egress in egresses:
            info = egress.info
            if request.room_name and info.room_name != request.room_name:
                continue
            if request.egress_id and info.egress_id != request.egress_id:
                continue
            if request.active and info.status not in (
                proto.EgressStatus.EGRESS_STARTING,
                proto.EgressStatus.EGRESS_ACTIVE,
            ):
                continue
            response.items.add().CopyFrom(info)
        return response

    # --- what happens after the reply ----------------------------------------------------------

    def _background(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _announce_start(self, egress: _Egress) -> None:
        await self._send_webhook("egress_started", egress.info)
        if egress.info.status == proto.EgressStatus.EGRESS_STARTING:
            egress.info.status = proto.EgressStatus.EGRESS_ACTIVE
            egress.info.updated_at = time.time_ns()
            await self._send_webhook("egress_updated", egress.info)

    async def _finish(self, egress: _Egress, duration: float) -> None:
        await self._send_webhook("egress_updated", egress.info)
        info = egress.info
        if self.fail_egresses:
            info.status = proto.EgressStatus.EGRESS_FAILED
            info.error = "egress pipeline failed: emulated fault"
            info.error_code = 500
        else:
            try:
                size = await asyncio.get_running_loop().run_in_executor(None, self._write_media, egress, duration)
            except Exception as exc:  # noqa: BLE001 - reported as Egress reports it: a failed egress
                info.status = proto.EgressStatus.EGRESS_FAILED
                info.error = f"could not write the file: {exc}"[:500]
            else:
                info.status = proto.EgressStatus.EGRESS_COMPLETE
                bucket = egress.s3.bucket
                endpoint = egress.s3.endpoint.rstrip("/")
                location = f"{endpoint}/{bucket}/{egress.filepath}" if endpoint else f"s3://{bucket}/{egress.filepath}"
                if self.local_storage:
                    location = egress.filepath  # a file on the egress's volume, named by its key
                result = info.file_results.add(
                    filename=egress.filepath,
                    started_at=info.started_at,
                    ended_at=time.time_ns(),
                    duration=int(duration * 1e9),
                    size=size,
                    location=location,
                )
                info.file.CopyFrom(result)
        info.ended_at = time.time_ns()
        info.updated_at = info.ended_at
        if not self.drop_egress_ended:
            await self._send_webhook("egress_ended", info)

    def _write_media(self, egress: _Egress, duration: float) -> int:
        import boto3

        extension = Path(egress.filepath).suffix.lstrip(".").lower() or "mp4"
        with tempfile.TemporaryDirectory(prefix="livekit-egress-") as scratch:
            folder = Path(scratch)
            output = folder / f"out.{extension}"
            render_media(output, duration=duration, languages=egress.languages, audio_only=egress.audio_only)
            s3 = egress.s3
            content_type = _CONTENT_TYPES.get(extension, "application/octet-stream")
            if self.local_storage:
                from agents_meetings.storage import LocalObjectStore

                LocalObjectStore(bucket=s3.bucket).put_file(egress.filepath, output, content_type=content_type)
                return output.stat().st_size
            client = boto3.client(
                "s3",
                endpoint_url=s3.endpoint or None,
                region_name=s3.region or "us-east-1",
                aws_access_key_id=s3.access_key or "local",
                aws_secret_access_key=s3.secret or "local",
            )
            extra = {"ContentType": content_type}
            if s3.metadata:
                extra["Metadata"] = dict(s3.metadata)
            client.upload_file(str(output), s3.bucket, egress.filepath, ExtraArgs=extra)
            return output.stat().st_size

    def signed_webhook(self, event: str, info: Any) -> SignedWebhook:
        """A webhook as LiveKit sends it: JSON of WebhookEvent, JWT with the body's SHA-256."""
        from google.protobuf.json_format import MessageToJson
        from livekit.api.access_token import AccessToken

        message = webhook_proto.WebhookEvent(event=event, id=f"EV_{uuid.uuid4().hex[:12]}", created_at=int(time.time()))
        message.egress_info.CopyFrom(info)
        body = MessageToJson(message)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        token = AccessToken(self.api_key, self._secret).with_sha256(digest).to_jwt()
        return SignedWebhook(event, info.egress_id, body, token)

    async def _send_webhook(self, event: str, info: Any) -> None:
        signed = self.signed_webhook(event, info)
        self.webhooks_sent.append(signed)
        if not self.webhook_url:
            return  # kept in webhooks_sent: a test delivers them itself
        import aiohttp

        body = signed.body
        headers = {"Authorization": signed.authorization, "Content-Type": "application/webhook+json"}
        # LiveKit's notifier (go-retryablehttp) retries a webhook on a connection error, 429 and
        # 5xx, waiting Retry-After when given; other answers are final. So does this.
        status: int | None = None
        for attempt in range(6):
            wait = 0.2 * 2**attempt
            try:
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
                    session.post(self.webhook_url, data=body.encode(), headers=headers) as response,
                ):
                    status = response.status
                    if status != 429 and status < 500:
                        break
                    with contextlib.suppress(ValueError):
                        wait = min(max(wait, float(response.headers.get("Retry-After", ""))), 30.0)
            except (aiohttp.ClientError, TimeoutError):
                status = None
            if attempt < 5:
                await asyncio.sleep(wait)
        self.webhook_deliveries.append((event, info.egress_id, status))


_CONTENT_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "ogg": "audio/ogg", "mp3": "audio/mpeg"}


def _parse(message_type: Any, body: bytes) -> Any:
    from google.protobuf.message import DecodeError

    try:
        return message_type.FromString(body)
    except DecodeError as exc:
        raise TwirpError(400, "malformed", f"body is not a {message_type.__name__}") from exc


def _single_file_output(request: Any) -> Any:
    outputs = list(request.file_outputs) or ([request.file] if request.HasField("file") else [])
    if len(outputs) != 1:
        raise TwirpError(400, "invalid_argument", "exactly one file output is supported")
    if not outputs[0].HasField("s3"):
        raise TwirpError(400, "invalid_argument", "the file output needs an s3 upload")
    return outputs[0]


def render_media(output: Path, *, duration: float, languages: list[str], audio_only: bool) -> None:
    """The file an egress would have written: test pattern + speech, container from the extension."""
    samples.egress_file(
        find_media_tools(), output, seconds=round(duration, 3), languages=languages, audio_only=audio_only
    )
