"""The local runtime: the whole platform on one machine (embedded AWS, same handlers, same rules)."""
