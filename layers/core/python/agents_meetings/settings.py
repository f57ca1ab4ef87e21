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

    def table_name(self, logical_name: str) -> str:
        return f"{self.table_prefix}{logical_name}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
