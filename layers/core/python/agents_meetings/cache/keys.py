"""The cache's key conventions and time-to-live per kind of entry (spec 2.1), declared once.

A key is ``<prefix>:<rest>``; its prefix (``user``, ``meeting``, ...) is the metrics' dimension and
the namespace ``invalidate_pattern("<prefix>:*")`` bumps.
"""

from __future__ import annotations

HOUR = 3600

# Key builders: the spec's conventions.


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def meeting_key(meeting_id: str) -> str:
    return f"meeting:{meeting_id}"


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def deny_key(jti: str) -> str:
    """Whether an access token's id is on the deny list (its DynamoDB answer, cached)."""
    return f"deny:{jti}"


def settings_key(name: str) -> str:
    return f"settings:{name}"


def participant_count_key(meeting_id: str) -> str:
    return f"participants:{meeting_id}"


def member_key(meeting_id: str, user_id: str) -> str:
    """That the user has a participant record in the meeting (only a yes is stored: a no is read from
    DynamoDB every time, so an invitation is never hidden by a stale answer)."""
    return f"member:{meeting_id}:{user_id}"


def seen_key(user_id: str) -> str:
    """When the user was last seen (presence): a plain value, no stamp."""
    return f"seen:{user_id}"


def response_key(caller: str, path: str) -> str:
    """A cached GET response: per caller, so no user is ever served another's response."""
    return f"response:{caller}:{path}"


ACTIVE_MEETINGS = "meetings:active"
DASHBOARD_STATS = "dashboard:stats"

# Time to live by prefix, in seconds (spec 2.1); anything else gets CACHE_DEFAULT_TTL.
TTL_BY_PREFIX: dict[str, int] = {
    "user": HOUR,
    "meeting": 15 * 60,
    "meetings": 30,
    "participants": 10,
    "dashboard": 5 * 60,
    "settings": HOUR,
    # Security state (deny list, sessions) is exact on every read (write-through invalidation);
    # the short TTL bounds how long a write whose invalidation could not reach Redis can linger.
    "session": 60,
    "deny": 60,
    "response": 15 * 60,
    "seen": HOUR,
    "member": 15 * 60,
}

# Entries whose reads must be exact right after a write, from any instance: never served from the
# in-process tier (each read checks the shared tier's versions, one round trip for a whole batch).
EXACT_PREFIXES = frozenset({"user", "meeting", "member", "session", "deny", "response"})


def prefix_of(key: str) -> str:
    return key.split(":", 1)[0]


def ttl_for(key: str, default: int) -> int:
    return TTL_BY_PREFIX.get(prefix_of(key), default)
