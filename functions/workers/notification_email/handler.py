"""Lambda: the notification email queue -> SES. A failed send is reported back to SQS (retried with
the queue's visibility timeout; after the last attempt the message moves to the DLQ and the
notification shows ``email_status: failed``)."""

import json

from agents_meetings.email import SesEmailSender
from agents_meetings.notifications.email import EmailDelivery
from agents_meetings.observability import logger
from agents_meetings.tables import bind_tables
from agents_meetings.workers import adopt_message_correlation, sqs_batch_handler
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Must equal the queue's maxReceiveCount (infra.catalog QueueDecl "notification-email").
MAX_ATTEMPTS = 5

bind_tables()
delivery = EmailDelivery(SesEmailSender())


def record_handler(record: SQSRecord) -> None:
    adopt_message_correlation(record)
    body = json.loads(record.body)
    attempt = int(record.attributes.approximate_receive_count or 1)
    outcome = delivery.deliver(body["user_id"], body["notification_id"], attempt=attempt, max_attempts=MAX_ATTEMPTS)
    logger.info("notification email", extra={"notification_id": body["notification_id"], "status": outcome.status})


handler = sqs_batch_handler(record_handler)
