"""Settings, .env.example and manifest.yml: one clear error at start, docs that cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent
HTTP_ENV = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3cret"}
ENV_READ = re.compile(r"""(?:env\.get\(|env\[|\b_[a-z]+\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_minimal_http_settings_and_defaults() -> None:
    s = Settings.from_env(HTTP_ENV)
    assert not s.socket_mode and s.port == 3000 and s.user_questions_per_minute == 10
    assert s.state_location == Path("data/bot_state.sqlite3")
    assert (s.log_format, s.question_log_days, s.health_port) == ("text", 90, 3001)
    assert s.retrieval.top_k == 20


def test_socket_mode_needs_no_signing_secret() -> None:
    s = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert s.socket_mode


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"PORT": "eighty", "TOP_K": "0", "SLACK_APP_TOKEN": "xoxb-wrong-kind"})
    message = str(err.value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PORT", "TOP_K"):
        assert name in message
    assert message.count("Invalid settings") == 1


def test_missing_token_and_secret_in_http_mode() -> None:
    with pytest.raises(SettingsError, match=r"SLACK_BOT_TOKEN is missing.*SLACK_SIGNING_SECRET is missing"):
        Settings.from_env({})


def test_work_without_slack_needs_no_tokens_but_still_checks_them() -> None:
    s = Settings.from_env({"DIGEST_CHANNEL": "C1"}, require_slack_tokens=False)  # digest --dry-run
    assert s.slack_bot_token == "" and s.digest.channels == ("C1",)
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN must start with xoxb-"):
        Settings.from_env({"SLACK_BOT_TOKEN": "xoxp-user"}, require_slack_tokens=False)


def test_overrides_and_api_url() -> None:
    s = Settings.from_env({**HTTP_ENV, "SLACK_API_URL": "http://127.0.0.1:9/api", "STATE_URL": "sqlite:////tmp/x.db",
                           "USER_QUESTIONS_PER_MINUTE": "3", "LOG_LEVEL": "debug"})
    assert s.slack_api_url == "http://127.0.0.1:9/api/" and s.state_location == "sqlite:////tmp/x.db"
    assert s.user_questions_per_minute == 3 and s.log_level == "DEBUG"
    moved = s.with_paths(corpus="/c", data="/d")
    assert moved.retrieval.corpus_dir == Path("/c") and moved.retrieval.data_dir == Path("/d")


def test_state_url_and_service_settings() -> None:
    s = Settings.from_env({**HTTP_ENV, "STATE_URL": "postgresql://bot:pw-123@db:5432/iqa", "LOG_FORMAT": "JSON",
                           "QUESTION_LOG_DAYS": "30", "HEALTH_PORT": "9000"})
    assert s.state_location == "postgresql://bot:pw-123@db:5432/iqa"
    assert (s.log_format, s.question_log_days, s.health_port) == ("json", 30, 9000)
    assert "pw-123" not in repr(s) and "bot:***@db" in repr(s)
    with pytest.raises(SettingsError) as err:
        Settings.from_env({**HTTP_ENV, "STATE_URL": "mysql://u:topsecret@h/d", "LOG_FORMAT": "xml", "STATE_DB": "/x"})
    message = str(err.value)
    assert "mysql:// is not supported" in message and "topsecret" not in message
    assert "LOG_FORMAT must be text or json" in message and "STATE_URL=sqlite:///" in message


def test_repr_never_shows_secrets() -> None:
    s = Settings.from_env({**HTTP_ENV, "EMBEDDINGS_API_KEY": "sk-hidden"})
    assert "xoxb-1" not in repr(s) and "s3cret" not in repr(s) and "sk-hidden" not in repr(s)


def test_load_settings_reads_dotenv_but_real_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=file-secret\nPORT=4000\n")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", "5000")
    s = load_settings(env_file)
    assert s.slack_bot_token == "xoxb-from-file" and s.port == 5000


def _names_read_by_settings() -> set[str]:
    names: set[str] = set()
    for source in (ROOT / "bot" / "config.py", ROOT / "retrieval" / "settings.py"):
        names |= set(ENV_READ.findall(source.read_text(encoding="utf-8")))
    return names


def test_env_example_lists_exactly_the_variables_settings_read() -> None:
    read = _names_read_by_settings()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CORPUS_DIR", "MAX_QUESTION_CHARS"} <= read  # regex sanity
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    compose_only = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "compose.yaml").read_text()))
    assert read - documented == set(), "add these to .env.example"
    assert documented - read - compose_only == set(), "these are documented but never read"


def test_env_example_itself_is_valid() -> None:
    from dotenv import dotenv_values

    values = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    assert Settings.from_env(values).port == 3000


def test_manifest_has_exactly_the_scopes_events_commands_and_shortcuts_needed() -> None:
    from bot.check_shortcut import CHECK_SHORTCUT
    from bot.digest.command import DIGEST_COMMAND
    from bot.follow_listener import IQA_COMMAND
    from bot.ingest_listener import ADD_SHORTCUT
    from bot.listeners import SLASH_COMMAND

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read", "assistant:write", "channels:history", "channels:read", "chat:write", "commands",
        "groups:history", "groups:read", "im:history", "reactions:write", "users:read",
    }
    events = manifest["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == {"app_home_opened", "app_mention", "assistant_thread_context_changed",
                                         "assistant_thread_started", "message.channels", "message.groups", "message.im"}
    features = manifest["features"]
    assert [c["command"] for c in features["slash_commands"]] == [SLASH_COMMAND, DIGEST_COMMAND, IQA_COMMAND]
    assert [(s["callback_id"], s["type"]) for s in features["shortcuts"]] == [(ADD_SHORTCUT, "message"),
                                                                              (CHECK_SHORTCUT, "message")]
    assert features["app_home"]["home_tab_enabled"] is True and features["app_home"]["messages_tab_enabled"] is True
    assert features["assistant_view"]["assistant_description"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    urls = {events["request_url"], manifest["settings"]["interactivity"]["request_url"],
            *(c["url"] for c in features["slash_commands"])}
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")


def test_the_socket_mode_manifest_is_the_same_app_without_urls() -> None:
    http = yaml.safe_load((ROOT / "manifest.yml").read_text())
    socket = yaml.safe_load((ROOT / "manifest.socket.yml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    for doc in (http, socket):
        doc["settings"]["event_subscriptions"].pop("request_url", None)
        doc["settings"]["interactivity"].pop("request_url", None)
        doc["settings"].pop("socket_mode_enabled")
        for command in doc["features"]["slash_commands"]:
            command.pop("url", None)
    assert socket == http
