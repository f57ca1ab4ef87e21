"""Users: roles, account status (the rule every sign-in applies), sessions, profiles and approval."""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
