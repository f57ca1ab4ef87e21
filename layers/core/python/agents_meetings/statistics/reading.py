"""A user's statistics as the API shows them: zeros until the first counted event."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from agents_meetings.tables import UserStatisticsModel


@dataclass(frozen=True)
class UserStatistics:
    user_id: str
    meetings_hosted: int
    meetings_attended: int
    attended_seconds: int


def statistics_of(user_id: str) -> UserStatistics:
    try:
        stats = UserStatisticsModel.get(user_id)
    except DoesNotExist:
        return UserStatistics(user_id=user_id, meetings_hosted=0, meetings_attended=0, attended_seconds=0)
    return UserStatistics(
        user_id=stats.user_id,
        meetings_hosted=int(stats.meetings_hosted),
        meetings_attended=int(stats.meetings_attended),
        attended_seconds=int(stats.attended_seconds),
    )
