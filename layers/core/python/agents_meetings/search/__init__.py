"""Search & discovery (spec 1.3): the SearchBackend port, its engines, indexes, queries and indexing."""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
