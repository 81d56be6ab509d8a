"""Bot settings: the one place that reads the environment, once, at start-up.

``Settings.from_env()`` turns the process environment (after ``load_dotenv()``) into a frozen
object and names *every* missing or invalid variable in one ``SettingsError``, so a missing
token is one clear line at start rather than a traceback at the first event.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.state.location import parse_location
from retrieval.settings import EnvReader, RetrievalSettings, SettingsError, load_env_file

__all__ = ["DigestSettings", "Settings", "SettingsError", "load_settings"]

DEFAULT_PORT = 3000
DEFAULT_USER_QUESTIONS_PER_MINUTE = 10
DEFAULT_WORKERS = 12
# the ⏳ reaction goes on a question only when its answer is not out by then: a quick answer is its own
# sign of life (and two fewer Web API calls); 0 = at once, on every question
DEFAULT_WORKING_REACTION_AFTER_MS = 1000
DEFAULT_API_TIMEOUT_S = 30
DEFAULT_CHANGE_ALERTS_PER_USER = 5
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_TIME = time(9, 0)
DIGEST_LANGUAGES = ("en", "zh", "both")  # "both": the framing in English and Chinese
DEFAULT_QUESTION_LOG_DAYS = 90
DEFAULT_HEALTH_PORT = 3001
DEFAULT_SHUTDOWN_GRACE_S = 20  # below the 30 s most orchestrators wait after SIGTERM before SIGKILL
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class DigestSettings:
    """``DIGEST_*`` settings; no channels means the digest is off."""

    channels: tuple[str, ...] = ()
    weekday: int = 0  # Monday
    at: time = DEFAULT_TIME
    timezone: str = DEFAULT_TIMEZONE
    language: str = "en"  # of the framing text (en, zh or both); quotes stay in the article's language
    cadence: str = "weekly"  # weekly | daily (a channel's own settings; DIGEST_* is weekly)
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", ZoneInfo(self.timezone))

    @property
    def enabled(self) -> bool:
        return bool(self.channels)


def parse_digest_settings(*, channels: str, day: str, at: str, timezone: str, language: str,
                          errors: list[str]) -> DigestSettings:
    """Build ``DigestSettings`` from raw strings, appending one message per invalid value to ``errors``."""
    names = tuple(c.strip() for c in channels.split(",") if c.strip())
    weekday = 0
    if day:
        key = day.strip().lower()[:3]
        if key in WEEKDAYS:
            weekday = WEEKDAYS.index(key)
        else:
            errors.append(f"DIGEST_DAY must be a weekday name such as monday or mon (got {day!r})")
    clock = DEFAULT_TIME
    if at:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
        if m and int(m.group(1)) < 24 and int(m.group(2)) < 60:
            clock = time(int(m.group(1)), int(m.group(2)))
        else:
            errors.append(f"DIGEST_TIME must be HH:MM in 24-hour time (got {at!r})")
    zone = timezone or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"DIGEST_TIMEZONE must be an IANA time zone such as Asia/Shanghai (got {zone!r})")
        zone = DEFAULT_TIMEZONE
    lang = (language or "en").lower()
    if lang not in DIGEST_LANGUAGES:
        errors.append(f"DIGEST_LANGUAGE must be en, zh or both (got {language!r})")
        lang = "en"
    return DigestSettings(channels=names, weekday=weekday, at=clock, timezone=zone, language=lang)




@dataclass(frozen=True)
class Settings:
    """Everything the Slack bot needs; ``retrieval`` is handed to the retrieval core untouched."""

    slack_bot_token: str
    slack_signing_secret: str = ""
    # Socket Mode when set (xapp-...), otherwise HTTP on ``port``.
    slack_app_token: str = ""
    # Web API base URL, e.g. "https://slack.com/api/"; tests point it at a loopback fake.
    slack_api_url: str = ""
    slack_api_timeout_s: int = DEFAULT_API_TIMEOUT_S
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    # Where the state lives (claims, threads, question log, feedback, digest claims, rate limits):
    # sqlite:///path or postgresql://...; "" = SQLite at DATA_DIR/bot_state.sqlite3. May hold a password.
    state_url: str = ""
    user_questions_per_minute: int = DEFAULT_USER_QUESTIONS_PER_MINUTE
    workers: int = DEFAULT_WORKERS
    working_reaction_after_ms: int = DEFAULT_WORKING_REACTION_AFTER_MS
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one object per line, with the question id)
    # questions, votes and thread turns older than this are deleted; 0 keeps them forever
    question_log_days: int = DEFAULT_QUESTION_LOG_DAYS
    # /healthz, /readyz and /metrics in Socket Mode (HTTP mode serves them on ``port``)
    health_port: int = DEFAULT_HEALTH_PORT
    # after SIGTERM, seconds to finish the answers in flight and queued; what is left is answered
    # at the next start (keep it below the orchestrator's own wait before SIGKILL)
    shutdown_grace_s: int = DEFAULT_SHUTDOWN_GRACE_S
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    # Slack user ids who may "@bot add <url>"; empty = anyone in the workspace
    add_allowed_users: frozenset[str] = frozenset()
    # weekly digest (off while DIGEST_CHANNEL is empty)
    digest: DigestSettings = field(default_factory=DigestSettings)
    # Slack user ids who may change any channel's settings (besides workspace admins and the channel's creator)
    channel_admins: frozenset[str] = frozenset()
    # questions one person may watch for answer changes ("Tell me when this changes")
    change_alerts_per_user: int = DEFAULT_CHANGE_ALERTS_PER_USER

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def state_location(self) -> str | Path:
        """What ``bot.state.open_store`` opens: STATE_URL, or the SQLite file in DATA_DIR."""
        return self.state_url or self.retrieval.data_dir / "bot_state.sqlite3"

    def with_paths(self, *, corpus: str | Path | None = None, data: str | Path | None = None) -> Settings:
        """Apply the CLI's ``--corpus`` / ``--data`` overrides."""
        return replace(self, retrieval=self.retrieval.with_paths(corpus=corpus, data=data))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_slack_tokens: bool = True) -> Settings:
        """``require_slack_tokens=False`` for work that never calls Slack (``digest --dry-run``):
        missing tokens are then not an error, malformed ones still are."""
        env = os.environ if env is None else env
        errors: list[str] = []
        try:
            retrieval = RetrievalSettings.from_env(env)
        except SettingsError as err:
            errors.append(str(err).removeprefix("Invalid settings: "))
            retrieval = RetrievalSettings()

        read = EnvReader(env, errors)
        _str, _int = read.text, read.integer

        bot_token = _str("SLACK_BOT_TOKEN")
        app_token = _str("SLACK_APP_TOKEN")
        secret = _str("SLACK_SIGNING_SECRET")
        if not bot_token:
            if require_slack_tokens:
                errors.append("SLACK_BOT_TOKEN is missing (the xoxb-... Bot User OAuth Token)")
        elif not bot_token.startswith("xoxb-"):
            errors.append("SLACK_BOT_TOKEN must start with xoxb- (a bot token)")
        if app_token and not app_token.startswith("xapp-"):
            errors.append("SLACK_APP_TOKEN must start with xapp- (an app-level token with connections:write)")
        if not secret and not app_token and require_slack_tokens:
            errors.append("SLACK_SIGNING_SECRET is missing (needed in HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)")
        api_url = _str("SLACK_API_URL")
        if api_url and not api_url.startswith(("http://", "https://")):
            errors.append(f"SLACK_API_URL must be an http(s) URL (got {api_url!r})")
        log_level = (_str("LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            errors.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR (got {log_level!r})")
        state_url = _str("STATE_URL")
        try:
            parse_location(state_url or "state.sqlite3")
        except ValueError as err:
            errors.append(f"STATE_URL: {err}")
        if _str("STATE_DB"):
            errors.append("STATE_DB is no longer read: set STATE_URL=sqlite:///<path> (or postgresql://...) instead")
        log_format = (_str("LOG_FORMAT") or "text").lower()
        if log_format not in LOG_FORMATS:
            errors.append(f"LOG_FORMAT must be text or json (got {log_format!r})")
        adders = _user_ids("ADD_ALLOWED_USERS", _str("ADD_ALLOWED_USERS"), errors)
        admins = _user_ids("CHANNEL_ADMINS", _str("CHANNEL_ADMINS"), errors)
        digest = parse_digest_settings(
            channels=_str("DIGEST_CHANNEL"), day=_str("DIGEST_DAY"), at=_str("DIGEST_TIME"),
            timezone=_str("DIGEST_TIMEZONE"), language=_str("DIGEST_LANGUAGE"), errors=errors,
        )
        settings = cls(
            slack_bot_token=bot_token,
            slack_signing_secret=secret,
            slack_app_token=app_token,
            slack_api_url=(api_url.rstrip("/") + "/") if api_url else "",
            slack_api_timeout_s=_int("SLACK_API_TIMEOUT", DEFAULT_API_TIMEOUT_S, 1, 300),
            host=_str("HOST") or "0.0.0.0",
            port=_int("PORT", DEFAULT_PORT, 0, 65535),
            state_url=state_url,
            user_questions_per_minute=_int("USER_QUESTIONS_PER_MINUTE", DEFAULT_USER_QUESTIONS_PER_MINUTE, 0, 10_000),
            workers=_int("BOT_WORKERS", DEFAULT_WORKERS, 1, 64),
            working_reaction_after_ms=_int("WORKING_REACTION_AFTER_MS", DEFAULT_WORKING_REACTION_AFTER_MS, 0, 60_000),
            log_level=log_level,
            log_format=log_format,
            question_log_days=_int("QUESTION_LOG_DAYS", DEFAULT_QUESTION_LOG_DAYS, 0, 100_000),
            health_port=_int("HEALTH_PORT", DEFAULT_HEALTH_PORT, 0, 65535),
            shutdown_grace_s=_int("SHUTDOWN_GRACE_S", DEFAULT_SHUTDOWN_GRACE_S, 0, 3600),
            retrieval=retrieval,
            add_allowed_users=adders,
            digest=digest,
            channel_admins=admins,
            change_alerts_per_user=_int("CHANGE_ALERTS_PER_USER", DEFAULT_CHANGE_ALERTS_PER_USER, 0, 100),
        )
        if errors:
            raise SettingsError("Invalid settings: " + "; ".join(errors))
        return settings

    def __repr__(self) -> str:  # never print secrets in logs or tracebacks
        return (
            f"Settings(mode={'socket' if self.socket_mode else 'http'}, port={self.port}, "
            f"state={str(parse_location(self.state_location))!r}, slack_api_url={self.slack_api_url!r}, "
            f"corpus_dir={str(self.retrieval.corpus_dir)!r}, data_dir={str(self.retrieval.data_dir)!r}, "
            f"embeddings={self.retrieval.embeddings!r})"
        )


def _user_ids(name: str, raw: str, errors: list[str]) -> frozenset[str]:
    """A comma- or space-separated list of Slack user ids; one error per entry that is not one."""
    ids = frozenset(re.split(r"[\s,]+", raw)) - {""}
    errors.extend(f"{name}: {u!r} is not a Slack user id (U…)" for u in sorted(ids)
                  if not re.fullmatch(r"[UW][A-Z0-9]{2,}", u))
    return ids


def load_settings(env_file: str | Path | None = None, *, require_slack_tokens: bool = True) -> Settings:
    """Read ``env_file`` or ``./.env`` (``retrieval.settings.load_env_file``: variables already set
    win), then build the settings from the environment."""
    load_env_file(env_file)
    return Settings.from_env(require_slack_tokens=require_slack_tokens)
