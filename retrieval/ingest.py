"""Add articles by URL: fetch, extract, de-duplicate, then write the files and the index together.

``commit`` holds the index writer lock while it writes each new article under a hidden temporary
name, builds the index including it, and only then renames it into place. If the build fails, the
temporary files are removed: the corpus and the index never disagree, and a second adder (another
process) waits for the first.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .catalog import Catalog, normalise_url, record_aliases, write_atomically
from .corpus import Article, load_corpus, to_markdown
from .errors import EmbeddingError, ReasonedError, RetrievalError
from .extract import Extracted, extract
from .fetch import Fetcher, FetchError
from .index import IndexReport, build_index_from_articles, layout, writer_lock
from .logsafe import loggable
from .settings import RetrievalSettings

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,*/*;q=0.1"
MAX_SLUG = 60


@dataclass
class Outcome:
    """What happened to one URL. ``code`` and ``values`` say why it was not added, for a user
    interface to word (a ``ReasonedError``'s, or known_url | same_canonical_url | same_text |
    too_long | index_failed | embedding_failed); ``reason`` and ``line()`` are the English line for the command line and the log."""

    url: str
    status: str  # added | duplicate | alias | failed
    reason: str = ""
    path: str = ""
    title: str = ""
    published: str = ""
    transient: bool = False  # a failure worth retrying later (timeout, 5xx)
    code: str = ""
    values: dict[str, str | int] = field(default_factory=dict)
    alias_recorded: bool = False  # a duplicate's URL was recorded as an alias of ``path``

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def line(self) -> str:
        if self.status == "added":
            when = f" ({self.published})" if self.published else ""
            return f"added {self.path}: {self.title}{when}"
        return f"{'failed' if self.status == 'failed' else 'skipped'} {self.url}: {self.reason}"


@dataclass
class Candidate:
    """A fetched and extracted article not yet in the corpus."""

    url: str
    extracted: Extracted
    fetched_at: str
    via: str = ""  # the feed it came from


@dataclass
class IngestResult:
    outcomes: list[Outcome] = field(default_factory=list)
    index: IndexReport | None = None
    fetch_seconds: float = 0.0

    @property
    def added(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "added"]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def ingest_urls(settings: RetrievalSettings, urls: Iterable[str], *, fetcher: Fetcher | None = None,
                embeddings: Any = None, via: str = "", progress: Progress | None = None) -> IngestResult:
    """Fetch every URL not yet in the corpus and add the articles in one index build.
    ``progress(done, total)`` follows the embedding of the new articles' texts."""
    result = IngestResult()
    catalog = Catalog.load(settings.corpus_dir)
    own = fetcher is None
    fetch = fetcher or Fetcher(settings.ingest)
    candidates: list[Candidate] = []
    wanted = list(dict.fromkeys(u.strip() for u in urls if u.strip()))
    t0 = time.perf_counter()
    try:
        for url in wanted:
            known = catalog.find_url(url)
            if known:
                result.outcomes.append(known_outcome(url, known))
                continue
            try:
                candidates.append(fetch_candidate(fetch, url, via=via))
            except RetrievalError as err:
                result.outcomes.append(failure(url, err))
    finally:
        if own:
            fetch.close()
    result.fetch_seconds = time.perf_counter() - t0
    outcomes, result.index = commit(settings, candidates, embeddings=embeddings, progress=progress)
    order = {url: n for n, url in enumerate(wanted)}
    result.outcomes = sorted([*result.outcomes, *outcomes], key=lambda o: order.get(o.url, len(order)))
    for o in result.outcomes:
        (logger.warning if o.status == "failed" else logger.info)("%s", loggable(o.line()))
    return result


def fetch_candidate(fetcher: Fetcher, url: str, *, via: str = "") -> Candidate:
    fetched = fetcher.get(url, accept=ACCEPT)
    fetched_at = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Candidate(url=url, extracted=extract(fetched), fetched_at=fetched_at, via=via)


def known_outcome(url: str, path: str) -> Outcome:
    return Outcome(url, "duplicate", f"already in the corpus as {path}", path=path, code="known_url")


def failure(url: str, err: Exception) -> Outcome:
    reasoned = err if isinstance(err, ReasonedError) else None
    return Outcome(url, "failed", str(err), transient=isinstance(err, FetchError) and err.transient,
                   code=reasoned.code if reasoned else "", values=dict(reasoned.values) if reasoned else {})


