"""Domain events: the catalogue (names, sources, payload contracts) and the publisher."""
