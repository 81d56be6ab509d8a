"""The words users read: one table, every key in English and Chinese with the same placeholders."""

from __future__ import annotations

import string

import pytest

from bot.texts import LANGUAGES, TEXTS, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_english_and_chinese_with_the_same_placeholders(key: str) -> None:
    variants = TEXTS[key]
    assert set(variants) == set(LANGUAGES), key
    assert all(variants[lang].strip() for lang in LANGUAGES), key
    assert _fields(variants["en"]) == _fields(variants["zh"]), key


def test_an_unknown_language_falls_back_to_english() -> None:
    assert t("sources", "fr") == t("sources", "en") == "Sources"
    assert t("rate_limited", "zh", limit=3) == "你在一分钟内已经提了 3 个问题。请稍等片刻再问。"
