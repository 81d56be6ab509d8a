"""The shipped jieba cuts of the glossary's Chinese terms: the same tokens jieba gives, so an
English question (whose BM25 side carries the Chinese equivalents of its names and terms) is
tokenised without loading jieba, and a cold ``industry-qa ask`` does not pay for it."""

from __future__ import annotations

import subprocess
import sys

from retrieval import zh_cuts
from retrieval.text import bm25_tokens, jieba_search_cut


def test_shipped_file_is_current() -> None:
    """Fails when glossary.yml or lexicon.yml gained a Chinese term: run `python -m retrieval.zh_cuts`."""
    shipped = zh_cuts.shipped()
    assert shipped, "retrieval/zh_cuts.json is missing or written by another jieba version"
    fresh = zh_cuts.compute(zh_cuts.term_pieces())
    assert {k: list(v) for k, v in shipped.items()} == fresh


def test_a_shipped_piece_and_jieba_give_the_same_tokens() -> None:
    for piece in ("发行价", "港股上市", "上市首日"):
        assert list(zh_cuts.shipped()[piece]) == jieba_search_cut(piece)
    assert bm25_tokens("IPO price (发行价; 定价)") == ["ipo", "price", "发行", "发行价", "发行", "行价", "定价", "定价"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_english_question_with_chinese_equivalents_does_not_load_jieba() -> None:
    mods = _modules_after("from retrieval.text import bm25_tokens\n"
                          "bm25_tokens('IPO price on the first day? (发行价; 上市首日; 港股上市)')")
    assert "jieba" not in mods
    # a Chinese run the file does not hold is cut by jieba itself
    assert "jieba" in _modules_after("from retrieval.text import bm25_tokens\nbm25_tokens('今天天气晴朗')")


def test_own_words_tags_parts_of_speech_only_when_a_chinese_word_is_left() -> None:
    code = ("from retrieval.glossary import load_glossary\nfrom retrieval.question import analyse, own_words\n"
            "g = load_glossary(None)\nprint(own_words(analyse({q!r}, g), g))")
    assert "jieba.posseg" not in _modules_after(code.format(q="月之暗面要上市吗?"))
    assert "jieba.posseg" in _modules_after(code.format(q="北京天气怎么样？"))

