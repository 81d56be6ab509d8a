"""Every word a person reads from the bot, in English and Chinese, and nowhere else.

Lower layers hand over codes and data (a refusal's reason, why a model's answer was not used, why
an article could not be added); the words for them are chosen here. ``t(key, language)`` looks one
up ("en" when a language lacks it); the tables are per surface: ``replies`` (Slack's notices,
feedback), ``answers`` (an answer's framing, refusals, model fallbacks), ``ingest`` (adding articles)
and ``digest`` (the weekly post and ``/digest``). ``wording`` makes words from structured results.
"""

from __future__ import annotations

from bot.texts.catalog import LANGUAGES, TEXTS, t
from bot.texts.wording import answer_text, fallback_note, refusal_text, role_label

__all__ = ["LANGUAGES", "TEXTS", "answer_text", "fallback_note", "refusal_text", "role_label", "t"]
