"""Notifications (spec 1.2): stored in DynamoDB, delivered over WebSocket/SSE, email and push.

``catalog`` (types, priorities, categories), ``service`` (NotificationService), ``preferences``,
``delivery`` (channel rules: preferences, quiet hours, grouping, hourly caps), ``websocket``
(WebSocketManager over the API Gateway management API, tickets), ``email`` (templates, queue,
unsubscribe), ``push`` (FCM-ready port), ``producers`` (domain events -> notifications), ``jobs``
(meeting reminders, release of held deliveries).
"""
