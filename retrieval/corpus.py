"""Load articles from the corpus folder: Markdown with front matter, plain text and HTML.

A file that cannot be used (unreadable, empty, not UTF-8, bad front matter) is skipped with a
one-line warning naming the file and the reason; the rest still load.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import yaml

from .logsafe import loggable
from .text import detect_language

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
MAX_ARTICLE_BYTES = 5_000_000
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?", re.S)


@dataclass(frozen=True)
class Article:
    """One article. ``text`` is the body exactly as indexed; citation offsets point into it."""

    path: str  # relative to the corpus folder, with forward slashes: the article's id
    title: str
    outlet: str
    published: str
    language: str
    url: str
    text: str
    # When the URL ingester fetched it (front matter); the digest's "new this week". Not indexed,
    # so it is not part of ``content_hash``: re-fetching unchanged text re-embeds nothing.
    fetched_at: str = ""

    @property
    def content_hash(self) -> str:
        meta = "\x1f".join([self.title, self.outlet, self.published, self.language, self.url])
        return hashlib.sha256((meta + "\x1e" + self.text).encode("utf-8")).hexdigest()


class ArticleError(ValueError):
    """An article file that cannot be used; the message says why."""


def load_corpus(corpus_dir: Path, *, warn: bool = True) -> tuple[list[Article], list[str]]:
    """Every usable article under ``corpus_dir/articles`` (sorted by path) and the skip warnings."""
    articles: list[Article] = []
    warnings: list[str] = []
    outside: list[str] = []
    files = iter_article_files(corpus_dir, outside=outside)
    for rel in outside:
        warnings.append(f"skipped {rel}: a link to a file outside the corpus")
    for file in files:
        rel = file.relative_to(corpus_dir).as_posix()
        try:
            articles.append(load_article(file, rel_path=rel))
        except ArticleError as err:
            warnings.append(f"skipped {rel}: {err}")
    if warn:
        for message in warnings:
            logger.warning("%s", loggable(message))
    return articles, warnings


def article_name_problem(name: str) -> str | None:
    """Why the corpus loader passes over a file of this name, or None when it reads it: the one rule
    for the loader and for ``industry-qa add``, which must not say "added" about a file never loaded."""
    if name.lower() == "readme.md":
        return "README.md is the corpus's own notes, not an article"
    if name.startswith((".", "_")):
        return "names starting with '_' or '.' are not loaded"
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return f"not a corpus file type ({', '.join(SUPPORTED_SUFFIXES)})"
    return None


def check_article_name(name: str) -> None:
    """``ArticleError`` saying why, when the loader would pass over a file of this name."""
    problem = article_name_problem(name)
    if problem:
        raise ArticleError(problem)


def iter_article_files(corpus_dir: Path, *, outside: list[str] | None = None) -> list[Path]:
    """The files under ``corpus_dir/articles`` that the loader reads, sorted: names that
    ``article_name_problem`` accepts, and only files that stay inside the corpus once links are
    resolved. A link to a file elsewhere (``/etc/passwd``) is not followed: its corpus path is
    appended to ``outside``. Linked folders are not descended into."""
    root = corpus_dir / "articles"
    if not root.is_dir():
        return []
    homes = (corpus_dir.resolve(), root.resolve())  # the articles folder may itself live elsewhere
    files = []
    for path in sorted(root.rglob("*")):
        if article_name_problem(path.name) is not None or not path.is_file():
            continue
        if not any(path.resolve().is_relative_to(home) for home in homes):
            if outside is not None:
                outside.append(path.relative_to(corpus_dir).as_posix())
            continue
        files.append(path)
    return files


def load_article(file: Path, *, rel_path: str | None = None) -> Article:
    rel = rel_path or file.name
    raw = _read_text(file)
    suffix = file.suffix.lower()
    if suffix in (".md", ".markdown"):
        meta, body = _split_front_matter(raw)
    elif suffix in (".html", ".htm"):
        meta, body = html_to_article(raw)
    else:
        meta, body = {}, raw
    body = body.strip("\n\r\t \ufeff")
    if not body.strip():
        raise ArticleError("no article text")
    title = _meta_str(meta, "title") or _first_line(body) or file.stem
    return Article(
        path=rel,
        title=title,
        outlet=_meta_str(meta, "outlet") or _meta_str(meta, "source"),
        published=_meta_str(meta, "published") or _meta_str(meta, "date"),
        language=_meta_str(meta, "language") or detect_language(body),
        url=_meta_str(meta, "url"),
        text=body,
        fetched_at=_meta_str(meta, "fetched_at"),
    )


def _read_text(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as err:
        raise ArticleError(f"cannot read file ({err.strerror or err})") from None
    if not data.strip():
        raise ArticleError("file is empty")
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleError(f"file is larger than {MAX_ARTICLE_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as err:
        raise ArticleError(f"not UTF-8 text (bad byte at offset {err.start})") from None


def _split_front_matter(raw: str) -> tuple[dict[str, object], str]:
    m = _FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as err:
        line = getattr(getattr(err, "problem_mark", None), "line", None)
        where = f" (line {line + 2})" if line is not None else ""
        raise ArticleError(f"front matter is not valid YAML{where}") from None
    if not isinstance(meta, dict):
        raise ArticleError("front matter is not a key: value mapping")
    return meta, raw[m.end():]


def read_front_matter(file: Path) -> tuple[dict[str, object], str]:
    """The front matter and body of a Markdown article (``ArticleError`` when unusable)."""
    return _split_front_matter(_read_text(file))


def _meta_str(meta: dict[str, object], key: str) -> str:
    value = meta.get(key)
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat())
    return str(value).strip()


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip().lstrip("# ").strip()
    return line[:200]


def to_markdown(article: Article, extra: dict[str, object] | None = None) -> str:
    """Serialise an article as Markdown with front matter (used by ``industry-qa add``); ``extra``
    adds keys the index ignores (author, fetched_at, aliases)."""
    meta: dict[str, object] = {
        "title": article.title,
        "outlet": article.outlet,
        "published": article.published,
        "language": article.language,
        "url": article.url,
        **({"fetched_at": article.fetched_at} if article.fetched_at else {}),
        **(extra or {}),
    }
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).strip()
    return f"---\n{head}\n---\n{article.text}\n"


# ---- HTML: main text, not navigation -------------------------------------------------------

_SKIP_TAGS = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "iframe", "template", "button"}
_BLOCK_TAGS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "main", "blockquote", "tr", "pre"}


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_depth = 0
        self.scope_depth = 0  # inside <article> or <main>
        self.parts: list[str] = []
        self.scoped: list[str] = []
        self.meta: dict[str, object] = {}
        self.in_title = False
        self.title = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            mapping = {"og:title": "title", "og:site_name": "outlet", "article:published_time": "published",
                       "og:url": "url", "date": "published", "og:locale": "locale"}
            if key in mapping and a.get("content"):
                self.meta.setdefault(mapping[key], a["content"])
        elif tag == "link" and a.get("rel") == "canonical" and a.get("href"):
            self.meta.setdefault("url", a["href"])
        elif tag == "html" and a.get("lang"):
            self.meta.setdefault("lang", a["lang"])
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        elif tag in ("article", "main"):
            self.scope_depth += 1
        elif tag == "title":
            self.in_title = True
        if tag in _BLOCK_TAGS:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip_depth:
            self.skip_depth -= 1
        elif tag in ("article", "main") and self.scope_depth:
            self.scope_depth -= 1
        elif tag == "title":
            self.in_title = False
        if tag in _BLOCK_TAGS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skip_depth:
            self._emit(data)

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        if self.scope_depth:
            self.scoped.append(text)


def html_to_article(raw: str) -> tuple[dict[str, object], str]:
    """Metadata (og/meta tags, <title>) and the main text: <article>/<main> when present, else the
    page minus navigation, headers, footers, scripts and forms."""
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    parts = parser.scoped if "".join(parser.scoped).strip() else parser.parts
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    text = "\n\n".join(line for line in lines if line)
    meta = dict(parser.meta)
    if "title" not in meta and parser.title.strip():
        meta["title"] = " ".join(parser.title.split())
    if "lang" in meta:
        meta.setdefault("language", "zh" if str(meta.pop("lang")).lower().startswith("zh") else "en")
    meta.pop("locale", None)
    return meta, text
