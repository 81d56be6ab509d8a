"""Follow RSS/Atom feeds: one round fetches each feed (conditionally), keeps items that match its
keywords, fetches the articles not yet seen and adds them in one index build.

Per-feed state (ETag, Last-Modified, ids of items already handled) lives in
``DATA_DIR/feeds.json`` and what the last round did in ``DATA_DIR/feeds_last_round.json`` (App Home
shows it): operational state, not corpus content. An item whose fetch failed
for a passing reason (timeout, 5xx) or whose indexing failed is not marked seen, so the next round
tries it again; a feed's validators are kept only when all its items were handled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .catalog import Catalog, write_atomically
from .errors import RetrievalError
from .fetch import Fetcher
from .ingest import Candidate, IngestResult, commit, failure, fetch_candidate, known_outcome
from .logsafe import loggable
from .settings import FeedSpec, RetrievalSettings

logger = logging.getLogger(__name__)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
MAX_SEEN = 5000  # item ids remembered per feed
LAST_ROUND_FILE = "feeds_last_round.json"


@dataclass
class PollResult:
    lines: list[str] = field(default_factory=list)  # one per feed event and per item, for the CLI / log
    ingest: IngestResult = field(default_factory=IngestResult)
    feed_failures: int = 0
    seconds: float = 0.0

    def say(self, line: str, *, warn: bool = False, feed_failed: bool = False) -> None:
        self.lines.append(line)
        self.feed_failures += feed_failed
        (logger.warning if warn or feed_failed else logger.info)("%s", loggable(line))


@dataclass(frozen=True)
class RoundRecord:
    """What the last completed feed round did, whichever process ran it."""

    finished_at: str  # ISO 8601, UTC
    feeds: int
    added: int
    failed: int
    feed_failures: int


@dataclass
class _Item:
    feed: FeedSpec
    item_id: str
    link: str
    published: str


def poll_feeds(settings: RetrievalSettings, *, feeds: tuple[FeedSpec, ...] | None = None,
               fetcher: Fetcher | None = None, embeddings: Any = None) -> PollResult:
    """One round over ``feeds`` (default: the FEEDS setting). Never raises for a bad feed or page."""
    t0 = time.perf_counter()
    result = PollResult()
    feeds = settings.ingest.feeds if feeds is None else feeds
    if not feeds:
        result.say("no feeds configured (set FEEDS)")
        return result
    with _poll_lock(settings.data_dir) as got_it:
        if not got_it:
            result.say("another feed poll is running; this round is skipped")
            return result
        own = fetcher is None
        fetch = fetcher or Fetcher(settings.ingest)
        try:
            _round(settings, feeds, fetch, embeddings, result)
        finally:
            if own:
                fetch.close()
        _save_round(settings.data_dir, RoundRecord(
            finished_at=datetime.now(UTC).replace(microsecond=0).isoformat(), feeds=len(feeds),
            added=len(result.ingest.added), failed=len(result.ingest.failed), feed_failures=result.feed_failures))
    result.seconds = time.perf_counter() - t0
    return result


def last_round(settings: RetrievalSettings) -> RoundRecord | None:
    """The last completed round, or None when none ran (or its record is unreadable)."""
    try:
        raw = json.loads((settings.data_dir / LAST_ROUND_FILE).read_text(encoding="utf-8"))
        return RoundRecord(**{f: raw[f] for f in RoundRecord.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_round(data_dir: Path, record: RoundRecord) -> None:
    try:
        write_atomically(data_dir / LAST_ROUND_FILE, json.dumps(asdict(record)))
    except OSError as err:  # the round itself went fine; only its summary is lost
        logger.warning("could not record the feed round: %s", loggable(err))


def _round(settings: RetrievalSettings, feeds: tuple[FeedSpec, ...], fetch: Fetcher, embeddings: Any,
           result: PollResult) -> None:
    state_path = settings.data_dir / "feeds.json"
    state = _load_state(state_path)
    catalog = Catalog.load(settings.corpus_dir)
    validators: dict[str, dict[str, str]] = {}
    items: list[_Item] = []
    for feed in feeds:
        entry = state.setdefault(feed.url, {"etag": "", "last_modified": "", "seen": []})
        items.extend(_read_feed(feed, entry, fetch, result, validators))
    t_fetch = time.perf_counter()
    candidates: list[tuple[_Item, Candidate]] = []
    done: dict[str, list[str]] = {}  # feed url -> item ids handled for good
    unfinished: set[str] = set()  # feeds with an item to retry
    for item in items:
        known = catalog.find_url(item.link)
        if known:
            result.ingest.outcomes.append(known_outcome(item.link, known))
            done.setdefault(item.feed.url, []).append(item.item_id)
            continue
        try:
            cand = fetch_candidate(fetch, item.link, via=item.feed.url)
        except RetrievalError as err:
            out = failure(item.link, err)
            result.ingest.outcomes.append(out)
            if out.transient:
                unfinished.add(item.feed.url)
            else:
                done.setdefault(item.feed.url, []).append(item.item_id)
            continue
        if item.published and not cand.extracted.published:
            cand = replace(cand, extracted=replace(cand.extracted, published=item.published))
        candidates.append((item, cand))
    result.ingest.fetch_seconds = time.perf_counter() - t_fetch
    outcomes, result.ingest.index = commit(settings, [c for _, c in candidates], embeddings=embeddings)
    for (item, _), out in zip(candidates, outcomes, strict=True):
        result.ingest.outcomes.append(out)
        if out.ok:
            done.setdefault(item.feed.url, []).append(item.item_id)
        else:
            unfinished.add(item.feed.url)
    for out in result.ingest.outcomes:
        result.say(out.line(), warn=out.status == "failed")
    for url, entry in state.items():
        entry["seen"] = (entry["seen"] + done.get(url, []))[-MAX_SEEN:]
        if url in validators and url not in unfinished:
            entry.update(validators[url])
    _save_state(state_path, state)


def _read_feed(feed: FeedSpec, entry: dict[str, Any], fetch: Fetcher, result: PollResult,
               validators: dict[str, dict[str, str]]) -> list[_Item]:
    import feedparser

    try:
        got = fetch.get(feed.url, etag=entry["etag"], last_modified=entry["last_modified"], accept=FEED_ACCEPT)
    except RetrievalError as err:
        result.say(f"feed {feed.url}: {err}", feed_failed=True)
        return []
    if got.not_modified:
        result.say(f"feed {feed.url}: not modified since the last round")
        return []
    parsed = feedparser.parse(got.body)
    broken = parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride)
    if not parsed.get("version") or broken:  # a half-parsed feed yields half-made items: none are used
        why = " ".join(str(parsed.get("bozo_exception") or "not RSS or Atom").split())[:160]
        result.say(f"feed {feed.url}: malformed feed ({why})", feed_failed=True)
        return []
    validators[feed.url] = {"etag": got.etag, "last_modified": got.last_modified}
    items, filtered = [], 0
    seen = set(entry["seen"])
    for e in parsed.entries:
        link = str(e.get("link") or "").strip()
        item_id = str(e.get("id") or link)
        if not link or item_id in seen:
            continue
        if feed.keywords and not _matches(e, feed.keywords):
            filtered += 1
            entry["seen"].append(item_id)  # decided for good
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        items.append(_Item(feed, item_id, link, time.strftime("%Y-%m-%d", stamp) if stamp else ""))
    note = f", {filtered} without any of the keywords {', '.join(feed.keywords)}" if filtered else ""
    result.say(f"feed {feed.url}: {len(parsed.entries)} items, {len(items)} new{note}")
    return items


def _matches(entry: Any, keywords: tuple[str, ...]) -> bool:
    tags = " ".join(str(t.get("term", "")) for t in entry.get("tags", []) or [])
    haystack = " ".join([str(entry.get("title", "")), str(entry.get("summary", "")), tags]).casefold()
    return any(k.casefold() in haystack for k in keywords)


def _load_state(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        logger.warning("feed state %s is unreadable (%s); starting afresh", path, err)
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): {"etag": str(v.get("etag", "")), "last_modified": str(v.get("last_modified", "")),
                     "seen": [str(s) for s in v.get("seen", [])]} for k, v in raw.items() if isinstance(v, dict)}


def _save_state(path: Path, state: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(state, ensure_ascii=False, indent=1))


@contextlib.contextmanager
def _poll_lock(data_dir: Path) -> Iterator[bool]:
    """One feed round at a time per DATA_DIR (several replicas: the others skip the round)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".feeds.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
