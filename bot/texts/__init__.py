"""Every word a person reads from the bot, in English and Chinese, and nowhere else.

Lower layers hand over codes and data (a refusal's reason, why a model's answer was not used, why
an article could not be added); the words for them are chosen here. ``t(key, language)`` looks one
up ("en" when a language lacks it); the tables are per surface: ``replies`` (answers in Slack,
feedback, adds) and ``digest`` (the weekly post and ``/digest``).
"""

from __future__ import annotations

from bot.texts.catalog import LANGUAGES, TEXTS, t

__all__ = ["LANGUAGES", "TEXTS", "t"]
