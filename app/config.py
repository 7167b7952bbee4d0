"""Typed settings, read from the environment (and an optional `.env` file)."""

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the service reads; the README's configuration reference mirrors this class."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an existing PostgreSQL "
        "(postgresql+asyncpg://user:pw@host/db); unset: embedded PostgreSQL under DATA_DIR.",
    )
    data_dir: Path = Field(
        default=Path(".data"), description="Where embedded PostgreSQL keeps data."
    )
    embedded_database: str = Field(default="dossier_stats", description="Database name (embedded).")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Server processes of `dossier-stats serve` (`--workers` overrides); default: "
        "the number of cores. Above 1, a supervisor shares its socket with that many workers.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="auto: plain text when stderr is a terminal, JSON otherwise; "
        "json: one JSON object per line, with the request id; text: plain lines.",
    )
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = Field(
        default=30_000, description="Server-side limit for one SQL statement."
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, description="Largest accepted body.")
    max_events_per_request: int = 5_000
    max_json_values: int = Field(
        default=1_000_000,
        description="Most JSON values a body may hold (counted by `,` `[` `{`; 413 beyond).",
    )
    coverage_target: Decimal = Field(
        default=Decimal("0.40"),
        description="Target share of procedures offered online, for the overall coverage row.",
    )
    max_json_depth: int = Field(
        default=32, description="Deepest nesting of arrays and objects in POST /v1/events."
    )
    request_timeout_seconds: float = Field(
        default=60.0, description="A request still unanswered after this is abandoned (503)."
    )
    export_workers: int = Field(
        default=2, description="Worker processes that build XLSX files, off the event loop."
    )
    rate_limit_per_minute: int = Field(
        default=0, description="Requests per key and minute (429 beyond); 0 turns it off."
    )
    max_header_count: int = Field(default=100, description="Most request headers (431 beyond).")
    max_header_bytes: int = Field(
        default=16 * 1024, description="Largest request head (431 beyond)."
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        description="A connection that has not sent a whole request head by then is closed.",
    )
    max_connections: int = Field(
        default=1000, description="Concurrent connections the server accepts (503 beyond)."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (comma-separated); none by default.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
