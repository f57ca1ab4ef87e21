"""Identity: users' credentials, tokens and the account lifecycle (register, approve, login)."""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
