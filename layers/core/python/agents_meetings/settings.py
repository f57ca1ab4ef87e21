"""Typed settings read once from the environment, with the spec's variable names."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a function needs to know about where it runs. Read lazily, once per container."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    environment: Literal["local", "test", "dev", "staging", "prod"] = Field("local", alias="ENVIRONMENT")
    aws_region: str = Field("us-east-1", alias="AWS_REGION")
    # Set by the local runtime and tests to the embedded AWS (moto server); unset in the cloud.
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")
    table_prefix: str = Field("agents-meetings-", alias="TABLE_PREFIX")
    event_bus_name: str = Field("agents-meetings", alias="EVENT_BUS_NAME")

    jwt_secret: SecretStr | None = Field(None, alias="JWT_SECRET")
    # In the cloud the signing key lives in Secrets Manager; functions receive its ARN.
    jwt_secret_arn: str | None = Field(None, alias="JWT_SECRET_ARN")
    jwt_issuer: str = Field("agents-meetings", alias="JWT_ISSUER")
    jwt_audience: str = Field("agents-meetings-api", alias="JWT_AUDIENCE")
    access_token_ttl_seconds: int = Field(900, ge=60, le=86_400, alias="ACCESS_TOKEN_TTL_SECONDS")
    refresh_token_ttl_seconds: int = Field(14 * 86_400, ge=300, alias="REFRESH_TOKEN_TTL_SECONDS")

    livekit_url: str = Field("ws://127.0.0.1:7880", alias="LIVEKIT_URL")
    livekit_api_key: str | None = Field(None, alias="LIVEKIT_API_KEY")
    livekit_api_secret: SecretStr | None = Field(None, alias="LIVEKIT_API_SECRET")
    # In the cloud the LiveKit API secret lives in Secrets Manager; the meetings function gets its ARN.
    livekit_api_secret_arn: str | None = Field(None, alias="LIVEKIT_API_SECRET_ARN")
    livekit_token_ttl_seconds: int = Field(6 * 3600, ge=60, alias="LIVEKIT_TOKEN_TTL_SECONDS")

    # Argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    password_hash_time_cost: int = Field(3, ge=1, alias="PASSWORD_HASH_TIME_COST")
    password_hash_memory_kib: int = Field(65_536, ge=32, alias="PASSWORD_HASH_MEMORY_KIB")

    # Rate limiting (spec 2.3): rates as "<count>/<period>", e.g. "100/minute", "5/15minutes".
    rate_limit_enabled: bool = Field(True, alias="RATE_LIMIT_ENABLED")
    rate_limit_storage: Literal["dynamodb", "memory"] = Field("dynamodb", alias="RATE_LIMIT_STORAGE")
    rate_limit_default: str = Field("100/minute", alias="RATE_LIMIT_DEFAULT")
    rate_limit_login: str = Field("5/15minutes", alias="RATE_LIMIT_LOGIN")

    # Spec 2.2's slow-query log: a DynamoDB or Redis call slower than this is logged and counted.
    slow_query_ms: float = Field(100.0, ge=0, alias="SLOW_QUERY_MS")

    # Two-factor authentication: KMS key (ARN or alias) of the envelope encryption of 2FA secrets,
    # and whether admins must enrol 2FA before they may use admin endpoints.
    data_key_id: str = Field("alias/agents-meetings-data", alias="DATA_KEY_ID")
    admin_2fa_required: bool = Field(True, alias="ADMIN_2FA_REQUIRED")

    # Password lifecycle (spec 3.1): admins change passwords every 90 days; reset links last an hour.
    admin_password_max_age_days: int = Field(90, ge=1, alias="ADMIN_PASSWORD_MAX_AGE_DAYS")
    password_reset_ttl_seconds: int = Field(3600, ge=60, alias="PASSWORD_RESET_TTL_SECONDS")
    # Every reset request takes at least this long, whether or not the account exists.
    password_reset_min_response_ms: int = Field(400, ge=0, alias="PASSWORD_RESET_MIN_RESPONSE_MS")
    # Sender of platform email (verified in SES) and the web app that reset links point to.
    email_from: str = Field("no-reply@agents-meetings.example.com", alias="EMAIL_FROM")
    public_app_url: str = Field("http://127.0.0.1:8000", alias="PUBLIC_APP_URL")

    # Federated sign-in (OpenID Connect). Issuers are overridable so tests use a local provider.
    oauth_redirect_base_url: str = Field("http://127.0.0.1:8000", alias="OAUTH_REDIRECT_BASE_URL")
    oauth_google_client_id: str | None = Field(None, alias="OAUTH_GOOGLE_CLIENT_ID")
    oauth_google_client_secret: SecretStr | None = Field(None, alias="OAUTH_GOOGLE_CLIENT_SECRET")
    oauth_google_issuer: str = Field("https://accounts.google.com", alias="OAUTH_GOOGLE_ISSUER")
    oauth_microsoft_client_id: str | None = Field(None, alias="OAUTH_MICROSOFT_CLIENT_ID")
    oauth_microsoft_client_secret: SecretStr | None = Field(None, alias="OAUTH_MICROSOFT_CLIENT_SECRET")
    oauth_microsoft_tenant: str = Field("common", alias="OAUTH_MICROSOFT_TENANT")
    oauth_microsoft_issuer: str | None = Field(None, alias="OAUTH_MICROSOFT_ISSUER")

    # Cloud: one Secrets Manager JSON secret with the OAuth client secrets and the LDAP bind password.
    federation_secret_arn: str | None = Field(None, alias="FEDERATION_SECRET_ARN")
    # LDAP / Active Directory sign-in (unset LDAP_URL: off). AD: LDAP_USER_FILTER=(sAMAccountName={username}).
    ldap_url: str | None = Field(None, alias="LDAP_URL")
    ldap_start_tls: bool = Field(False, alias="LDAP_START_TLS")
    ldap_bind_dn: str | None = Field(None, alias="LDAP_BIND_DN")
    ldap_bind_password: SecretStr | None = Field(None, alias="LDAP_BIND_PASSWORD")
    ldap_user_base_dn: str = Field("", alias="LDAP_USER_BASE_DN")
    ldap_user_filter: str = Field("(|(uid={username})(mail={username}))", alias="LDAP_USER_FILTER")

    # SAML 2.0 sign-in: the IdP's metadata XML (unset: off) and this SP's entity id.
    saml_idp_metadata: str | None = Field(None, alias="SAML_IDP_METADATA")
    saml_sp_entity_id: str | None = Field(None, alias="SAML_SP_ENTITY_ID")
    # Signature checks: the xmlsec1 binary where installed, else pure-Python pyXMLSecurity (Lambda).
    saml_crypto_backend: Literal["auto", "xmlsec1", "XMLSecurity"] = Field("auto", alias="SAML_CRYPTO_BACKEND")

    # Sessions (users/sessions.py): idle timeout and how many may be open per user.
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60, alias="SESSION_IDLE_MINUTES")
    max_sessions_per_user: int = Field(10, ge=1, le=1000, alias="MAX_SESSIONS_PER_USER")

    # Recording & transcription (spec 1.1), with the spec's variable names.
    storage_backend: Literal["s3", "minio", "local"] = Field("s3", alias="STORAGE_BACKEND")
    s3_bucket_name: str = Field("recordings", alias="S3_BUCKET_NAME")
    s3_region: str | None = Field(None, alias="S3_REGION")
    # minio (or any S3-compatible store): its endpoint; local: the directory objects live in.
    s3_endpoint_url: str | None = Field(None, alias="S3_ENDPOINT_URL")
    local_storage_dir: str = Field(".local/storage", alias="LOCAL_STORAGE_DIR")
    # local: the key of its signed URLs' HMAC, where the local runtime serves them (unset:
    # PUBLIC_APP_URL/_storage), and whether a write announces "Object Created" on the default bus.
    local_storage_signing_key: SecretStr | None = Field(None, alias="LOCAL_STORAGE_SIGNING_KEY")
    local_storage_url: str | None = Field(None, alias="LOCAL_STORAGE_URL")
    local_storage_events: bool = Field(False, alias="LOCAL_STORAGE_EVENTS")
    signed_url_ttl_seconds: int = Field(900, ge=60, le=7 * 86_400, alias="SIGNED_URL_TTL_SECONDS")
    livekit_egress_url: str | None = Field(None, alias="LIVEKIT_EGRESS_URL")
    transcription_enabled: bool = Field(True, alias="TRANSCRIPTION_ENABLED")
    transcription_languages: str = Field("en,es,fr,hi,ta,te", alias="TRANSCRIPTION_LANGUAGES")
    default_retention_days: int = Field(90, ge=0, alias="DEFAULT_RETENTION_DAYS")
    auto_delete_enabled: bool = Field(False, alias="AUTO_DELETE_ENABLED")

    # Recording control (recordings/egress.py): how LiveKit Egress reaches the recordings bucket.
    # Unset endpoint: S3_ENDPOINT_URL or AWS_ENDPOINT_URL (the embedded AWS locally), else AWS S3.
    livekit_egress_s3_endpoint: str | None = Field(None, alias="LIVEKIT_EGRESS_S3_ENDPOINT")
    livekit_egress_s3_access_key: str | None = Field(None, alias="LIVEKIT_EGRESS_S3_ACCESS_KEY")
    livekit_egress_s3_secret: SecretStr | None = Field(None, alias="LIVEKIT_EGRESS_S3_SECRET")
    # Cloud: a role the egress servers assume to write the bucket (instead of static keys).
    livekit_egress_s3_assume_role_arn: str | None = Field(None, alias="LIVEKIT_EGRESS_S3_ASSUME_ROLE_ARN")
    # An egress still not ended this long after its recording stopped is failed by reconcile.
    recording_stop_grace_seconds: int = Field(900, ge=30, alias="RECORDING_STOP_GRACE_SECONDS")
    # Transcription engines (transcription/engines): "deepgram" or "offline" (faster-whisper with the
    # packaged Whisper base model). Unset: Deepgram when a key or key ARN is configured, else offline.
    transcription_engine: Literal["deepgram", "offline"] | None = Field(None, alias="TRANSCRIPTION_ENGINE")
    deepgram_api_key: SecretStr | None = Field(None, alias="DEEPGRAM_API_KEY")
    # In the cloud the Deepgram key lives in Secrets Manager; the pipeline function gets its ARN.
    deepgram_api_key_arn: str | None = Field(None, alias="DEEPGRAM_API_KEY_ARN")
    deepgram_model: str = Field("nova-3", alias="DEEPGRAM_MODEL")
    deepgram_url: str = Field("https://api.deepgram.com", alias="DEEPGRAM_URL")
    deepgram_timeout_seconds: float = Field(300.0, gt=0, le=900, alias="DEEPGRAM_TIMEOUT_SECONDS")
    deepgram_max_retries: int = Field(2, ge=0, le=10, alias="DEEPGRAM_MAX_RETRIES")
    # Where the offline model is assembled from its packages (once), and its CPU threads.
    offline_asr_model_dir: str = Field(".local/models", alias="OFFLINE_ASR_MODEL_DIR")
    offline_asr_threads: int = Field(2, ge=1, le=64, alias="OFFLINE_ASR_THREADS")
    # Recording post-processing (media/, recordings/pipeline.py): ffmpeg and ffprobe (unset: PATH,
    # then imageio-ffmpeg), the length of a parallel transcode segment, and the scratch directory.
    ffmpeg_path: str | None = Field(None, alias="FFMPEG_PATH")
    ffprobe_path: str | None = Field(None, alias="FFPROBE_PATH")
    recording_segment_seconds: int = Field(300, ge=2, le=3600, alias="RECORDING_SEGMENT_SECONDS")
    pipeline_work_dir: str | None = Field(None, alias="PIPELINE_WORK_DIR")
    # Search & discovery (spec 1.3): the embedded engine locally and in tests, OpenSearch in the cloud.
    search_backend: Literal["embedded", "opensearch"] = Field("embedded", alias="SEARCH_BACKEND")
    # Embedded engine: where its indexes live (unset: LOCAL_DATA_DIR/search, else a temp directory).
    search_index_dir: str | None = Field(None, alias="SEARCH_INDEX_DIR")
    local_data_dir: str | None = Field(None, alias="LOCAL_DATA_DIR")
    # OpenSearch: the domain's HTTPS endpoint; requests are SigV4-signed unless OPENSEARCH_AUTH=none.
    opensearch_url: str | None = Field(None, alias="OPENSEARCH_URL")
    opensearch_auth: Literal["sigv4", "none"] = Field("sigv4", alias="OPENSEARCH_AUTH")
    opensearch_service: Literal["es", "aoss"] = Field("es", alias="OPENSEARCH_SERVICE")
    search_index_prefix: str = Field("agents-meetings-", alias="SEARCH_INDEX_PREFIX")
    # Course materials: their own bucket, the largest upload accepted.
    materials_bucket_name: str = Field("materials", alias="MATERIALS_BUCKET_NAME")
    material_max_bytes: int = Field(25 * 1024 * 1024, ge=1024, alias="MATERIAL_MAX_BYTES")
    # Notifications (spec 1.2).
    # SQS queue the email worker drains (CDK and the local runtime set it; unset: email is not queued).
    notification_email_queue_url: str | None = Field(None, alias="NOTIFICATION_EMAIL_QUEUE_URL")
    # API Gateway management endpoint of the WebSocket stage (https://{api}.execute-api.{region}.amazonaws.com/{stage}).
    websocket_management_url: str | None = Field(None, alias="WEBSOCKET_MANAGEMENT_URL")
    # Public wss:// URL of the WebSocket API, returned with each ticket.
    websocket_url: str | None = Field(None, alias="WEBSOCKET_URL")
    notification_ttl_days: int = Field(90, ge=1, le=3650, alias="NOTIFICATION_TTL_DAYS")
    ws_ticket_ttl_seconds: int = Field(60, ge=5, le=600, alias="WS_TICKET_TTL_SECONDS")
    ws_connection_ttl_hours: int = Field(24, ge=1, le=168, alias="WS_CONNECTION_TTL_HOURS")
    notification_group_window_seconds: int = Field(600, ge=10, le=86_400, alias="NOTIFICATION_GROUP_WINDOW_SECONDS")
    # How long GET /notifications/stream waits for news before answering (bounded long-poll).
    notification_sse_wait_seconds: int = Field(20, ge=0, le=25, alias="NOTIFICATION_SSE_WAIT_SECONDS")
    meeting_reminder_minutes: int = Field(15, ge=1, le=1440, alias="MEETING_REMINDER_MINUTES")
    # Firebase Cloud Messaging (push): unset means push is never sent.
    fcm_project_id: str | None = Field(None, alias="FCM_PROJECT_ID")
    fcm_credentials_arn: str | None = Field(None, alias="FCM_CREDENTIALS_ARN")

    # Cache (spec 2.1): "redis" (ElastiCache Serverless in the cloud, a local redis-server), "memory"
    # (in-process only: one process, e.g. a single worker), "none" (off: every read goes to DynamoDB).
    cache_backend: Literal["redis", "memory", "none"] = Field("redis", alias="CACHE_BACKEND")
    redis_host: str = Field("localhost", alias="REDIS_HOST")
    redis_port: int = Field(6379, ge=1, le=65_535, alias="REDIS_PORT")
    redis_password: SecretStr | None = Field(None, alias="REDIS_PASSWORD")
    redis_db: int = Field(0, ge=0, le=15, alias="REDIS_DB")
    # ElastiCache Serverless: cluster protocol over TLS (both true there).
    redis_cluster_enabled: bool = Field(False, alias="REDIS_CLUSTER_ENABLED")
    redis_tls_enabled: bool = Field(False, alias="REDIS_TLS_ENABLED")
    # Connect and socket timeout: a dead cache costs at most this, once per CACHE_BREAKER_SECONDS.
    redis_timeout_ms: int = Field(50, ge=1, le=5000, alias="REDIS_TIMEOUT_MS")
    cache_default_ttl: int = Field(300, ge=1, le=7 * 86_400, alias="CACHE_DEFAULT_TTL")
    # The in-process tier: how stale its entries may be, and how many it holds per container.
    cache_local_ttl_seconds: float = Field(5.0, ge=0.0, le=60.0, alias="CACHE_LOCAL_TTL")
    cache_local_max_entries: int = Field(2048, ge=1, le=1_000_000, alias="CACHE_LOCAL_MAX_ENTRIES")
    cache_breaker_seconds: float = Field(5.0, ge=0.0, le=300.0, alias="CACHE_BREAKER_SECONDS")

    @property
    def transcription_language_list(self) -> list[str]:
        return [code.strip() for code in self.transcription_languages.split(",") if code.strip()]

    def table_name(self, logical_name: str) -> str:
        return f"{self.table_prefix}{logical_name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
