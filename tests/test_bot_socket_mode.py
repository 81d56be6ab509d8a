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
from bot.store import SQLiteStateStore
from tests.bot_fakes import FakeSlack
from tests.bot_fixtures import QUESTION, event_payload, mention


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
    store = SQLiteStateStore(settings.state_db_path)
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
