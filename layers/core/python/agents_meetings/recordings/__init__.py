"""Recording & transcription (spec 1.1)."""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
