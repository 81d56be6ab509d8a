"""Language detection, sentence spans and the two tokenisers (BM25 tokens, content words) for English
and Chinese text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[.'’%-][a-z0-9]+)*%?")
_TOKEN_PIECE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z0-9]+(?:[.'’%-][A-Za-z0-9]+)*%?")

# A sentence ends after . ! ? (followed by space/end, not inside numbers like 3.5),
# after Chinese 。！？； (optionally followed by a closing quote/bracket), at a blank-line
# paragraph break or a line break, or before a " - " bullet that starts a new capitalised item.
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+"
    r"|(?<=[。！？；])[”’」』）)]*\s*"
    r"|\n+"
    r"|\s+-\s+(?=[A-Z0-9\u4e00-\u9fff])"
)

EN_STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "been", "being", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "it's", "of", "on", "or", "our", "so", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "whose", "why", "will", "with", "would", "you", "your", "about", "after", "before", "any", "all", "also", "not", "no", "more", "most", "other", "some", "up", "out", "over", "under", "s", "t", "just", "should", "may", "might", "must"]
)
ZH_STOPWORDS = frozenset(["的", "了", "是", "在", "和", "与", "及", "或", "也", "都", "就", "而", "被", "把", "让", "给", "对", "为", "以", "于", "之", "其", "这", "那", "哪", "哪些", "什么", "谁", "吗", "呢", "吧", "啊", "会", "将", "能", "有", "没有", "一个", "中", "上", "下", "等", "着", "过", "到", "从", "向", "如何", "怎么", "怎样", "多少", "是否"])
_ZH_MULTI_STOPWORDS = tuple(sorted(w for w in ZH_STOPWORDS if len(w) > 1))  # none overlaps another


def cjk_ratio(text: str) -> float:
    letters = sum(1 for ch in text if ch.isalpha())
    return len(_CJK.findall(text)) / letters if letters else 0.0


def detect_language(text: str) -> str:
    """'zh' when a noticeable share of the letters are CJK ideographs, else 'en'."""
    return "zh" if cjk_ratio(text) >= 0.15 else "en"


LANGUAGES = ("en", "zh")


def language_code(text: str) -> int:
    """Index of the text's language in LANGUAGES (stored per chunk and sentence)."""
    return LANGUAGES.index(detect_language(text))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text[start:end]``, whitespace trimmed, in order."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        _add_span(text, pos, m.start(), spans)
        pos = m.end()
    _add_span(text, pos, end, spans)
    return spans


def _add_span(text: str, a: int, b: int, spans: list[tuple[int, int]]) -> None:
    while a < b and (text[a].isspace() or (text[a] in "-•·*" and a + 1 < b and text[a + 1].isspace())):
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a and any(ch.isalnum() for ch in text[a:b]):
        spans.append((a, b))


def jieba_search_cut(piece: str) -> list[str]:
    """jieba's search-mode words of one Chinese run (see ``zh_dict`` for how its dictionary is read)."""
    from .zh_dict import tokenizer

    return list(tokenizer().cut_for_search(piece))


def _search_cut(piece: str) -> Sequence[str]:
    from .zh_cuts import shipped

    return shipped().get(piece) or jieba_search_cut(piece)


def chinese_runs(text: str) -> list[str]:
    """The Chinese pieces of ``text`` as the tokenisers see them."""
    return [piece for is_cjk, piece in _pieces(text) if is_cjk]


def _pieces(text: str) -> Iterator[tuple[bool, str]]:
    for m in _TOKEN_PIECE.finditer(text):
        piece = m.group(0)
        yield bool(_CJK.match(piece)), piece


CHINESE_BM25 = ("jieba", "bigrams")  # how bm25_tokens cuts Chinese; "chars" (single characters) also exists


def bm25_tokens(text: str, *, chinese: Sequence[str] = CHINESE_BM25) -> list[str]:
    """Tokens for BM25: English content words (see ``content_tokens``); Chinese as jieba words
    (search mode) plus character bigrams, so that both exact words and sub-word overlaps count.
    ``chinese`` picks among "jieba", "bigrams" and "chars" (the benchmark's tokeniser ablation)."""
    tokens: list[str] = []
    for is_cjk, piece in _pieces(text):
        if not is_cjk:
            tokens.extend(_english_words(piece))
            continue
        if "jieba" in chinese:
            tokens.extend(w for w in _search_cut(piece) if w not in ZH_STOPWORDS)
        if "bigrams" in chinese:
            tokens.extend(_bigrams(piece))
        if "chars" in chinese:
            tokens.extend(ch for ch in piece if ch not in ZH_STOPWORDS)
    return tokens


def content_tokens(text: str) -> list[str]:
    """A text's content words in order, repeats kept: lowercase English words minus stopwords,
    lightly stemmed; Chinese as character bigrams of the text between multi-character stopwords
    (no dictionary to load, so an answer never pays jieba's start-up cost)."""
    tokens: list[str] = []
    for is_cjk, piece in _pieces(text):
        if not is_cjk:
            tokens.extend(_english_words(piece))
            continue
        for word in _ZH_MULTI_STOPWORDS:
            piece = piece.replace(word, " ")
        for part in piece.split():
            tokens.extend(_bigrams(part))
    return tokens


def content_terms(text: str) -> set[str]:
    """Distinct content words of a text (``content_tokens``), used to measure how much of a
    question the evidence covers. A sentence's are kept: the same candidate sentences come back
    for question after question."""
    if len(text) <= CACHED_TERMS_CHARS:
        return set(_sentence_terms(text))
    return set(content_tokens(text))


CACHED_TERMS_CHARS = 1000  # longer texts (whole articles) are tokenised each time rather than kept


@lru_cache(maxsize=20_000)
def _sentence_terms(text: str) -> frozenset[str]:
    return frozenset(content_tokens(text))


def english_words(text: str) -> list[str]:
    """The English content words of ``text``, lowercase and lightly stemmed (no stopwords)."""
    return [w for is_cjk, piece in _pieces(text) if not is_cjk for w in _english_words(piece)]


def chinese_words(text: str, *, nouns_only: bool = False) -> list[str]:
    """The Chinese words of ``text`` (jieba, accurate mode); with ``nouns_only``, the nouns and names
    (part-of-speech tags n*, vn, eng, and words jieba's dictionary does not know)."""
    from .zh_dict import NOUN_TAGS, tagged_words, tokenizer

    pieces = [piece for is_cjk, piece in _pieces(text) if is_cjk]
    if not nouns_only:
        return [w for piece in pieces for w in tokenizer().lcut(piece) if w.strip()]
    return [w for piece in pieces for w, tag in tagged_words(piece) if tag.startswith(NOUN_TAGS) and w.strip()]


def _english_words(piece: str) -> list[str]:
    return [_stem(w) for w in _LATIN_WORD.findall(piece.lower()) if w not in EN_STOPWORDS]


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _stem(word: str) -> str:
    """A deliberately light English stemmer (plural and common verb endings)."""
    if len(word) >= 4 and not word[-1].isdigit():
        for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                return word[: -len(suffix)] + repl
    return word


def clip_question(question: str, max_chars: int) -> tuple[str, bool]:
    """Normalise whitespace and cut an over-long question; returns (text, was_cut)."""
    text = " ".join(question.split())
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars].rstrip(), True
