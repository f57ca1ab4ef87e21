"""Lambda (every minute): "meeting starting" reminders, and email/push that quiet hours held back
whose release time has come."""

from typing import Any

from agents_meetings.notifications.jobs import MeetingReminders
from agents_meetings.notifications.service import NotificationService
from agents_meetings.observability import logger, metrics, observed
from agents_meetings.tables import bind_tables

bind_tables()
service = NotificationService()
reminders = MeetingReminders(service)


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    result = {"reminders": reminders.run(), "released": service.release_held()}
    metrics.add_metric(name="MeetingRemindersSent", unit="Count", value=result["reminders"])
    metrics.add_metric(name="HeldNotificationsReleased", unit="Count", value=result["released"])
    logger.info("notification schedule ran", extra=result)
    return result
