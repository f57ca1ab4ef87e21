"""API rate limiting (spec 2.3): limits and their format, sliding-window counters in DynamoDB (or
memory), the run-time configuration admins edit, and ``RateLimitService`` that decides."""

from agents_meetings.ratelimit.rules import LIMIT_NAMES, Rate, parse_rate
from agents_meetings.ratelimit.service import Decision, RateLimitService

__all__ = ["LIMIT_NAMES", "Decision", "Rate", "RateLimitService", "parse_rate"]
