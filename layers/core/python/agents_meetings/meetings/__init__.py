"""Meetings: scheduling, lifecycle (start, end, cancel), participants and LiveKit room access."""
