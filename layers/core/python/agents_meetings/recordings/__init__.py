"""Recording & transcription (spec 1.1)."""
