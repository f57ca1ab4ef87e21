"""Every Lambda function, API route prefix, event rule and state machine, declared once.

CDK (infra/constructs/*) and the local runtime (infra/local/*) both build from these lists, so the
local platform cannot drift from the deployed one. Tests check that each function's FastAPI routes
fall under its declared prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agents_meetings.events.catalog import DomainEvent

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
STATEMACHINES_DIR = REPO_ROOT / "statemachines"
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"

FunctionKind = Literal["api", "worker", "job", "pipeline", "websocket"]
# Secrets a function may read; each becomes <NAME>_ARN in its environment and a read grant.
SecretName = Literal["jwt", "livekit", "federation"]
OUTBOX_TABLE = "event-outbox"


@dataclass(frozen=True)
class FunctionDecl:
    """One Lambda function: ``functions/<folder>/handler.py`` exporting ``handler``."""

    name: str
    folder: str
    kind: FunctionKind
    # API Gateway resource prefixes served by this function (each gets ANY on itself and {proxy+}).
    routes: tuple[str, ...] = ()
    memory_mb: int = 1024
    timeout_seconds: int = 29
    # Logical table names the function reads and writes / only reads (least-privilege grants in CDK).
    tables: tuple[str, ...] = ()
    read_tables: tuple[str, ...] = ()
    publishes_events: bool = False
    secrets: tuple[SecretName, ...] = ()
    # Seals secrets at rest (2FA): gets DATA_KEY_ID and encrypt/decrypt/generate-data-key on that KMS key.
    encrypts_secrets: bool = False
    # Texts one-time codes through Amazon SNS (sns:Publish to phone numbers).
    sends_sms: bool = False
    # Sends email through Amazon SES (password reset links): ses:SendEmail/SendRawEmail as EMAIL_FROM.
    sends_email: bool = False
    description: str = ""
    # QueueDecl names the function sends messages to (gets <QUEUE>_URL and sqs:SendMessage).
    sends_to_queues: tuple[str, ...] = ()
    # Posts to WebSocket connections (execute-api:ManageConnections, WEBSOCKET_MANAGEMENT_URL).
    manages_websocket: bool = False

    @property
    def read_write_tables(self) -> tuple[str, ...]:
        """Declared tables plus the outbox a publisher parks refused events in."""
        extra = (OUTBOX_TABLE,) if self.publishes_events and OUTBOX_TABLE not in self.tables else ()
        return (*self.tables, *extra)

    @property
    def handler_path(self) -> Path:
        return FUNCTIONS_DIR / self.folder / "handler.py"


@dataclass(frozen=True)
class EventRuleDecl:
    """EventBridge rule on the platform bus -> SQS queue (with DLQ) -> worker function."""

    name: str
    detail_types: tuple[DomainEvent, ...]
    target: str  # FunctionDecl.name
    max_receive_count: int = 5
    description: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({event.source for event in self.detail_types}))

    def pattern(self) -> dict[str, list[str]]:
        return {"source": list(self.sources), "detail-type": [event.value for event in self.detail_types]}


@dataclass(frozen=True)
class QueueDecl:
    """An SQS queue (with DLQ) that functions send to directly, drained by a worker."""

    name: str
    target: str  # FunctionDecl.name of the worker
    url_variable: str  # the environment variable senders read the queue URL from
    max_receive_count: int = 5
    description: str = ""


@dataclass(frozen=True)
class ScheduleDecl:
    name: str
    expression: str  # EventBridge schedule expression, e.g. "rate(5 minutes)"
    target: str


@dataclass(frozen=True)
class StateMachineDecl:
    name: str
    definition_file: str  # under statemachines/
    # ${Placeholder} in the ASL -> function name whose ARN replaces it.
    functions: dict[str, str] = field(default_factory=dict)


USER_TABLES = ("users", "user-emails", "audit-logs", "revoked-tokens", "sessions")
# Every rate-limited API function counts requests and reads the run-time limits (spec 2.3).
RATE_LIMIT_COUNTERS = "rate-limit-counters"
RATE_LIMIT_CONFIG = "rate-limit-config"

FUNCTIONS: tuple[FunctionDecl, ...] = (
    FunctionDecl(
        name="auth",
        folder="auth",
        kind="api",
        routes=("/api/v1/auth",),
        tables=(
            *USER_TABLES,
            "user-2fa",
            RATE_LIMIT_COUNTERS,
            "password-resets",
            "oauth-connections",
            "oauth-states",
        ),
        read_tables=(RATE_LIMIT_CONFIG,),
        publishes_events=True,
        secrets=("jwt", "federation"),
        encrypts_secrets=True,
        sends_sms=True,
        sends_email=True,
        description="Registration, login, token refresh and logout, passwords",
    ),
    FunctionDecl(
        name="users",
        folder="users",
        kind="api",
        routes=("/api/v1/users", "/api/v1/admin/users", "/api/v1/admin/audit-logs", "/api/v1/admin/rate-limits"),
        tables=(*USER_TABLES, "user-statistics", RATE_LIMIT_COUNTERS, RATE_LIMIT_CONFIG),
        # Admin endpoints check the caller's 2FA enrolment (http.security.admin_principal).
        read_tables=("user-2fa",),
        publishes_events=True,
        secrets=("jwt",),
        description="Profiles and user administration",
    ),
    FunctionDecl(
        name="meetings",
        folder="meetings",
        kind="api",
        routes=("/api/v1/meetings",),
        tables=(*USER_TABLES, "meetings", "meeting-participants", RATE_LIMIT_COUNTERS),
        read_tables=(RATE_LIMIT_CONFIG,),
        publishes_events=True,
        secrets=("jwt", "livekit"),
        description="Meetings, participants and LiveKit join tokens",
    ),
    FunctionDecl(
        name="health",
        folder="health",
        kind="api",
        routes=("/api/v1/health",),
        memory_mb=256,
        read_tables=("users",),
        description="Liveness and dependency health",
    ),
    FunctionDecl(
        name="docs",
        folder="docs",
        kind="api",
        routes=("/api/openapi.json", "/docs", "/redoc"),
        memory_mb=512,
        tables=(RATE_LIMIT_COUNTERS,),
        read_tables=(RATE_LIMIT_CONFIG,),
        description="Merged OpenAPI document, Swagger UI and ReDoc",
    ),
    FunctionDecl(
        name="user-statistics-worker",
        folder="workers/user_statistics",
        kind="worker",
        timeout_seconds=60,
        tables=("user-statistics", "idempotency"),
        description="Materialises per-user meeting statistics from domain events",
    ),
    FunctionDecl(
        name="outbox-redrive",
        folder="jobs/outbox_redrive",
        kind="job",
        timeout_seconds=300,
        tables=("event-outbox",),
        publishes_events=True,
        description="Re-publishes domain events EventBridge refused",
    ),
)

EVENT_RULES: tuple[EventRuleDecl, ...] = (
    EventRuleDecl(
        name="user-statistics",
        detail_types=(DomainEvent.MEETING_ENDED, DomainEvent.PARTICIPANT_JOINED, DomainEvent.PARTICIPANT_LEFT),
        target="user-statistics-worker",
        description="Meeting attendance and hosting counts per user",
    ),
)

SCHEDULES: tuple[ScheduleDecl, ...] = (
    ScheduleDecl(name="outbox-redrive", expression="rate(5 minutes)", target="outbox-redrive"),
)

# --- notifications (spec 1.2) ----------------------------------------------------------------
NOTIFICATION_TABLES = ("notifications", "notification-keys", "notification-held")
WEBSOCKET_TABLES = ("ws-connections", "ws-subscriptions")
NOTIFICATION_EVENTS = (
    DomainEvent.MEETING_STARTED,
    DomainEvent.MEETING_ENDED,
    DomainEvent.PARTICIPANT_JOINED,
    DomainEvent.PARTICIPANT_LEFT,
    DomainEvent.RECORDING_COMPLETED,
    DomainEvent.TRANSCRIPT_READY,
    DomainEvent.USER_APPROVED,
    DomainEvent.USER_REJECTED,
    DomainEvent.USER_ROLE_CHANGED,
    DomainEvent.USER_PROFILE_UPDATED,
    DomainEvent.FEEDBACK_RECEIVED,
    DomainEvent.RATING_RECEIVED,
    DomainEvent.QUESTION_ANSWERED,
    DomainEvent.SYSTEM_MAINTENANCE_SCHEDULED,
    DomainEvent.NEW_FEATURE_RELEASED,
    DomainEvent.ANNOUNCEMENT_PUBLISHED,
)
NOTIFICATION_FUNCTIONS: tuple[FunctionDecl, ...] = (
    FunctionDecl(
        name="notifications",
        folder="notifications",
        kind="api",
        routes=("/api/v1/notifications", "/api/v1/admin/announcements"),
        tables=(*USER_TABLES, *NOTIFICATION_TABLES, "notification-preferences", "ws-tickets", RATE_LIMIT_COUNTERS),
        read_tables=(RATE_LIMIT_CONFIG, "user-2fa"),
        publishes_events=True,
        secrets=("jwt",),
        description="Notifications, preferences, WebSocket tickets, SSE stream, announcements",
    ),
    FunctionDecl(
        name="ws",
        folder="ws",
        kind="websocket",
        memory_mb=512,
        tables=(*WEBSOCKET_TABLES, "ws-tickets"),
        read_tables=("users", "meetings", "meeting-participants"),
        manages_websocket=True,
        description="WebSocket routes $connect (ticket), $disconnect, $default (ping, meeting subscriptions)",
    ),
    FunctionDecl(
        name="notify-worker",
        folder="workers/notify",
        kind="worker",
        timeout_seconds=120,
        tables=(*NOTIFICATION_TABLES, *WEBSOCKET_TABLES, "idempotency"),
        read_tables=("users", "meetings", "meeting-participants", "notification-preferences"),
        sends_to_queues=("notification-email",),
        manages_websocket=True,
        description="Turns domain events into notifications and delivers them",
    ),
    FunctionDecl(
        name="notification-email-worker",
        folder="workers/notification_email",
        kind="worker",
        timeout_seconds=60,
        tables=("notifications",),
        read_tables=("users",),
        secrets=("jwt",),  # signs the unsubscribe links
        sends_email=True,
        description="Sends queued notification emails through SES",
    ),
    FunctionDecl(
        name="notification-schedule",
        folder="jobs/notification_schedule",
        kind="job",
        timeout_seconds=120,
        tables=(*NOTIFICATION_TABLES, *WEBSOCKET_TABLES),
        read_tables=("users", "meetings", "meeting-participants", "notification-preferences"),
        sends_to_queues=("notification-email",),
        manages_websocket=True,
        description="Meeting-starting reminders and the release of deliveries held by quiet hours",
    ),
)
FUNCTIONS = (*FUNCTIONS, *NOTIFICATION_FUNCTIONS)
EVENT_RULES = (
    *EVENT_RULES,
    EventRuleDecl(
        name="notify",
        detail_types=NOTIFICATION_EVENTS,
        target="notify-worker",
        description="Every event that notifies someone",
    ),
)
SCHEDULES = (
    *SCHEDULES,
    ScheduleDecl(name="notification-schedule", expression="rate(1 minute)", target="notification-schedule"),
)
QUEUES: tuple[QueueDecl, ...] = (
    QueueDecl(
        name="notification-email",
        target="notification-email-worker",
        url_variable="NOTIFICATION_EMAIL_QUEUE_URL",
        max_receive_count=5,
        description="Notification emails waiting for SES",
    ),
)

# Filled by later issues (recording pipeline, data export); the mechanism is proven in tests.
STATE_MACHINES: tuple[StateMachineDecl, ...] = ()


def queue(name: str) -> QueueDecl:
    for decl in QUEUES:
        if decl.name == name:
            return decl
    raise KeyError(name)


def function(name: str) -> FunctionDecl:
    for decl in FUNCTIONS:
        if decl.name == name:
            return decl
    raise KeyError(name)


def api_functions() -> list[FunctionDecl]:
    return [decl for decl in FUNCTIONS if decl.kind == "api"]
