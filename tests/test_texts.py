"""The words users read: one table, every key in English and Chinese with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.texts import LANGUAGES, TEXTS, answer_text, fallback_note, t
from retrieval.types import Answer, Citation, Fallback


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


# -- retrieval hands over codes, the bot words them -------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
_SENTENCE = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ ,;:]+[A-Za-z][A-Za-z'’]*){3,}")  # four words or more
_CHINESE = re.compile(r"[\u4e00-\u9fff]{2,}")
# Where retrieval may write English: for whoever runs it, not for someone reading an answer or reply.
_OPERATOR_CALLS = re.compile(
    r"^(logger\.\w+|logging\.\w+|print|warnings\.append|errors\.(append|extend)|self\.errors\.append"
    r"|\w+\.add_argument|\w+\.add_parser|\w+\.add_subparsers|\w*\.?_?db\.execute\w*|self\._db\.execute\w*"
    r"|result\.say|super\(\)\.__init__|re\.compile|re\.search|re\.match|re\.sub|re\.finditer)$"
)
# Functions whose lines are the operator's (the command line's `add` / `feeds poll` output and the
# log); Slack words the same outcomes from their codes.
_OPERATOR_FUNCTIONS = {
    "retrieval/ingest.py": {"line", "known_outcome", "commit", "too_long", "_write_and_index", "_failure_kind"},
    "retrieval/feeds.py": {"_round", "_read_feed"},
    "retrieval/corpus.py": {"article_name_problem"},  # why a file is skipped (a warning, or `add` refusing it)
    "retrieval/fetch.py": {"_too_big"},  # a FetchError's message
    "retrieval/llm.py": {"build_messages"},  # the model's prompt
    "retrieval/settings.py": {"IngestSettings"},  # the User-Agent header
    "retrieval/cli.py": {"add_files"},  # `industry-qa add FILE`'s lines
    "retrieval/index/build.py": {"_previous"},  # `industry-qa index` warns that it repaired the index
    "retrieval/index/generations.py": {"damage"},  # ... and says what was damaged
    "retrieval/progress.py": {"report"},  # `industry-qa index` progress on stderr
}
# the model's instructions; words to skip or to match (regular expressions read text, they say nothing)
_OPERATOR_CONSTANTS = re.compile(r"^[A-Z_]*(PROMPT|STOPWORDS|ASKING|COMMON|NOT_NAMES)$")


def _literals(path: Path) -> Iterator[tuple[ast.Constant, list[ast.AST]]]:
    """Every string literal that is not a docstring, with the nodes enclosing it (innermost first)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    def visit(node: ast.AST, enclosing: list[ast.AST]) -> Iterator[tuple[ast.Constant, list[ast.AST]]]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node, enclosing
        for child in ast.iter_child_nodes(node):
            yield from visit(child, [node, *enclosing])
    yield from visit(tree, [])


def _for_the_operator(rel: str, enclosing: list[ast.AST]) -> bool:
    for node in enclosing:
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, ast.Call) and _OPERATOR_CALLS.match(ast.unparse(node.func)):
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if _OPERATOR_CONSTANTS.match(ast.unparse(target)):
                return True
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            return node.name in _OPERATOR_FUNCTIONS.get(rel, set())
    return False


