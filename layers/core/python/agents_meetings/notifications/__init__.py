"""Notifications (spec 1.2): stored in DynamoDB, delivered over WebSocket/SSE, email and push.

``catalog`` (types, priorities, categories), ``service`` (NotificationService, the facade over
``inbox``: list, read, count, delete; ``creation``: idempotent writes, grouping, broadcasts; and
``delivery``: the one planner of channels per preferences, quiet hours, hourly caps, and the
fan-out), ``preferences``, ``websocket`` (WebSocketManager over the API Gateway management API,
tickets), ``email`` (templates, queue, unsubscribe), ``push`` (FCM-ready port), ``producers``
(domain events -> notifications), ``jobs`` (meeting reminders, release of held deliveries).
"""

# Registers the cache invalidation of the tables this package writes (before any of its modules).
import agents_meetings.cache.entities  # noqa: F401
