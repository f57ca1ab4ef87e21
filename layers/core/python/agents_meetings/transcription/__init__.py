"""Transcription (spec 1.1): one normalised transcript model, its renderings, the speech engines
behind the SpeechRecognizer port, and the service that turns a recording's audio into stored
transcripts."""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
