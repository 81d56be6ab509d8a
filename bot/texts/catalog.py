"""The one table of words: every key, in every language, gathered from the tables of ``bot.texts``."""

from __future__ import annotations

from typing import Any

from bot.texts import alerts, answers, controls, digest, home, ingest, replies, settings

LANGUAGES = ("en", "zh")


def _merge(*tables: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for table in tables:
        clash = merged.keys() & table.keys()
        if clash:
            raise ValueError(f"text keys defined twice: {sorted(clash)}")
        merged.update(table)
    return merged


TEXTS = _merge(replies.TEXTS, answers.TEXTS, ingest.TEXTS, digest.TEXTS, alerts.TEXTS, settings.TEXTS,
               controls.TEXTS, home.TEXTS)


def t(key: str, language: str = "en", **values: Any) -> str:
    """The words ``key`` in ``language`` (falling back to English), formatted with ``values``."""
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**values) if values else template
