"""The weekly digest as data: a pure function of (articles, question log, week, settings).

``build_digest`` reads nothing and talks to nothing; ``bot.digest.sources`` gathers its inputs
(corpus, index vectors, question log) and ``bot.digest.render`` turns the result into Block Kit.
Every quoted sentence is verbatim article text (``Article.text[start:end]``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

import numpy as np

from bot.config import DigestSettings
from bot.digest.model import (
    ArticleVectors,
    AskedQuestion,
    DatedArticle,
    Digest,
    KeyPoint,
    LoggedQuestion,
    NewArticle,
)
from bot.digest.rank import (
    Matrix,
    group_centroids,
    key_points,
    most_central_per_group,
    normalise_rows,
    tfidf_matrix,
)
from bot.digest.schedule import Period, week_window
from bot.digest.stories import StoryInput, group_stories
from retrieval.answer import is_heading
from retrieval.glossary import Glossary
from retrieval.text import detect_language, sentence_spans

MAX_SENTENCES_PER_ARTICLE = 80  # candidates per article (the lead of a long article is enough)
MIN_KEY_POINTS, MAX_KEY_POINTS = 3, 5
TOP_QUESTIONS = 5
MAX_UNANSWERED = 10
_QUESTION_END = "?？!！.。 \t"


def build_digest(
    articles: Sequence[DatedArticle],
    questions: Sequence[LoggedQuestion],
    week: Period,
    settings: DigestSettings,
    *,
    vectors: Mapping[str, ArticleVectors] | None = None,
    glossary: Glossary | None = None,
) -> Digest:
    """The digest of ``week`` (or a day): its new articles (newest first) with their most central
    sentence, grouped into stories (``bot.digest.stories``; ``glossary`` names the companies), 3-5
    key points across them, and the period's most frequent and unanswered questions."""
    start, end = week_window(week, settings)
    fresh = sorted((a for a in articles if start <= a.added_at < end), key=lambda a: (-a.added_at.timestamp(), a.article.path))
    texts, groups, method, matrix = _sentences(fresh, vectors or {})
    centroids = group_centroids(matrix, groups, len(fresh)) if len(texts) else []
    best = most_central_per_group(matrix, groups, centroids) if len(texts) else [None] * len(fresh)
    new = tuple(
        NewArticle(
            n=i + 1, title=d.article.title, url=d.article.url, outlet=d.article.outlet,
            date=_display_date(d, settings.tz), language=d.article.language, path=d.article.path,
            sentence=texts[b] if b is not None else "",
        )
        for i, (d, b) in enumerate(zip(fresh, best, strict=True))
    )
    k = min(MAX_KEY_POINTS, max(len(fresh), MIN_KEY_POINTS))
    points = key_points(matrix, groups, centroids, k=k) if len(texts) else []
    key = tuple(
        KeyPoint(text=texts[rows[0]], refs=tuple(sorted({int(groups[r]) + 1 for r in rows})), language=detect_language(texts[rows[0]]))
        for rows in points
    )
    stories = group_stories([StoryInput(a, d.article.text) for a, d in zip(new, fresh, strict=True)],
                            glossary or Glossary(), _whole_vectors(fresh, vectors or {}))
    asked = [q for q in questions if start <= q.asked_at < end]
    top, unanswered = _question_summary(asked)
    return Digest(
        week=week, start=start, end=end, timezone=settings.timezone, language=settings.language,
        articles=new, key_points=key, top_questions=top, unanswered=unanswered, n_questions=len(asked),
        method=method if len(texts) else "none", stories=stories,
    )


def _whole_vectors(fresh: Sequence[DatedArticle], vectors: Mapping[str, ArticleVectors]) -> np.ndarray | None:
    """Unit whole-article vectors of ``fresh``, when the index has current ones for every article."""
    found = [vectors.get(d.article.path) for d in fresh]
    if not fresh or any(v is None or v.whole is None or v.content_hash != d.article.content_hash
                        for v, d in zip(found, fresh, strict=True)):
        return None
    return normalise_rows(np.vstack([v.whole for v in found if v is not None and v.whole is not None]))


def quotable_spans(text: str) -> list[tuple[int, int]]:
    """Sentences worth quoting: not headings, bylines or fragments."""
    return [(a, b) for a, b in sentence_spans(text) if not is_heading(text[a:b])][:MAX_SENTENCES_PER_ARTICLE]


def _sentences(
    fresh: Sequence[DatedArticle], vectors: Mapping[str, ArticleVectors]
) -> tuple[list[str], np.ndarray, str, Matrix]:
    """Candidate sentences of every new article, their article number, and their matrix: index
    vectors when every article has current ones, else TF-IDF."""
    texts: list[str] = []
    groups: list[int] = []
    rows: list[np.ndarray] = []
    use_vectors = bool(fresh) and all(
        (v := vectors.get(d.article.path)) is not None and v.content_hash == d.article.content_hash for d in fresh
    )
    for g, d in enumerate(fresh):
        text = d.article.text
        if use_vectors:
            v = vectors[d.article.path]
            keep = [i for i, (a, b) in enumerate(v.spans) if not is_heading(text[a:b])][:MAX_SENTENCES_PER_ARTICLE]
            texts += [text[v.spans[i][0] : v.spans[i][1]] for i in keep]
            rows.append(v.vectors[keep])
            groups += [g] * len(keep)
        else:
            spans = quotable_spans(text)
            texts += [text[a:b] for a, b in spans]
            groups += [g] * len(spans)
    group_arr = np.asarray(groups, dtype=np.int64)
    if use_vectors:
        dense = np.vstack(rows) if rows else np.zeros((0, 1), np.float32)
        return texts, group_arr, "vectors", normalise_rows(dense)
    return texts, group_arr, "tfidf", tfidf_matrix(texts)


def _display_date(d: DatedArticle, tz: tzinfo) -> str:
    """The publication date as the outlet printed it (its own offset), else the day it was added."""
    when = d.published_at or d.added_at.astimezone(tz)
    return when.date().isoformat()


def question_key(text: str) -> str:
    """Questions that differ only in case, spacing or final punctuation count as one."""
    return " ".join(text.casefold().split()).rstrip(_QUESTION_END)


def _question_summary(asked: Sequence[LoggedQuestion]) -> tuple[tuple[AskedQuestion, ...], tuple[AskedQuestion, ...]]:
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    first: dict[str, datetime] = {}
    last: dict[str, LoggedQuestion] = {}
    for q in asked:
        key = question_key(q.question)
        if not key:
            continue
        counts[key] += 1
        forms.setdefault(key, Counter())[" ".join(q.question.split())] += 1
        first[key] = min(first.get(key, q.asked_at), q.asked_at)
        if key not in last or q.asked_at >= last[key].asked_at:
            last[key] = q

    def shown(key: str) -> AskedQuestion:
        return AskedQuestion(text=forms[key].most_common(1)[0][0], count=counts[key])

    order = sorted(counts, key=lambda k: (-counts[k], first[k]))
    top = tuple(shown(k) for k in order[:TOP_QUESTIONS])
    # Unanswered = its latest ask this week was refused or failed (a corpus update may have fixed it).
    unanswered = tuple(shown(k) for k in order if not last[k].answered)[:MAX_UNANSWERED]
    return top, unanswered