def commit(settings: RetrievalSettings, candidates: list[Candidate], *, embeddings: Any = None,
           progress: Progress | None = None) -> tuple[list[Outcome], IndexReport | None]:
    """De-duplicate ``candidates`` against the corpus (and each other), then write and index the new
    ones together. Syndicated copies (same text, other URL) become aliases of the stored article.
    A page with more texts to embed than ``ADD_MAX_TEXTS`` is refused before anything is embedded."""
    if not candidates:
        return [], None
    articles_dir = settings.articles_dir
    articles_dir.mkdir(parents=True, exist_ok=True)
    with writer_lock(settings.index_dir):
        catalog = Catalog.load(settings.corpus_dir)  # again, under the lock: another adder may have won
        outcomes: list[Outcome] = []
        pending: dict[str, tuple[Article, dict[str, object]]] = {}
        expected = 0  # texts the new articles will have embedded
        for cand in candidates:
            ex = cand.extracted
            urls = [cand.url, ex.canonical_url]
            known = catalog.find_url(*urls)
            same_text = None if known else catalog.find_text(ex.text)
            target = known or same_text
            if target is not None:
                recorded = _alias(settings.corpus_dir, target, urls, pending)
                why = "same canonical URL as" if known else "same text as"
                note = "; URL recorded as an alias" if recorded else ""
                outcomes.append(Outcome(cand.url, "duplicate" if known else "alias", f"{why} {target}{note}",
                                        path=target, code="same_canonical_url" if known else "same_text",
                                        alias_recorded=bool(recorded)))
                continue
            path = f"articles/{_file_name(ex, cand, catalog)}"
            article = Article(path=path, title=ex.title, outlet=ex.outlet, published=ex.published,
                              language=ex.language, url=ex.canonical_url, text=ex.text)
            extra: dict[str, object] = {"author": ex.author, "fetched_at": cand.fetched_at}
            if cand.via:
                extra["feed"] = cand.via
            extra["aliases"] = [cand.url] if normalise_url(cand.url) != normalise_url(ex.canonical_url) else []
            texts = texts_to_embed(article, settings)
            if texts > settings.ingest.max_texts_per_page:
                outcomes.append(too_long(cand.url, texts, settings.ingest.max_texts_per_page))
                continue
            pending[path] = (article, extra)
            expected += texts
            catalog.add(path, text=ex.text, urls=urls)
            outcomes.append(Outcome(cand.url, "added", path=path, title=ex.title, published=ex.published))
        if not pending:
            return outcomes, None
        tell = None if progress is None else (lambda done: progress(min(done, expected), expected))
        return _write_and_index(settings, pending, outcomes, embeddings, embedded=tell)


def texts_to_embed(article: Article, settings: RetrievalSettings) -> int:
    """How many texts (chunks and sentences) indexing ``article`` embeds."""
    rows = layout([article], settings)
    return len(rows.chunks) + len(rows.sentences)


def too_long(url: str, texts: int, limit: int) -> Outcome:
    return Outcome(url, "failed", f"too long to add: {texts:,} texts to embed, more than ADD_MAX_TEXTS={limit:,}",
                   code="too_long", values={"texts": texts, "limit": limit})


def _write_and_index(settings: RetrievalSettings, pending: dict[str, tuple[Article, dict[str, object]]],
                     outcomes: list[Outcome], embeddings: Any,
                     embedded: Callable[[int], None] | None) -> tuple[list[Outcome], IndexReport | None]:
    temps: dict[str, Path] = {}
    try:
        for path, (article, extra) in pending.items():
            final = settings.corpus_dir / path
            tmp = final.with_name(f".tmp-{os.getpid()}-{final.name}")
            temps[path] = tmp
            extra = {k: v for k, v in extra.items() if v}
            write_atomically(tmp, to_markdown(article, extra))
        existing, warnings = load_corpus(settings.corpus_dir, warn=False)
        articles = sorted([*existing, *(a for a, _ in pending.values())], key=lambda a: a.path)
        report = build_index_from_articles(settings, articles, embeddings=embeddings, warnings=warnings,
                                           embedded=embedded)
        for path, tmp in temps.items():
            os.replace(tmp, settings.corpus_dir / path)
    except Exception as err:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        if isinstance(err, RetrievalError | OSError):  # expected: its message names files, so it stays in the log
            logger.warning("indexing new articles failed: %s", loggable(err))
        else:
            logger.exception("indexing new articles failed")
        kind = _failure_kind(err)
        reason = f"not added: indexing failed ({kind}); the details are in the server log"
        code = "embedding_failed" if isinstance(err, EmbeddingError) else "index_failed"
        return [Outcome(o.url, "failed", reason, code=code, values={"detail": kind}) if o.status == "added"
                else o for o in outcomes], None
    return outcomes, report


def _failure_kind(err: BaseException) -> str:
    """What went wrong, without the server paths that the messages of OS and index errors name."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror.lower()
        cause = cause.__cause__
    return "the embedding model failed" if isinstance(err, EmbeddingError) else type(err).__name__


def _alias(corpus_dir: Path, target: str, urls: list[str],
           pending: dict[str, tuple[Article, dict[str, object]]]) -> list[str]:
    """Record ``urls`` as aliases of ``target``; returns the ones that were new."""
    if target in pending:  # found twice in one round: the alias goes into the file about to be written
        article, extra = pending[target]
        aliases = extra.setdefault("aliases", [])
        assert isinstance(aliases, list)
        seen = {normalise_url(u) for u in [article.url, *aliases]}
        fresh = [u for u in dict.fromkeys(urls) if u and normalise_url(u) not in seen]
        aliases.extend(fresh)
        return fresh
    try:
        return record_aliases(corpus_dir / target, urls)
    except (OSError, RetrievalError, ValueError) as err:
        logger.warning("could not record aliases in %s: %s", target, loggable(err))
        return []


def _file_name(ex: Extracted, cand: Candidate, catalog: Catalog) -> str:
    """``<date>-<slug>.md`` from the URL's last segment (or the title); unique in the corpus."""
    day = ex.published[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", ex.published[:10]) else cand.fetched_at[:10]
    segment = unquote(urlsplit(ex.canonical_url).path.rstrip("/").rsplit("/", 1)[-1])
    segment = re.sub(r"\.(html?|php|aspx?|pdf|shtml)$", "", segment, flags=re.I)
    slug = _slug(segment) if re.search(r"[a-z]", segment, re.I) else _slug(ex.title)
    slug = slug or "article"
    name, n = f"{day}-{slug}.md", 2
    while name.lower() in catalog.names:
        name, n = f"{day}-{slug}-{n}.md", n + 1
    return name


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:MAX_SLUG].strip("-")
