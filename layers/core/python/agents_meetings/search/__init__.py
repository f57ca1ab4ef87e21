"""Search & discovery (spec 1.3): the SearchBackend port, its engines, indexes, queries and indexing."""
