"""Every Lambda function, API route prefix, event rule and state machine, declared once.

CDK (infra/constructs/*) and the local runtime (infra/local/*) both build from these lists, so the
local platform cannot drift from the deployed one. Tests check that each function's FastAPI routes
fall under its declared prefixes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agents_meetings.events.catalog import DomainEvent
from agents_meetings.notifications.producers import NOTIFIED_EVENTS
from agents_meetings.recordings.enums import MANIFEST_KEY_PREFIX, MANIFEST_KEY_SUFFIX
from agents_meetings.search.events import INDEXED_EVENTS
from agents_meetings.statistics.platform import COUNTED_EVENTS
from agents_meetings.tables import TABLES, table_spec

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO_ROOT / "functions"
STATEMACHINES_DIR = REPO_ROOT / "statemachines"
CORE_LAYER_DIR = REPO_ROOT / "layers" / "core"
IMAGES_DIR = REPO_ROOT / "infra" / "images"

FunctionKind = Literal["api", "worker", "job", "pipeline", "websocket"]
# How a function avoids cold starts (infra/constructs/functions.py, README "Concurrency and scaling"):
# Lambda SnapStart on its published versions, provisioned concurrency on its ``live`` alias with
# target-tracking auto scaling (the two exclude each other on one version), or neither.
WarmStart = Literal["snapstart", "provisioned", "none"]
# Secrets a function may read; each becomes <NAME>_ARN in its environment and a read grant.
SecretName = Literal["jwt", "livekit", "federation", "deepgram"]
OUTBOX_TABLE = "event-outbox"


@dataclass(frozen=True)
class FunctionClass:
    """What every function of one kind gets unless its declaration says otherwise."""

    memory_mb: int
    timeout_seconds: int
    # Reserved concurrency: a guaranteed share of the account's concurrency and a cap, so that a
    # runaway worker (a poison-event storm, a reindex) cannot starve the API of concurrency.
    reserved_concurrency: int


# Declared once: a function's memory, timeout and reserved concurrency come from its kind unless its
# FunctionDecl overrides them. ``reserved_concurrency_total`` must leave the account's unreserved
# pool (at least UNRESERVED_CONCURRENCY_MINIMUM, which Lambda insists on) for everything else.
FUNCTION_CLASSES: dict[FunctionKind, FunctionClass] = {
    # API functions: 29 s is API Gateway's integration timeout. 50 each sustains ~500 req/s per
    # function at 100 ms per request, above the stage's throttle.
    "api": FunctionClass(memory_mb=1024, timeout_seconds=29, reserved_concurrency=50),
    "websocket": FunctionClass(memory_mb=512, timeout_seconds=29, reserved_concurrency=50),
    # SQS workers: the event-source mapping scales pollers up to the reservation and no further.
    "worker": FunctionClass(memory_mb=1024, timeout_seconds=60, reserved_concurrency=20),
    # Scheduled jobs: one run at a time is all they need; 2 lets a retry overlap a slow run.
    "job": FunctionClass(memory_mb=1024, timeout_seconds=300, reserved_concurrency=2),
    # Recording post-processing: each task is an ffmpeg run of up to 15 minutes.
    "pipeline": FunctionClass(memory_mb=3008, timeout_seconds=900, reserved_concurrency=20),
}
# Lambda refuses reservations that leave fewer than 100 unreserved executions in the account.
UNRESERVED_CONCURRENCY_MINIMUM = 100
# The account quota the reservations are sized against (context lambda_concurrency_limit overrides).
DEFAULT_ACCOUNT_CONCURRENCY = 1000
# SnapStart takes no more than 512 MB of ephemeral storage (and no container images).
SNAPSTART_MAX_EPHEMERAL_MB = 512


@dataclass(frozen=True)
class FunctionDecl:
    """One Lambda function: ``functions/<folder>/handler.py`` exporting ``handler``."""

    name: str
    folder: str
    kind: FunctionKind
    # API Gateway resource prefixes served by this function (each gets ANY on itself and {proxy+}).
    routes: tuple[str, ...] = ()
    # None: the FUNCTION_CLASSES value of its kind (resolved at construction: readers see an int).
    memory_mb: int | None = None
    timeout_seconds: int | None = None
    reserved_concurrency: int | None = None
    # None: SnapStart for zip functions, "none" for container images (SnapStart cannot take them).
    warm_start: WarmStart | None = None
    # API Gateway method throttling (requests per second, burst) on each of its route prefixes,
    # below the stage's; None: the stage's limit only.
    throttle: tuple[int, int] | None = None
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
    # Ships as a Lambda container image built from this Dockerfile (under infra/images/) instead of a
    # zip with the shared layers: for system binaries (ffmpeg) beyond the layers' size limit.
    container_image: str | None = None
    ephemeral_storage_mb: int = 512
    # Search (spec 1.3): reads/writes the OpenSearch domain; uses the materials bucket; reads recordings.
    searches: bool = False
    materials_bucket: bool = False
    reads_recordings: bool = False
    description: str = ""
    # Reads and writes the recordings bucket (S3_BUCKET_NAME in its environment, grants in CDK).
    uses_recordings_bucket: bool = False
    # QueueDecl names the function sends messages to (gets <QUEUE>_URL and sqs:SendMessage).
    sends_to_queues: tuple[str, ...] = ()
    # Posts to WebSocket connections (execute-api:ManageConnections, WEBSOCKET_MANAGEMENT_URL).
    manages_websocket: bool = False

    def __post_init__(self) -> None:
        defaults = FUNCTION_CLASSES[self.kind]
        for name in ("memory_mb", "timeout_seconds", "reserved_concurrency"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))
        if self.warm_start is None:
            object.__setattr__(self, "warm_start", "none" if self.container_image else "snapstart")
        if self.warm_start == "snapstart" and (
            self.container_image or self.ephemeral_storage_mb > SNAPSTART_MAX_EPHEMERAL_MB
        ):
            raise ValueError(
                f"function {self.name!r}: SnapStart takes zip functions with at most "
                f"{SNAPSTART_MAX_EPHEMERAL_MB} MB of ephemeral storage"
            )
        if self.warm_start == "provisioned" and self.container_image:
            raise ValueError(f"function {self.name!r}: provisioned concurrency is configured on zip functions only")
        if self.throttle is not None and not self.routes:
            raise ValueError(f"function {self.name!r}: a throttle applies to route prefixes; it has none")

    @property
    def memory(self) -> int:
        assert self.memory_mb is not None  # resolved in __post_init__
        return self.memory_mb

    @property
    def timeout(self) -> int:
        assert self.timeout_seconds is not None
        return self.timeout_seconds

    @property
    def reserved(self) -> int:
        assert self.reserved_concurrency is not None
        return self.reserved_concurrency

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
class ObjectCreatedTrigger:
    """Starts a state machine when an object is created in the recordings bucket under ``prefix``
    with ``suffix`` (S3 -> EventBridge "Object Created" on the default bus; the event is the input)."""

    prefix: str
    suffix: str

    def pattern(self, bucket_name: str, *, wildcard: bool = True) -> dict[str, object]:
        """The EventBridge pattern. A list of filters on one field is an OR, so prefix AND suffix is
        one ``wildcard``; moto lacks wildcard, so the local runtime matches the suffix and checks
        the rest with ``matches``."""
        key_filter = {"wildcard": f"{self.prefix}*{self.suffix}"} if wildcard else {"suffix": self.suffix}
        return {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {"bucket": {"name": [bucket_name]}, "object": {"key": [key_filter]}},
        }

    def matches(self, key: str) -> bool:
        return key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class StateMachineDecl:
    name: str
    definition_file: str  # under statemachines/
    # ${Placeholder} in the ASL -> function name whose ARN replaces it.
    functions: dict[str, str] = field(default_factory=dict)
    trigger: ObjectCreatedTrigger | None = None
    # ["${Placeholder}"] as an ErrorEquals of the ASL -> the error names it stands for. ASL has no
    # variables: a list every task repeats is declared here once and expanded by ``template``.
    error_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def template(self, definitions_dir: Path = STATEMACHINES_DIR) -> str:
        """The ASL with its error lists expanded, function ``${Placeholder}``s left for CDK's
        definition_substitutions (or the local runtime's ``load_definition``) to fill in."""
        definition = json.loads((definitions_dir / self.definition_file).read_text())
        return json.dumps(self._expand(definition), indent=2, ensure_ascii=False) + "\n"

    def _expand(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self._expand(item) for item in node]
        if not isinstance(node, dict):
            return node
        expanded = {key: self._expand(value) for key, value in node.items()}
        errors = node.get("ErrorEquals")
        if isinstance(errors, list) and len(errors) == 1 and str(errors[0]).startswith("${"):
            name = str(errors[0])[2:-1]
            if name not in self.error_lists:
                raise ValueError(f"{self.definition_file}: no error list {name!r} is declared")
            expanded["ErrorEquals"] = list(self.error_lists[name])
        return expanded


# Table groups several functions read or write.
# user-presence: every authenticated request notes the caller's last sighting (presence/service.py).
USER_TABLES = ("users", "user-emails", "audit-logs", "revoked-tokens", "sessions", "user-presence")
# Platform settings (registration open, default languages, the banner): read by whoever applies them.
PLATFORM_SETTINGS = "platform-settings"
PLATFORM_COUNTERS = "platform-counters"
# Every rate-limited API function counts requests and reads the run-time limits (spec 2.3).
RATE_LIMIT_COUNTERS = "rate-limit-counters"
RATE_LIMIT_CONFIG = "rate-limit-config"
RECORDING_TABLES = ("recording-jobs", "recording-tracks")
NOTIFICATION_TABLES = ("notifications", "notification-keys", "notification-held")
WEBSOCKET_TABLES = ("ws-connections", "ws-subscriptions")
# Search & discovery (spec 1.3): what the search API reads to apply permissions, what the indexer reads.
INDEXER_READ_TABLES = ("meetings", "meeting-participants", "users", "recording-jobs", "transcription-jobs")
# Backups (spec 4.4): tables without a TTL hold the platform's lasting data; the monthly restore test
# restores each of them (tables with a TTL hold minutes-to-days state: counters, tickets, sessions;
# the outbox holds refused events for minutes). Every table is backed up all the same.
DURABLE_TABLES = tuple(
    spec.logical_name
    for spec in map(table_spec, TABLES)
    if not spec.ttl_attribute and spec.logical_name != OUTBOX_TABLE
)

# Grouped by concern. The order of the API functions (and of their routes) feeds the hash in the
# logical id of the API Gateway deployment: reordering them makes the next deploy a new deployment.
FUNCTIONS: tuple[FunctionDecl, ...] = (
    # --- identity and users -------------------------------------------------------------------
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
        read_tables=(RATE_LIMIT_CONFIG, PLATFORM_SETTINGS),
        publishes_events=True,
        secrets=("jwt", "federation"),
        encrypts_secrets=True,
        sends_sms=True,
        sends_email=True,
        # Provisioned concurrency, not SnapStart: this function mints tokens and holds the signing key,
        # the federation secrets and 2FA data keys in memory; kept warm, none of it is ever written
        # to a snapshot (kept up to 14 days) or needs re-creating after a restore, and every sign-in
        # finds argon2 and the identity providers' clients ready (README "Concurrency and scaling").
        warm_start="provisioned",
        # Sign-ins hash with argon2 (tens of ms of CPU each): a burst beyond this is API Gateway's 429.
        throttle=(25, 50),
        description="Registration, login, token refresh and logout, passwords",
    ),
    FunctionDecl(
        name="users",
        folder="users",
        kind="api",
        routes=(
            "/api/v1/users",
            "/api/v1/admin/users",
            "/api/v1/admin/audit-logs",
            "/api/v1/admin/rate-limits",
            "/api/v1/admin/dashboard",
            "/api/v1/admin/cache",
            "/api/v1/admin/settings",
            "/api/v1/presence",
        ),
        tables=(*USER_TABLES, "user-statistics", RATE_LIMIT_COUNTERS, RATE_LIMIT_CONFIG, PLATFORM_SETTINGS),
        # Admin endpoints check the caller's 2FA enrolment (http.security.admin_principal); the
        # dashboard reads the counters, presence who shares a meeting with whom.
        read_tables=("user-2fa", PLATFORM_COUNTERS, "meeting-participants"),
        publishes_events=True,
        secrets=("jwt",),
        description="Profiles and user administration",
    ),
    # --- meetings -----------------------------------------------------------------------------
    FunctionDecl(
        name="meetings",
        folder="meetings",
        kind="api",
        routes=("/api/v1/meetings",),
        tables=(
            *USER_TABLES,
            "meetings",
            "meeting-participants",
            "meeting-feedback",
            "meeting-questions",
            RATE_LIMIT_COUNTERS,
        ),
        read_tables=(RATE_LIMIT_CONFIG, PLATFORM_SETTINGS),
        publishes_events=True,
        secrets=("jwt", "livekit"),
        description="Meetings, participants, LiveKit join tokens, feedback and Q&A",
    ),
    # --- platform: health, API documentation, the event outbox --------------------------------
    FunctionDecl(
        name="health",
        folder="health",
        kind="api",
        routes=("/api/v1/health",),
        memory_mb=256,
        reserved_concurrency=10,
        # The canary calls it every minute; load balancers and uptime checks a few times more.
        throttle=(10, 20),
        read_tables=("users", PLATFORM_SETTINGS),
        description="Liveness and dependency health",
    ),
    FunctionDecl(
        name="docs",
        folder="docs",
        kind="api",
        routes=("/api/openapi.json", "/docs", "/redoc"),
        memory_mb=512,
        reserved_concurrency=10,
        throttle=(20, 40),
        tables=(RATE_LIMIT_COUNTERS,),
        read_tables=(RATE_LIMIT_CONFIG,),
        description="Merged OpenAPI document, Swagger UI and ReDoc",
    ),
    FunctionDecl(
        name="outbox-redrive",
        folder="jobs/outbox_redrive",
        kind="job",
        tables=("event-outbox",),
        publishes_events=True,
        description="Re-publishes domain events EventBridge refused",
    ),
    FunctionDecl(
        name="restore-validation",
        folder="jobs/restore_validation",
        kind="job",
        timeout_seconds=900,
        # One invocation per restored table, all on the same morning: room for a few at once.
        reserved_concurrency=5,
        # The sources of restore tests (every durable table, infra/constructs/backup.py); the restored
        # copies, named by AWS Backup, are granted there.
        read_tables=DURABLE_TABLES,
        description="Restore tests: checks a restored table's item count and checksum against its source",
    ),
    # --- statistics ---------------------------------------------------------------------------
    FunctionDecl(
        name="user-statistics-worker",
        folder="workers/user_statistics",
        kind="worker",
        tables=("user-statistics", "idempotency"),
        description="Materialises per-user meeting statistics from domain events",
    ),
    FunctionDecl(
        name="platform-statistics-worker",
        folder="workers/platform_statistics",
        kind="worker",
        timeout_seconds=60,
        tables=(PLATFORM_COUNTERS, "meetings"),
        read_tables=("meeting-participants",),
        description="Dashboard counters and active meetings' participant counts from domain events",
    ),
    FunctionDecl(
        name="statistics-reconcile",
        folder="jobs/statistics_reconcile",
        kind="job",
        timeout_seconds=300,
        tables=(PLATFORM_COUNTERS, "meetings"),
        read_tables=("users", "meeting-participants", "recording-jobs"),
        description="Recomputes the dashboard counters and participant counts from the tables",
    ),
    # --- search & discovery (spec 1.3) --------------------------------------------------------
    FunctionDecl(
        name="search",
        folder="search",
        kind="api",
        routes=("/api/v1/search", "/api/v1/admin/search", "/api/v1/materials"),
        tables=(*USER_TABLES, RATE_LIMIT_COUNTERS, "materials", "search-index-jobs"),
        read_tables=("meetings", "meeting-participants", RATE_LIMIT_CONFIG, "user-2fa"),
        publishes_events=True,
        secrets=("jwt",),
        searches=True,
        materials_bucket=True,
        throttle=(50, 100),
        description="Search (meetings, transcripts, users, materials), suggestions, reindex, material uploads",
    ),
    FunctionDecl(
        name="search-indexer",
        folder="workers/search_index",
        kind="worker",
        timeout_seconds=300,
        tables=("search-index-jobs", "materials"),
        read_tables=INDEXER_READ_TABLES,
        searches=True,
        materials_bucket=True,
        reads_recordings=True,
        description="Indexes meetings, users, transcripts and materials from domain events; full reindexes",
    ),
    # --- recordings (issue 4, spec 1.1): control, egress webhooks, reconcile, retention, pipeline
    FunctionDecl(
        name="recordings",
        folder="recordings",
        kind="api",
        routes=("/api/v1/recordings", "/api/v1/admin/storage-policies", "/api/v1/admin/recordings"),
        # meetings: the one-recording-at-a-time claim (MeetingModel.recording_id).
        tables=(*USER_TABLES, "meetings", *RECORDING_TABLES, "storage-policies", RATE_LIMIT_COUNTERS),
        read_tables=("meeting-participants", "user-2fa", "transcription-jobs", RATE_LIMIT_CONFIG),
        publishes_events=True,
        secrets=("jwt", "livekit"),
        uses_recordings_bucket=True,
        description="Recording start/stop through LiveKit Egress, details with signed URLs, storage policies",
    ),
    FunctionDecl(
        name="webhooks",
        folder="webhooks",
        kind="api",
        routes=("/api/v1/webhooks/livekit",),
        throttle=(50, 100),
        tables=("meetings", *RECORDING_TABLES, RATE_LIMIT_COUNTERS),
        read_tables=(RATE_LIMIT_CONFIG,),
        publishes_events=True,
        secrets=("livekit",),
        uses_recordings_bucket=True,
        description="Signed LiveKit webhooks: egress events drive recording status and the pipeline manifest",
    ),
    FunctionDecl(
        name="auto-record-worker",
        folder="workers/auto_record",
        kind="worker",
        tables=("meetings", *RECORDING_TABLES, "idempotency", "audit-logs"),
        publishes_events=True,
        secrets=("livekit",),
        uses_recordings_bucket=True,
        description="Starts recording auto_record meetings on MeetingStarted, stops recordings on MeetingEnded",
    ),
    FunctionDecl(
        name="recordings-reconcile",
        folder="jobs/recordings_reconcile",
        kind="job",
        tables=("meetings", *RECORDING_TABLES, "audit-logs"),
        publishes_events=True,
        secrets=("livekit",),
        uses_recordings_bucket=True,
        description="Finishes recordings whose egress_ended webhook never arrived (LiveKit list_egress)",
    ),
    FunctionDecl(
        name="recordings-retention",
        folder="jobs/recordings_retention",
        kind="job",
        timeout_seconds=900,
        tables=("recording-jobs",),
        read_tables=("storage-policies",),
        uses_recordings_bucket=True,
        description="Applies storage policies daily: deletes expired recordings, moves the rest to their tier",
    ),
    # Recording post-processing (issue 4): every task of statemachines/recording-pipeline.asl.json.
    # Runs ffmpeg, so it ships as a container image (infra/constructs/pipeline.py, README).
    FunctionDecl(
        name="recording-pipeline",
        folder="pipeline",
        kind="pipeline",
        container_image="pipeline/Dockerfile",
        # Room for a 3-hour composite and its web copy side by side.
        ephemeral_storage_mb=10240,
        tables=("recording-jobs", "transcription-jobs", "storage-policies"),
        read_tables=("meetings", "recording-tracks"),
        publishes_events=True,
        # The Deepgram API key (transcription in the cloud).
        secrets=("deepgram",),
        # Reads egress's files and writes the outputs beside them (segments are deleted once joined).
        uses_recordings_bucket=True,
        description="Recording post-processing tasks: probe, thumbnail, preview, remux/transcode, audio, transcripts",
    ),
    # --- notifications (spec 1.2) -------------------------------------------------------------
    FunctionDecl(
        name="notifications",
        folder="notifications",
        kind="api",
        routes=(
            "/api/v1/notifications",
            "/api/v1/admin/announcements",
            "/api/v1/admin/maintenance",
            "/api/v1/admin/features",
        ),
        tables=(
            *USER_TABLES,
            *NOTIFICATION_TABLES,
            "notification-preferences",
            "ws-tickets",
            RATE_LIMIT_COUNTERS,
            PLATFORM_COUNTERS,
        ),
        read_tables=(RATE_LIMIT_CONFIG, "user-2fa"),
        publishes_events=True,
        secrets=("jwt",),
        description="Notifications, preferences, WebSocket tickets, SSE stream, announcements, maintenance, features",
    ),
    FunctionDecl(
        name="ws",
        folder="ws",
        kind="websocket",
        # Messages count against the sender's rate limit (rate-limit counters and config).
        tables=(*WEBSOCKET_TABLES, "ws-tickets", RATE_LIMIT_COUNTERS, "user-presence"),
        read_tables=("users", "meetings", "meeting-participants", RATE_LIMIT_CONFIG),
        manages_websocket=True,
        description="WebSocket routes $connect (ticket), $disconnect, $default (ping, meeting subscriptions)",
    ),
    FunctionDecl(
        name="notify-worker",
        folder="workers/notify",
        kind="worker",
        timeout_seconds=120,
        tables=(*NOTIFICATION_TABLES, *WEBSOCKET_TABLES, "idempotency", PLATFORM_COUNTERS),
        read_tables=("users", "meetings", "meeting-participants", "notification-preferences"),
        sends_to_queues=("notification-email",),
        manages_websocket=True,
        description="Turns domain events into notifications and delivers them",
    ),
    FunctionDecl(
        name="notification-email-worker",
        folder="workers/notification_email",
        kind="worker",
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
        tables=(*NOTIFICATION_TABLES, *WEBSOCKET_TABLES, PLATFORM_COUNTERS),
        read_tables=("users", "meetings", "meeting-participants", "notification-preferences"),
        sends_to_queues=("notification-email",),
        manages_websocket=True,
        description="Meeting-starting reminders and the release of deliveries held by quiet hours",
    ),
)