def test_retrieval_writes_no_sentence_for_readers() -> None:
    """Answers, refusals, notes and replies are worded in bot/texts; retrieval returns codes and data."""
    found = []
    for path in sorted((ROOT / "retrieval").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for literal, enclosing in _literals(path):
            text = literal.value
            if (_SENTENCE.search(text) or _CHINESE.search(text)) and not _for_the_operator(rel, enclosing):
                found.append(f"{rel}:{literal.lineno}: {text[:60]!r}")
    assert found == []


def test_the_scan_finds_a_sentence_meant_for_a_reader(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('NOTE = {"en": "The model was not used, showing excerpts.", "zh": "以下为原文摘录"}\n'
                      'def f() -> None:\n    raise ValueError("this one is for the operator only")\n', encoding="utf-8")
    flagged = [lit.value for lit, enclosing in _literals(sample) if not _for_the_operator("x.py", enclosing)
               and (_SENTENCE.search(lit.value) or _CHINESE.search(lit.value))]
    assert flagged == ["The model was not used, showing excerpts.", "以下为原文摘录"]


def _codes(path: str, constructor: str) -> set[str]:
    """The string codes passed first to ``constructor(...)`` in a retrieval module."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ast.unparse(node.func) == constructor
            and node.args and isinstance(node.args[0], ast.Constant)}


def test_every_fallback_and_refusal_code_has_words() -> None:
    fallbacks = _codes("retrieval/llm.py", "Fallback")
    assert {"timeout", "rate_limited", "server_error", "bad_citation", "prompt_leak", "not_in_corpus"} <= fallbacks
    assert all(f"fallback_{code}" in TEXTS for code in fallbacks), fallbacks - {k[9:] for k in TEXTS}
    for code in ("no_evidence", "empty_corpus"):
        assert f"refusal_{code}" in TEXTS


def _cited(n: int, excerpt: str, *, outlet: str = "Sohu Caijing (搜狐财经)", published: str = "2025-12-11T13:45:00+08:00") -> Citation:
    return Citation(n, "Title", outlet, published, "", excerpt, "a.md", 0, len(excerpt))


@pytest.mark.parametrize(("answer", "text"), [
    (Answer("q", False, "en", [_cited(1, "MiniMax  may list\nin January."), _cited(2, "b")]),
     "According to Sohu Caijing (搜狐财经), 11 Dec 2025: MiniMax may list in January. [1] [2]"),
    (Answer("q", False, "zh", [_cited(1, "MiniMax 将于一月上市。", outlet="", published="")]), "据Title：MiniMax 将于一月上市。 [1]"),
    (Answer("q", False, "en", [_cited(1, "x")], mode="llm", model_text="The model's words [1]."), "The model's words [1]."),
    (Answer("q", True, "en", refusal="no_evidence", corpus_articles=1),
     "I could not find this in the corpus (1 article). Nothing in it answers the question, so I am not citing "
     "anything. If the corpus should cover it, try naming the company, market or event."),
    (Answer("q", True, "zh", refusal="no_evidence", corpus_articles=5),
     "语料库（共 5 篇文章）中没有找到能回答这个问题的内容，因此不引用任何文章。如果语料应当涉及此事，可以写明公司、市场或事件再问。"),
    (Answer("q", True, "en", refusal="empty_corpus"),
     "The corpus is empty, so there is nothing to answer from. Add articles and run `industry-qa index`."),
], ids=["extractive-en", "extractive-zh-title", "model", "refused-en", "refused-zh", "empty-corpus"])
def test_answer_text_words_an_answer_from_its_parts(answer: Answer, text: str) -> None:
    assert answer_text(answer) == text


def test_fallback_note_in_both_languages() -> None:
    en = Answer("q", False, "en", [_cited(1, "x")], fallback=Fallback("server_error", status=502))
    zh = Answer("q", False, "zh", [_cited(1, "x")], fallback=Fallback("bad_citation", cited=9, excerpts=6))
    assert fallback_note(en) == ("(The language model was not used: the language model service failed (502). "
                                 "Showing the quoted excerpts instead.)")
    assert fallback_note(zh) == "（未使用语言模型：模型引用了不存在的摘录 [9]（共 6 条）。以下为原文摘录。）"
    assert fallback_note(Answer("q", False, "en")) == ""


def _keyword_codes(path: str) -> set[str]:
    """Every ``code="..."`` passed to a call in a retrieval module (the reasons its errors and
    outcomes hand over)."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords
            if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)}


def test_every_reason_an_add_can_fail_for_has_words() -> None:
    codes = set().union(*(_keyword_codes(p) for p in ("retrieval/fetch.py", "retrieval/extract.py", "retrieval/ingest.py")))
    codes |= {"private_address", "same_text", "index_failed", "embedding_failed"}  # passed by name or expression
    assert {"timeout", "gone", "no_text", "known_url"} <= codes
    missing = sorted(code for code in codes if f"add_reason_{code}" not in TEXTS)
    assert missing == []
