"""Main text and metadata of a fetched page (trafilatura) or PDF (pypdf).

Anything that is not an article (an image, JSON, a paywall teaser, an empty PDF) raises
``ExtractError`` with a one-line reason; nothing here touches the network.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ReasonedError
from .fetch import Fetched
from .text import detect_language

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
MAX_PDF_PAGES = 60
# Fewer "words" than this (a CJK character counts as one) is a teaser, not an article.
MIN_ARTICLE_WORDS = 40
_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+")


class ExtractError(ReasonedError):
    """The response is not a usable article; the message and the code say why."""


@dataclass(frozen=True)
class Extracted:
    title: str
    outlet: str
    author: str
    published: str  # YYYY-MM-DD when known
    language: str
    canonical_url: str
    text: str


def extract(fetched: Fetched) -> Extracted:
    kind = _kind(fetched)
    if kind == "pdf":
        return _from_pdf(fetched)
    if kind == "html":
        return _from_html(fetched)
    media = fetched.media_type or "unknown"
    raise ExtractError(f"not an article page (content type {media})", code="not_article", values={"media_type": media})


def word_count(text: str) -> int:
    return len(_WORDS.findall(text))


def _kind(fetched: Fetched) -> str:
    if fetched.media_type in PDF_TYPES:
        return "pdf"
    if fetched.media_type in HTML_TYPES:
        return "html"
    if fetched.media_type in ("", "application/octet-stream"):  # sniff when the server does not say
        head = fetched.body[:1024].lstrip().lower()
        if head.startswith(b"%pdf-"):
            return "pdf"
        if head.startswith((b"<!doctype html", b"<html")):
            return "html"
    return "other"


def _from_html(fetched: Fetched) -> Extracted:
    import trafilatura

    doc = trafilatura.bare_extraction(
        _html_text(fetched), url=fetched.final_url, with_metadata=True, favor_precision=True,
        include_comments=False, include_tables=False, include_images=False,
    )
    text = _paragraphs(getattr(doc, "text", None) or "")
    if word_count(text) < MIN_ARTICLE_WORDS:
        raise ExtractError("no article text found (a paywall, a login wall, or not an article page)", code="no_text")
    title = _clean(getattr(doc, "title", None)) or _first_line(text)
    return Extracted(
        title=title,
        outlet=_clean(getattr(doc, "sitename", None)) or urlsplit(fetched.final_url).netloc,
        author=_clean(getattr(doc, "author", None)),
        published=_clean(getattr(doc, "date", None))[:10],
        language=detect_language(text),
        canonical_url=_canonical(getattr(doc, "url", None), fetched.final_url),
        text=_drop_leading_title(text, title),
    )


def _html_text(fetched: Fetched) -> str | bytes:
    """The page decoded with the charset its HTTP header names (which wins over a <meta> tag and
    over guessing, as in browsers; a byte order mark wins over both); the bytes themselves, for
    trafilatura to sniff, when the header names none or one that does not decode them."""
    body = fetched.body
    if not fetched.charset or body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body
    try:
        return body.decode(fetched.charset)
    except (LookupError, UnicodeDecodeError):
        return body


def _from_pdf(fetched: Fetched) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(fetched.body))
        pages = [page.extract_text() or "" for page in reader.pages[:MAX_PDF_PAGES]]
        meta = reader.metadata
    except (PyPdfError, ValueError, KeyError, OSError) as err:
        name = type(err).__name__
        raise ExtractError(f"unreadable PDF ({name})", code="bad_pdf", values={"error": name}) from None
    text = "\n\n".join(_paragraphs(p) for p in pages if p.strip())
    if word_count(text) < MIN_ARTICLE_WORDS:
        raise ExtractError("no text found in the PDF (scanned images, or empty)", code="empty_pdf")
    title = _clean(meta.title if meta else None) or _first_line(text)
    published = ""
    if meta is not None and meta.creation_date is not None:
        published = meta.creation_date.date().isoformat()
    return Extracted(
        title=title,
        outlet=urlsplit(fetched.final_url).netloc,
        author=_clean(meta.author if meta else None),
        published=published,
        language=detect_language(text),
        canonical_url=fetched.final_url,
        text=text,
    )


def _canonical(declared: str | None, final_url: str) -> str:
    """The page's own canonical URL when it is an absolute http(s) URL, else where we ended up."""
    declared = (declared or "").strip()
    if urlsplit(declared).scheme in ("http", "https") and urlsplit(declared).netloc:
        return declared
    return final_url


def _paragraphs(text: str) -> str:
    lines = (" ".join(line.split()) for line in text.replace("\r", "\n").split("\n"))
    return "\n\n".join(line for line in lines if line)


def _drop_leading_title(text: str, title: str) -> str:
    """trafilatura repeats the headline as the first line; the title lives in the front matter."""
    first, _, rest = text.partition("\n\n")
    return rest if title and first.strip() == title and word_count(rest) >= MIN_ARTICLE_WORDS else text


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0][:200]


def _clean(value: object) -> str:
    return " ".join(str(value).split()) if value else ""
