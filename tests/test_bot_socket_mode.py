"""Socket Mode: the same app, driven through Bolt's socket-mode handler (``mode="socket_mode"``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.app import create_app
from bot.config import Settings
from bot.slack_client import build_web_client
from bot.state.sqlite import SQLiteStateStore
from tests.bot_fakes import APP_TOKEN, FakeSlack
from tests.bot_fixtures import QUESTION, event_payload, mention
from tests.bot_socket_fake import FakeSocketMode


class EnvelopeRecorder:
    """Stands in for the websocket client: records the envelope acks the handler sends back."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("test.socket")
        self.sent: list[SocketModeResponse] = []

    def send_socket_mode_response(self, response: SocketModeResponse) -> None:
        self.sent.append(response)


def test_socket_mode_dispatch_answers_once_and_acks_envelopes(
    bot_settings: Settings, fake_slack: FakeSlack, qa_service: Any
) -> None:
    from dataclasses import replace

    settings = replace(bot_settings, slack_app_token="xapp-1-test", slack_signing_secret="")
    assert settings.socket_mode
    store = SQLiteStateStore(settings.state_location)
    app = create_app(settings, client=build_web_client(settings), answerer=qa_service, store=store)
    handler = SocketModeHandler(app, settings.slack_app_token)  # not connected: we feed it envelopes
    socket_client = EnvelopeRecorder()

    payload = event_payload(mention(QUESTION, ts="1700000100.000100"), event_id="EvSOCK")
    handler.handle(socket_client, SocketModeRequest(type="events_api", envelope_id="env-1", payload=payload))  # type: ignore[arg-type]
    # the redelivery Slack sends when the first ack was late: retry_attempt maps to X-Slack-Retry-Num
    retry = SocketModeRequest(type="events_api", envelope_id="env-2", payload=payload, retry_attempt=1, retry_reason="timeout")
    handler.handle(socket_client, retry)  # type: ignore[arg-type]

    [post] = fake_slack.wait_count("chat.postMessage", 1)
    fake_slack.wait_count("reactions.remove", 1)
    fake_slack.settle()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert post.body["thread_ts"] == "1700000100.000100" and "example.com/zhipu-hearing" in post.body["text"] + str(post.body["blocks"])
    assert [r.envelope_id for r in socket_client.sent] == ["env-1", "env-2"]  # both envelopes acked
    store.close()


def test_socket_mode_over_a_real_websocket(bot_settings: Settings, fake_slack: FakeSlack, qa_service: Any) -> None:
    """apps.connections.open with the xapp- token, a WebSocket to the returned URL, an events_api
    envelope in, the envelope ack and one threaded answer out, a redelivery ignored."""
    from dataclasses import replace

    ws = FakeSocketMode()
    fake_slack.socket_url = ws.url
    settings = replace(bot_settings, slack_app_token=APP_TOKEN, slack_signing_secret="")
    store = SQLiteStateStore(settings.state_location)
    app = create_app(settings, client=build_web_client(settings), answerer=qa_service, store=store)
    handler = SocketModeHandler(app, settings.slack_app_token)
    try:
        handler.connect()
        assert [c.method for c in fake_slack.calls_to("apps.connections.open")] == ["apps.connections.open"]
        payload = event_payload(mention(QUESTION, ts="1700000200.000100"), event_id="EvWS")
        envelope = {"envelope_id": "env-ws-1", "type": "events_api", "payload": payload,
                    "accepts_response_payload": False, "retry_attempt": 0, "retry_reason": ""}
        ws.push(envelope)
        ws.push({**envelope, "envelope_id": "env-ws-2", "retry_attempt": 1, "retry_reason": "timeout"})
        ws.wait_for(lambda: {m.get("envelope_id") for m in ws.received} >= {"env-ws-1", "env-ws-2"})
        [post] = fake_slack.wait_count("chat.postMessage", 1)
        fake_slack.wait_count("reactions.remove", 1)
        fake_slack.settle()
        assert len(fake_slack.calls_to("chat.postMessage")) == 1
        assert post.body["thread_ts"] == "1700000200.000100"
        assert "example.com/zhipu-hearing" in str(post.body["blocks"])
    finally:
        handler.close()
        ws.close()
        store.close()
