"""What the corpus already holds, by URL and by text, read from the article files themselves.

The front matter is the record: ``url`` (the canonical URL) and ``aliases`` (other URLs where the
same article was found: redirects, syndicated copies). Nothing here can drift from the corpus, and
a team that versions ``corpus/`` versions the de-duplication record with it.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

from .corpus import ArticleError, iter_article_files, load_article, read_front_matter

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|spm)$", re.I)
_NOT_WORD = re.compile(r"[\W_]+")


def normalise_url(url: str) -> str:
    """Compare URLs without fragment, tracking parameters, default port, host case or trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.port and (parts.scheme, parts.port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{parts.port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower().replace("https", "http"), host, path, query, ""))


def text_fingerprint(text: str) -> str:
    """Hash of the text without case, width, spacing or punctuation differences."""
    norm = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@dataclass
class Catalog:
    corpus_dir: Path
    by_url: dict[str, str] = field(default_factory=dict)  # normalised URL -> article path
    by_text: dict[str, str] = field(default_factory=dict)  # text fingerprint -> article path
    names: set[str] = field(default_factory=set)  # file names under articles/, lower case

    @classmethod
    def load(cls, corpus_dir: Path) -> Catalog:
        catalog = cls(corpus_dir)
        for file in iter_article_files(corpus_dir):
            rel = file.relative_to(corpus_dir).as_posix()
            catalog.names.add(file.name.lower())
            try:
                article = load_article(file, rel_path=rel)
            except ArticleError:
                continue  # load_corpus warns about it
            catalog.add(rel, text=article.text, urls=[article.url, *aliases_of(file)])
        return catalog

    def add(self, path: str, *, text: str, urls: list[str]) -> None:
        self.by_text.setdefault(text_fingerprint(text), path)
        self.names.add(path.rsplit("/", 1)[-1].lower())
        for url in urls:
            if url:
                self.by_url.setdefault(normalise_url(url), path)

    def find_url(self, *urls: str) -> str | None:
        for url in urls:
            if url and (path := self.by_url.get(normalise_url(url))):
                return path
        return None

    def find_text(self, text: str) -> str | None:
        return self.by_text.get(text_fingerprint(text))


def aliases_of(file: Path) -> list[str]:
    if file.suffix.lower() not in (".md", ".markdown"):
        return []
    try:
        meta, _ = read_front_matter(file)
    except ArticleError:
        return []
    value = meta.get("aliases") or []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def record_aliases(file: Path, urls: list[str]) -> list[str]:
    """Add ``urls`` to the article's ``aliases:`` (atomically; the body is kept byte for byte).
    Returns the URLs newly recorded; a non-Markdown article cannot hold aliases (returns [])."""
    if file.suffix.lower() not in (".md", ".markdown"):
        return []
    meta, body = read_front_matter(file)
    known = {normalise_url(u) for u in [str(meta.get("url") or ""), *aliases_of(file)] if u}
    fresh = []
    for url in urls:
        if url and normalise_url(url) not in known:
            known.add(normalise_url(url))
            fresh.append(url)
    if not fresh:
        return []
    meta["aliases"] = [*aliases_of(file), *fresh]
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).strip()
    write_atomically(file, f"---\n{head}\n---\n{body}")
    return fresh


def write_atomically(file: Path, text: str) -> None:
    tmp = file.with_name(f".tmp-{os.getpid()}-{file.name}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, file)
