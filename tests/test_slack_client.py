"""The bot's Web API client keeps each thread's connection open between calls (bot/slack_client.py)
and reports what slack_sdk's own transport reports: error statuses, dropped connections."""

from __future__ import annotations

import ssl
import subprocess
import threading
from dataclasses import replace
from http.client import RemoteDisconnected
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.slack_client import build_web_client
from tests.bot_fakes import FakeSlack, Scripted


def test_calls_from_one_thread_share_one_connection(bot_settings: Settings, fake_slack: FakeSlack) -> None:
    client = build_web_client(bot_settings)
    before = fake_slack.connections
    for n in range(5):
        client.chat_postMessage(channel="C1", text=f"hello {n}")
    client.auth_test()
    assert fake_slack.connections - before == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 5


def test_each_thread_has_its_own_connection(bot_settings: Settings, fake_slack: FakeSlack) -> None:
    client = build_web_client(bot_settings)
    before = fake_slack.connections

    def calls() -> None:
        for _ in range(3):
            client.auth_test()

    threads = [threading.Thread(target=calls) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert fake_slack.connections - before == 3 and len(fake_slack.calls_to("auth.test")) >= 9


def test_a_dropped_connection_is_reported_and_the_next_call_opens_another(bot_settings: Settings,
                                                                          fake_slack: FakeSlack) -> None:
    client = build_web_client(bot_settings)
    client.auth_test()
    fake_slack.script("chat.postMessage", Scripted(drop=True))
    with pytest.raises(RemoteDisconnected):  # as from slack_sdk's transport; not retried here (bot.delivery decides)
        client.chat_postMessage(channel="C1", text="lost")
    before = fake_slack.connections
    assert client.chat_postMessage(channel="C1", text="sent")["ok"]
    assert fake_slack.connections - before == 1


def test_error_statuses_reach_slack_sdks_retries_and_errors(bot_settings: Settings, fake_slack: FakeSlack) -> None:
    client = build_web_client(bot_settings)
    fake_slack.script("auth.test", Scripted(status=429, body={"ok": False, "error": "ratelimited"},
                                            headers={"Retry-After": "0"}))
    assert client.auth_test()["ok"]  # retried after Retry-After, on the kept connection
    fake_slack.refuse("chat.postMessage", lambda body: True, "channel_not_found")
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C404", text="x")
    assert refused.value.response["error"] == "channel_not_found"


def test_over_tls_the_session_is_kept_too(tmp_path: Path, bot_settings: Settings, fake_slack: FakeSlack) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    tls = FakeSlack()
    tls.server.socket = served.wrap_socket(tls.server.socket, server_side=True)
    tls.start()
    try:
        trusted = ssl.create_default_context(cafile=str(cert))
        client = build_web_client(replace(bot_settings, slack_api_url=tls.base_url.replace("http:", "https:")))
        client.ssl = trusted
        for n in range(3):
            assert client.chat_postMessage(channel="C1", text=f"over TLS {n}")["ok"]
        assert tls.connections == 1
    finally:
        tls.stop()
