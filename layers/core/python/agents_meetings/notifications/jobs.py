"""Scheduled notification jobs: "meeting starting" reminders and the release of held deliveries."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from agents_meetings.clock import isoformat_z, utcnow
from agents_meetings.notifications.catalog import NotificationType
from agents_meetings.notifications.creation import MARKER_TTL
from agents_meetings.notifications.service import NotificationService
from agents_meetings.tables import MeetingModel, NotificationKeyModel, ParticipantModel


class MeetingReminders:
    """Every run (each minute) finds scheduled meetings starting within the reminder lead time and
    reminds the host and the invited participants once per meeting and scheduled time (a reschedule
    reminds again). Idempotent: a reminder key is claimed with a conditional write, and each
    notification's source key is the reminder, so overlapping runs send nothing twice."""

    def __init__(self, service: NotificationService, lead_minutes: int | None = None):
        self.service = service
        self.lead = timedelta(minutes=lead_minutes or service.settings.meeting_reminder_minutes)

    def run(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        sent = 0
        due = MeetingModel.by_status.query("scheduled", MeetingModel.scheduled_at.between(now, now + self.lead))
        for meeting in due:
            reminder = f"reminder#{meeting.id}#{isoformat_z(meeting.scheduled_at)}"
            try:
                NotificationKeyModel(key=reminder, tally=0, expires_at=now + MARKER_TTL).save(
                    condition=NotificationKeyModel.key.does_not_exist()
                )
            except PutError:
                marker = NotificationKeyModel.get(reminder, consistent_read=True)
                if marker.tally:
                    continue  # reminded already; an unfinished earlier run is completed below
            minutes = max(1, round((meeting.scheduled_at - now).total_seconds() / 60))
            data = {
                "meeting_id": meeting.id,
                "meeting_title": meeting.title,
                "scheduled_at": isoformat_z(meeting.scheduled_at),
            }
            users = [meeting.host_id, *(p.user_id for p in ParticipantModel.query(meeting.id))]
            for user_id in dict.fromkeys(users):
                self.service.create_notification(
                    user_id,
                    NotificationType.MEETING_STARTING.value,
                    f"{meeting.title} starts in {minutes} minutes",
                    f"{meeting.title} starts at {isoformat_z(meeting.scheduled_at)} (in {minutes} minutes).",
                    data,
                    source_key=reminder,
                )
                sent += 1
            NotificationKeyModel(key=reminder).update(actions=[NotificationKeyModel.tally.set(1)])
        return sent
