"""The assistant panel (Slack's AI app surface) through Bolt's ``Assistant``: a new thread gets a
greeting and suggested prompts in English and Chinese (questions the corpus answers, from App
Home's summary); a question gets the "searching the corpus…" status, the thread its title, and the
answer comes from the same ``QuestionHandler`` as everywhere else, follow-ups with the thread's
history. Commands (``follow``, ``add``, ``settings``) work in the panel as in a DM.

Bolt routes every DM message inside a thread here, so a plain DM thread is answered the same way,
without status or title (those exist only in assistant threads, which the store remembers when
they start). The thread context lives in the state store, not in message metadata that Bolt would
read back with the tier-limited ``conversations.replies``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Assistant, BoltContext, Say, SetSuggestedPrompts
from slack_bolt.context.assistant.thread_context import AssistantThreadContext
from slack_bolt.context.assistant.thread_context_store.store import AssistantThreadContextStore
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.handler import QuestionHandler
from bot.home.summary import FIXED_EXAMPLES, HomeSummary
from bot.listeners import is_ignored, to_incoming
from bot.render import truncate
from bot.state.protocols import AssistantThreads
from bot.texts import LANGUAGES, t

logger = logging.getLogger(__name__)

MAX_PROMPTS = 4  # Slack shows at most four suggested prompts
TITLE_CHARS = 80
Route = Callable[[dict[str, Any], BoltContext, WebClient], bool]  # handles a command; False if not one


class StoredThreadContexts(AssistantThreadContextStore):
    def __init__(self, store: AssistantThreads) -> None:
        self.store = store

    def save(self, *, channel_id: str, thread_ts: str, context: dict[str, str]) -> None:
        self.store.save_assistant_thread(channel=channel_id, thread_ts=thread_ts, context=context)

    def find(self, *, channel_id: str, thread_ts: str) -> AssistantThreadContext | None:
        found = self.store.assistant_thread(channel=channel_id, thread_ts=thread_ts)
        return AssistantThreadContext(found) if found and "channel_id" in found else None


def suggested_prompts(examples: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """Up to four checked example questions, the languages taking turns: the first fixed question
    ("Who is closest to listing?"), then those about the names in the newest articles, so the panel
    shows what this corpus is about; the other fixed ones fill what is left. ``examples`` are App
    Home's checked ones by language."""
    fixed = {t(key, lang) for key in FIXED_EXAMPLES for lang in LANGUAGES}

    def taking_turns(keep: Callable[[str], bool]) -> list[str]:
        columns = [[q for q in examples.get(lang, []) if keep(q)] for lang in LANGUAGES]
        interleaved = [q for row in zip(*columns, strict=False) for q in row]
        return interleaved + [q for col in columns for q in col if q not in interleaved]

    general = taking_turns(lambda q: q in fixed)
    ordered = [*general[: len(LANGUAGES)], *taking_turns(lambda q: q not in fixed), *general[len(LANGUAGES):]]
    return [{"title": truncate(q, 75), "message": q} for q in ordered[:MAX_PROMPTS]]


def build_assistant(*, handler: QuestionHandler, store: AssistantThreads, summary: HomeSummary,
                    commands: list[Route]) -> Assistant:
    assistant = Assistant(thread_context_store=StoredThreadContexts(store), logger=logging.getLogger("bot.assistant"))

    @assistant.thread_started
    def started(payload: dict[str, Any], say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        thread = payload.get("assistant_thread") or {}
        store.save_assistant_thread(channel=str(thread.get("channel_id", "")), thread_ts=str(thread.get("thread_ts", "")),
                                    context={str(k): str(v) for k, v in (thread.get("context") or {}).items()})
        say(text="\n".join(t("assistant_greeting", lang) for lang in LANGUAGES))
        current = summary.current
        prompts = suggested_prompts(current.examples if current is not None else {})
        if prompts:
            set_suggested_prompts(prompts=prompts, title=t("assistant_prompts_title", "en"))

    @assistant.user_message
    def user_message(payload: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if is_ignored(payload, bot_user_id=context.bot_user_id) or any(route(payload, context, client)
                                                                       for route in commands):
            return
        channel, thread_ts = str(payload.get("channel", "")), str(payload.get("thread_ts", ""))
        in_panel = store.assistant_thread(channel=channel, thread_ts=thread_ts) is not None
        msg = to_incoming(payload, team=context.team_id or "", bot_user_id=context.bot_user_id,
                          source="assistant" if in_panel else "dm")
        if in_panel and msg.text:
            first = not handler.store.thread_history(team=msg.team, channel=channel, thread_ts=thread_ts,
                                                     before_ts=msg.ts)
            _decorate(client, channel, thread_ts, msg.text, first=first)
        handler.handle_message(msg, client)

    return assistant


def _decorate(client: WebClient, channel: str, thread_ts: str, question: str, *, first: bool) -> None:
    """The working status (Slack clears it when the answer is posted) and, for the thread's first
    question, its title. Neither is worth failing the answer for."""
    from retrieval.text import detect_language

    try:
        client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts,
                                           status=t("assistant_status", detect_language(question)))
        if first:
            client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts,
                                              title=truncate(" ".join(question.split()), TITLE_CHARS))
    except SlackApiError as err:
        logger.warning("assistant status or title failed: %s", err.response.get("error") if err.response else err)
