"""The digest's records: what goes in (dated articles, logged questions, sentence vectors) and
what comes out (a ``Digest``), shared by the builder, its sources and its renderers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bot.digest.schedule import Period
from retrieval.corpus import Article


@dataclass(frozen=True)
class DatedArticle:
    """An article and the moment it counts as new: ``fetched_at``, else ``published``, else mtime."""

    article: Article
    added_at: datetime  # aware
    published_at: datetime | None = None


@dataclass(frozen=True)
class LoggedQuestion:
    question: str
    asked_at: datetime  # aware
    answered: bool  # False when the bot refused or failed


@dataclass(frozen=True)
class ArticleVectors:
    """Sentence vectors of one indexed article (language-centred, any norm), keyed by span."""

    content_hash: str
    spans: tuple[tuple[int, int], ...]
    vectors: np.ndarray
    whole: np.ndarray | None = None  # the whole article, centred on its language (stories)


@dataclass(frozen=True)
class NewArticle:
    n: int  # citation number
    title: str
    url: str
    outlet: str
    date: str  # YYYY-MM-DD
    language: str
    path: str
    sentence: str  # verbatim; "" when the article has no quotable sentence


@dataclass(frozen=True)
class KeyPoint:
    text: str  # verbatim sentence of article ``refs[0]``
    refs: tuple[int, ...]  # citation numbers: the source, then articles saying the same
    language: str


@dataclass(frozen=True)
class Story:
    """One event of the period: its newest development (a verbatim sentence, or the title) and
    every article that tells it, newest first."""

    text: str
    refs: tuple[int, ...]  # NewArticle numbers
    language: str
    date: str  # of the newest article


@dataclass(frozen=True)
class AskedQuestion:
    text: str
    count: int


@dataclass(frozen=True)
class Digest:
    week: Period  # an IsoWeek, or a Day for a daily digest
    start: datetime  # window, UTC, [start, end)
    end: datetime
    timezone: str
    language: str  # framing language
    articles: tuple[NewArticle, ...]
    key_points: tuple[KeyPoint, ...]
    top_questions: tuple[AskedQuestion, ...]
    unanswered: tuple[AskedQuestion, ...]
    n_questions: int
    method: str  # "vectors", "tfidf" or "none": how the key points were ranked
    stories: tuple[Story, ...] = ()  # newest first