EVENT_RULES: tuple[EventRuleDecl, ...] = (
    EventRuleDecl(
        name="user-statistics",
        detail_types=(DomainEvent.MEETING_ENDED, DomainEvent.PARTICIPANT_JOINED, DomainEvent.PARTICIPANT_LEFT),
        target="user-statistics-worker",
        description="Meeting attendance and hosting counts per user",
    ),
    EventRuleDecl(
        name="platform-statistics",
        detail_types=COUNTED_EVENTS,
        target="platform-statistics-worker",
        description="Dashboard counters (users, meetings, participants, recordings) and participant counts",
    ),
    EventRuleDecl(
        name="auto-record",
        detail_types=(DomainEvent.MEETING_STARTED, DomainEvent.MEETING_ENDED),
        target="auto-record-worker",
        description="Auto-recording: start on MeetingStarted (auto_record meetings), stop on MeetingEnded",
    ),
    EventRuleDecl(
        name="notify",
        # The events notifications.producers.PRODUCERS dispatches: the rule and the dispatch are one table.
        detail_types=NOTIFIED_EVENTS,
        target="notify-worker",
        description="Every event that notifies someone",
    ),
    EventRuleDecl(
        name="search-index",
        detail_types=INDEXED_EVENTS,
        target="search-indexer",
        description="Keeps the search indexes in step with meetings, users, transcripts and materials",
    ),
)

