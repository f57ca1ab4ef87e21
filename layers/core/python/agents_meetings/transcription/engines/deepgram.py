"""Deepgram pre-recorded transcription through deepgram-sdk, mapped into the normalised model.

Options: DEEPGRAM_MODEL (default nova-3), diarize, smart_format, utterances, and the track's
language. Utterances become segments (with their speaker); without utterances the word list is
split at speaker changes and pauses. HTTP 408/429/5xx, timeouts and network faults are
``TranscriptionRetryableError``; other refusals (400 bad audio, 401/403 key, 402 balance) are
``TranscriptionFailedError``. The API key is never logged or put in an error message.
"""

from __future__ import annotations

from typing import Any

from agents_meetings.secret_values import resolve_secret
from agents_meetings.settings import Settings, get_settings
from agents_meetings.transcription.engines.base import (
    AudioInput,
    TranscriptionFailedError,
    TranscriptionRetryableError,
)
from agents_meetings.transcription.model import Segment, Transcript, Word

RETRYABLE_STATUSES = frozenset({408, 409, 429})
# Without utterances: a pause this long between words starts a new segment.
SEGMENT_PAUSE_SECONDS = 1.5


def deepgram_api_key(settings: Settings) -> str | None:
    return resolve_secret(settings.deepgram_api_key, settings.deepgram_api_key_arn)


def _speaker(value: Any) -> str | None:
    return None if value is None else str(value)


def _word(data: dict[str, Any]) -> Word:
    confidence = data.get("confidence")
    return Word(
        word=str(data.get("punctuated_word") or data["word"]),
        start=float(data["start"]),
        end=float(data["end"]),
        confidence=None if confidence is None else float(confidence),
        speaker=_speaker(data.get("speaker")),
    )


def _segments_from_words(words: list[Word]) -> list[Segment]:
    groups: list[list[Word]] = []
    for word in words:
        previous = groups[-1][-1] if groups else None
        if previous is None or word.speaker != previous.speaker or word.start - previous.end > SEGMENT_PAUSE_SECONDS:
            groups.append([word])
        else:
            groups[-1].append(word)
    return [
        Segment(
            id=index,
            start=group[0].start,
            end=group[-1].end,
            text=" ".join(w.word for w in group),
            speaker=group[0].speaker,
            words=tuple(group),
        )
        for index, group in enumerate(groups)
    ]


def map_deepgram_response(body: dict[str, Any], *, recording_id: str, language: str, provider: str) -> Transcript:
    """Deepgram's ``/v1/listen`` JSON (metadata, results.channels, results.utterances) -> Transcript."""
    try:
        results = body["results"]
        duration = float(body.get("metadata", {}).get("duration") or 0.0)
        utterances = results.get("utterances") or []
        if utterances:
            segments = [
                Segment(
                    id=index,
                    start=float(utterance["start"]),
                    end=float(utterance["end"]),
                    text=str(utterance.get("transcript", "")).strip(),
                    speaker=_speaker(utterance.get("speaker")),
                    words=tuple(_word(w) for w in utterance.get("words") or ()),
                )
                for index, utterance in enumerate(utterances)
            ]
        else:
            channels = results.get("channels") or []
            alternatives = channels[0].get("alternatives") or [] if channels else []
            words = [_word(w) for w in (alternatives[0].get("words") or [])] if alternatives else []
            segments = _segments_from_words(words)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TranscriptionFailedError(f"Deepgram's response has an unexpected shape: {exc!r}") from exc
    if not duration and segments:
        duration = segments[-1].end
    return Transcript(
        recording_id=recording_id,
        language=language,
        provider=provider,
        duration=duration,
        segments=tuple(segments),
    )


def _api_error_message(status: int | None, body: Any) -> str:
    if isinstance(body, dict):
        code = body.get("err_code") or body.get("category") or ""
        message = body.get("err_msg") or body.get("message") or ""
        detail = f"{code}: {message}".strip(": ")
    else:
        detail = str(body)[:300]
    return f"Deepgram answered HTTP {status}: {detail}"


class DeepgramRecognizer:
    """Deepgram's REST API; DEEPGRAM_URL points it at another server (tests use a local one)."""

    def __init__(self, settings: Settings | None = None, *, http_client: Any | None = None) -> None:
        self._settings = settings or get_settings()
        self._http_client = http_client
        self.name = f"deepgram:{self._settings.deepgram_model}"
        self.fetches_urls = True

    def _client(self) -> Any:
        from deepgram import DeepgramClient
        from deepgram.environment import DeepgramClientEnvironment

        key = deepgram_api_key(self._settings)
        if not key:
            raise TranscriptionFailedError("Deepgram is not configured (DEEPGRAM_API_KEY or DEEPGRAM_API_KEY_ARN).")
        base = self._settings.deepgram_url.rstrip("/")
        socket_base = base.replace("https://", "wss://").replace("http://", "ws://")
        environment = DeepgramClientEnvironment(base=base, production=socket_base, agent=socket_base, agent_rest=base)
        kwargs: dict[str, Any] = {
            "api_key": key,
            "environment": environment,
            "timeout": self._settings.deepgram_timeout_seconds,
            "max_retries": self._settings.deepgram_max_retries,
        }
        if self._http_client is not None:
            kwargs["httpx_client"] = self._http_client
        return DeepgramClient(**kwargs)

    def transcribe(self, audio: AudioInput) -> Transcript:
        import httpx
        from deepgram.core.api_error import ApiError

        options: dict[str, Any] = {
            "model": self._settings.deepgram_model,
            "language": audio.language,
            "diarize": True,
            "smart_format": True,
            "punctuate": True,
            "utterances": True,
        }
        media = self._client().listen.v1.media
        try:
            if audio.signed_url:
                response = media.transcribe_url(url=audio.signed_url, **options)
            elif audio.path is not None:
                response = media.transcribe_file(request=audio.path.read_bytes(), **options)
            else:
                raise TranscriptionFailedError("No audio given (neither a file nor a URL).")
        except ApiError as exc:
            message = _api_error_message(exc.status_code, exc.body)
            status = exc.status_code or 0
            if status in RETRYABLE_STATUSES or status >= 500:
                raise TranscriptionRetryableError(message) from None
            raise TranscriptionFailedError(message) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TranscriptionRetryableError(f"Deepgram did not answer: {type(exc).__name__}") from None
        body = response.model_dump(mode="json") if hasattr(response, "model_dump") else dict(response)
        if "results" not in body:
            raise TranscriptionFailedError("Deepgram accepted the request for a callback instead of answering it.")
        return map_deepgram_response(body, recording_id=audio.recording_id, language=audio.language, provider=self.name)
