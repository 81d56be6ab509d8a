"""jieba with its dictionary read word by word from an SQLite copy: the same words and tags as
jieba's own fully loaded dictionary, without loading it for a question; a missing file is built,
an unusable one falls back to jieba's own dictionary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import zh_dict
from retrieval.text import bm25_tokens, chinese_words

TEXTS = [  # fictional sentences: known words, names jieba does not know, numbers, particles
    "月之暗面要上市吗", "这周有什么新进展", "这一轮融了多少钱", "沐曦的发行价是多少", "天数智芯是和智谱同一天上市的吗",
    "澜光科技周四在港交所挂牌，首日收涨百分之三十二，市值突破一千亿港元", "基石投资者认购了约百分之四十的发售股份",
    "公司表示暂无上市计划，但不排除明年重新评估", "摩尔线程和沐曦首日谁涨得多",
]


def _full_jieba():  # type: ignore[no-untyped-def]
    import jieba
    import jieba.posseg

    jieba.initialize()
    tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
    tagger.tokenizer = jieba.dt
    tagger.load_word_tag(jieba.dt.get_dict_file())
    return jieba, tagger


def test_words_and_tags_are_jiebas_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zh_dict, "FULL_LOAD_AFTER", 10**12)  # the word file, however much this process cut
    words = [(t, list(zh_dict.tokenizer().cut_for_search(t)), zh_dict.tokenizer().lcut(t),
              list(zh_dict.tagged_words(t))) for t in TEXTS]
    jieba, tagger = _full_jieba()
    for text, search, accurate, tagged in words:
        assert search == jieba.lcut_for_search(text), text
        assert accurate == jieba.lcut(text), text
        assert tagged == [(p.word, p.flag) for p in tagger.lcut(text)], text
    # the tags come from jieba's tagger, not from the dictionary alone: "融了" (a word only jieba's
    # model of unknown words makes) is no noun
    assert chinese_words("这一轮融了多少钱", nouns_only=True) == ["钱"]


def _run(code: str, tmp: Path, **env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "TMPDIR": str(tmp), **env})
    return json.loads(out.stdout.strip().splitlines()[-1]) | {"stderr": out.stderr}


_QUESTION = ("import json, sys\nfrom retrieval import zh_dict\nfrom retrieval.text import bm25_tokens, chinese_words\n"
             "{setup}\ntokens = bm25_tokens('澜光科技首日涨了多少？')\nnouns = chinese_words('这周有什么新进展', nouns_only=True)\n"
             "import jieba\nprint(json.dumps({{'tokens': tokens, 'nouns': nouns, 'loaded': jieba.dt.initialized,\n"
             " 'files': sorted(p.name for p in __import__('pathlib').Path({tmp!r}).iterdir())}}))")


def test_a_question_reads_a_few_words_not_the_whole_dictionary(tmp_path: Path) -> None:
    first = _run(_QUESTION.format(setup="", tmp=str(tmp_path)), tmp_path)
    assert first["files"] == [zh_dict.word_file(zh_dict.import_jieba()).name]  # built on first use
    second = _run(_QUESTION.format(setup="", tmp=str(tmp_path)), tmp_path)
    assert not second["loaded"]  # jieba's 580k-entry dictionary never unmarshalled
    assert second["tokens"] == first["tokens"] == bm25_tokens("澜光科技首日涨了多少？")
    assert second["nouns"] == ["新进展"]


def test_an_unusable_word_file_falls_back_to_jiebas_dictionary(tmp_path: Path) -> None:
    (tmp_path / zh_dict.word_file(zh_dict.import_jieba()).name).write_bytes(b"not a database")
    got = _run(_QUESTION.format(setup="", tmp=str(tmp_path)), tmp_path)
    assert got["loaded"]
    assert "not usable" in got["stderr"]
    assert got["tokens"] == bm25_tokens("澜光科技首日涨了多少？") and got["nouns"] == ["新进展"]


def test_a_process_that_cuts_a_lot_loads_the_whole_dictionary_once(tmp_path: Path) -> None:
    setup = "zh_dict.FULL_LOAD_AFTER = 5\nbm25_tokens('公司表示暂无上市计划')"
    got = _run(_QUESTION.format(setup=setup, tmp=str(tmp_path)), tmp_path)
    assert got["loaded"]
    assert got["tokens"] == bm25_tokens("澜光科技首日涨了多少？")


def test_jieba_imported_elsewhere_first_still_writes_nothing_to_stderr(tmp_path: Path) -> None:
    setup = "import jieba as _elsewhere\nzh_dict.FULL_LOAD_AFTER = 0"  # and the full dictionary is loaded
    got = _run(_QUESTION.format(setup=setup, tmp=str(tmp_path)), tmp_path)
    assert got["loaded"] and "Prefix dict" not in got["stderr"], got["stderr"]
