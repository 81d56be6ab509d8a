"""What App Home and the assistant panel show about the corpus, computed once per index generation
(an ``IndexWatcher`` listener), never when someone opens them: how many articles, the newest one,
and example questions in English and Chinese drawn from the corpus and checked to be answered.

Counting reads every article's metadata (memory-mapped, no text); examples read the text of the
newest ``NEWEST_SCANNED`` only. Examples come from the glossary's names most mentioned in them
("What's the latest on Zhipu AI?" / "智谱最近有什么进展？") and two fixed ones; each is asked once,
and only those the corpus answers are offered. That is ``MAX_CANDIDATES`` answers per generation, in the background.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.alerts.changes import Asker
from bot.alerts.generations import Arrival, Generation
from bot.logs import new_question_id, question_context
from bot.texts import LANGUAGES, t
from retrieval.glossary import NAME, Glossary, mentions
from retrieval.index import DocumentRecord
from retrieval.index.schema import DocumentMeta

logger = logging.getLogger(__name__)

NEWEST_SCANNED = 50  # articles whose names make the examples
TEXT_SCANNED = 3000  # characters of each of them
NAMES = 2  # glossary names turned into examples
MAX_CANDIDATES = 8
EXAMPLES_PER_LANGUAGE = 3
FIXED_EXAMPLES = ("example_first", "example_news")  # text keys of the questions any corpus of this kind gets


@dataclass(frozen=True)
class Newest:
    title: str
    url: str
    published: str  # YYYY-MM-DD


@dataclass(frozen=True)
class CorpusSummary:
    generation: str
    articles: int
    newest: Newest | None
    examples: dict[str, list[str]] = field(default_factory=dict)  # language -> questions the corpus answers


def newest_article(docs: Sequence[DocumentMeta]) -> Newest | None:
    dated = [d for d in docs if str(d.get("published", ""))[:10]]
    if not dated:
        return None
    d = max(dated, key=lambda d: (str(d.get("published", ""))[:10], str(d["path"])))
    return Newest(title=str(d.get("title") or d["path"]), url=str(d.get("url", "")),
                  published=str(d.get("published", ""))[:10])


def candidate_questions(docs: Sequence[DocumentRecord], glossary: Glossary) -> list[tuple[str, str]]:
    """(language, question) pairs to try: two fixed ones, then the names most mentioned in the
    newest of ``docs``."""
    newest = sorted(docs, key=lambda d: str(d.get("published", "")), reverse=True)[:NEWEST_SCANNED]
    texts = [f"{d.get('title', '')} {str(d.get('text', ''))[:TEXT_SCANNED]}" for d in newest]
    counts: Counter[int] = Counter()
    for i, group in enumerate(glossary.groups):
        if group.kind != NAME:
            continue
        counts[i] = sum(any(mentions(text, alias) for alias in group.terms) for text in texts)
    pairs = [(lang, t(key, lang)) for key in FIXED_EXAMPLES for lang in LANGUAGES]
    for i, n in counts.most_common(NAMES):
        if n == 0:
            break
        names = glossary.groups[i].terms
        chinese = next((a for a in names if any("\u4e00" <= ch <= "\u9fff" for ch in a)), names[0])
        pairs += [("en", t("example_latest", "en", name=names[0])), ("zh", t("example_latest", "zh", name=chinese))]
    return pairs[:MAX_CANDIDATES]


class HomeSummary:
    """Keeps the ``CorpusSummary`` of the live generation; App Home reads ``current``."""

    def __init__(self, *, answerer: Asker, glossary: Callable[[], Glossary]) -> None:
        self.answerer = answerer
        self.glossary = glossary
        self._current: CorpusSummary | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> CorpusSummary | None:
        with self._lock:
            return self._current

    def __call__(self, arrival: Arrival, generation: Generation) -> None:
        docs = generation.docs
        metas = [docs.meta(d) for d in range(len(docs))]  # every article's metadata, no text
        counted = CorpusSummary(generation.name, len(docs), newest_article(metas))
        with self._lock:  # the counts at once; the checked examples after them
            previous = self._current
            self._current = counted if previous is None else CorpusSummary(
                counted.generation, counted.articles, counted.newest, previous.examples)
        newest = sorted(range(len(metas)), key=lambda d: metas[d]["published"][:10], reverse=True)
        examples = self._examples([docs[d] for d in newest[:NEWEST_SCANNED]])
        with self._lock:
            self._current = CorpusSummary(counted.generation, counted.articles, counted.newest, examples)

    def _examples(self, docs: Sequence[DocumentRecord]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
        if not docs:
            return found
        for lang, question in candidate_questions(docs, self.glossary()):
            if len(found[lang]) >= EXAMPLES_PER_LANGUAGE:
                continue
            try:
                with question_context(new_question_id()):  # its log lines, like any question's, carry an id
                    answered = not self.answerer.ask(question).refused
            except Exception as err:  # an example that cannot be checked is not offered
                logger.warning("checking the example %r failed: %s", question, type(err).__name__)
                answered = False
            if answered:
                found[lang].append(question)
        return found