SCHEDULES: tuple[ScheduleDecl, ...] = (
    ScheduleDecl(name="outbox-redrive", expression="rate(5 minutes)", target="outbox-redrive"),
    ScheduleDecl(name="recordings-reconcile", expression="rate(2 minutes)", target="recordings-reconcile"),
    ScheduleDecl(name="recordings-retention", expression="rate(1 day)", target="recordings-retention"),
    ScheduleDecl(name="notification-schedule", expression="rate(1 minute)", target="notification-schedule"),
    ScheduleDecl(name="statistics-reconcile", expression="rate(1 hour)", target="statistics-reconcile"),
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

# The exception class names (Lambda's errorType) of the recording pipeline's permanent failures.
PIPELINE_PERMANENT_ERRORS = (
    "ManifestInvalid",
    "RecordingNotFound",
    "RawFileMissing",
    "UnreadableMedia",
    "TranscriptionFailedError",
)

STATE_MACHINES: tuple[StateMachineDecl, ...] = (
    StateMachineDecl(
        name="recording-pipeline",
        definition_file="recording-pipeline.asl.json",
        functions={"PipelineFunctionArn": "recording-pipeline"},
        # Permanent failures (the input or the media will not change): the first retrier of every task.
        error_lists={"NonRetryableErrors": PIPELINE_PERMANENT_ERRORS},
        # Egress writes the manifest last, when every track's file is in the bucket (issue 4 contract).
        trigger=ObjectCreatedTrigger(prefix=MANIFEST_KEY_PREFIX, suffix=MANIFEST_KEY_SUFFIX),
    ),
)


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


def reserved_concurrency_total() -> int:
    """What the functions' reservations take from the account's concurrency, together."""
    return sum(decl.reserved for decl in FUNCTIONS)


def check_concurrency_headroom(account_limit: int) -> int:
    """The unreserved executions left in an account of ``account_limit``; raises if below Lambda's
    minimum (the deploy would fail on the first function past it)."""
    unreserved = account_limit - reserved_concurrency_total()
    if unreserved < UNRESERVED_CONCURRENCY_MINIMUM:
        raise ValueError(
            f"the functions reserve {reserved_concurrency_total()} of the account's {account_limit} concurrent "
            f"executions, leaving {unreserved}; Lambda needs {UNRESERVED_CONCURRENCY_MINIMUM} unreserved. Ask for a "
            "higher quota (Service Quotas, 'Concurrent executions') and set context lambda_concurrency_limit, or "
            "lower reserved_concurrency in infra/catalog.py FUNCTION_CLASSES"
        )
    return unreserved
