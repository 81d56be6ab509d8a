"""Gathering the digest's inputs: dated articles, index sentence vectors, the question log.

This is the I/O half of the digest; ``bot.digest.build.build_digest`` is the pure half.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import DigestSettings
from bot.digest.build import build_digest
from bot.digest.model import ArticleVectors, DatedArticle, Digest, LoggedQuestion
from bot.digest.schedule import Period, week_window
from bot.state.protocols import QuestionLog
from retrieval.corpus import Article, load_corpus
from retrieval.errors import RetrievalError
from retrieval.glossary import load_glossary
from retrieval.settings import RetrievalSettings

if TYPE_CHECKING:
    from retrieval.index import LoadedIndex

logger = logging.getLogger(__name__)

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def parse_timestamp(value: str, tz: tzinfo) -> datetime | None:
    """ISO 8601 (with or without offset, ``Z``, date only), RFC 2822 (feeds) or 2026年11月25日;
    a time without an offset is read in ``tz``. None for empty or unreadable values."""
    text = (value or "").strip()
    if not text:
        return None
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            m = _YMD.match(text)
            if m:
                try:
                    parsed = datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                except ValueError:
                    return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def date_article(article: Article, *, file: Path, tz: tzinfo) -> DatedArticle:
    """When an article counts as new: when it was fetched into the corpus, else when it was
    published, else the file's modification time."""
    published = parse_timestamp(article.published, tz)
    added = parse_timestamp(article.fetched_at, tz) or published
    if added is None:
        try:
            added = datetime.fromtimestamp(file.stat().st_mtime, tz=UTC)
        except OSError:
            added = datetime.fromtimestamp(0, tz=UTC)
    return DatedArticle(article=article, added_at=added, published_at=published)


def load_dated_articles(corpus_dir: Path, tz: tzinfo) -> list[DatedArticle]:
    articles, _ = load_corpus(corpus_dir, warn=False)
    return [date_article(article, file=corpus_dir / article.path, tz=tz) for article in articles]


def index_vectors(index: LoadedIndex, paths: Iterable[str]) -> dict[str, ArticleVectors]:
    """Sentence vectors of the indexed articles at ``paths``, centred on their language's mean so
    that the two languages share one space (articles the index lacks are left out)."""
    out: dict[str, ArticleVectors] = {}
    for path in dict.fromkeys(paths):
        found = index.article_sentences(path)
        if found is not None:
            out[path] = ArticleVectors(content_hash=found.content_hash, spans=found.spans, vectors=found.vectors,
                                       whole=found.whole)
    return out


def load_index_vectors(settings: RetrievalSettings, paths: Iterable[str]) -> dict[str, ArticleVectors]:
    """Vectors from the live index, or {} (TF-IDF is used) when there is no usable index."""
    from retrieval.index import LoadedIndex, require_generation

    try:
        return index_vectors(LoadedIndex(require_generation(settings)), paths)
    except RetrievalError as err:
        logger.info("digest ranks sentences lexically: %s", err)
        return {}


PUBLIC_SOURCES = ("mention", "thread", "channel")  # DMs and /ask are private: never quoted in a channel post


def load_questions(log: QuestionLog, start: datetime, end: datetime) -> list[LoggedQuestion]:
    """The week's questions asked in channels (private questions stay out of the public digest)."""
    return [
        LoggedQuestion(
            question=q.record.question,
            asked_at=datetime.fromtimestamp(q.created_at, tz=UTC),
            answered=not q.record.refused and q.record.error is None,
        )
        for q in log.questions_between(start.timestamp(), end.timestamp())
        if q.record.source in PUBLIC_SOURCES
    ]


def make_digest(week: Period, *, settings: DigestSettings, retrieval: RetrievalSettings, log: QuestionLog) -> Digest:
    """The digest of ``week`` from the corpus and live index of ``retrieval`` and the question log."""
    start, end = week_window(week, settings)
    articles = load_dated_articles(retrieval.corpus_dir, settings.tz)
    fresh = [a.article.path for a in articles if start <= a.added_at < end]
    vectors = load_index_vectors(retrieval, fresh) if fresh else {}
    return build_digest(articles, load_questions(log, start, end), week, settings, vectors=vectors,
                        glossary=load_glossary(retrieval.corpus_dir))
