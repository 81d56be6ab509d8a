"""A loopback web site for the ingestion tests: fixture pages (English, Chinese), a feed with ETag
support, a PDF, a redirect, a slow page, a 404, a 410, an oversized page and robots.txt.

Everything it serves was written for the tests and says so; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

WEB = Path(__file__).resolve().parent / "fixtures" / "web"
ROBOTS = "User-agent: *\nDisallow: /private/\n"
# The fixture site is on loopback, which the fetcher refuses unless FETCH_ALLOW_HOSTS opens it.
LOOPBACK_ALLOWED = ("127.0.0.1",)


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunked: bool = False  # no Content-Length: the size cap must work while streaming


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FixtureWeb:
    """``add(path, Page)``; every request is recorded with its headers in ``requests``."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        web = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                web._serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, page: Page) -> None:
        with self._lock:
            self.pages[path] = page

    def hits(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FixtureWeb:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        with self._lock:
            self.requests.append(Seen(path, {k.lower(): v for k, v in req.headers.items()}))
            page = self.pages.get(path)
        if page is None:
            page = Page(b"<html><body><p>Not found</p></body></html>", status=404)
        if page.delay_s:
            time.sleep(page.delay_s)
        etag, modified = page.headers.get("ETag"), page.headers.get("Last-Modified")
        unchanged = (etag and req.headers.get("If-None-Match") == etag) or (
            modified and req.headers.get("If-Modified-Since") == modified)
        status = 304 if unchanged else page.status
        body = b"" if status == 304 else page.body
        try:
            req.send_response(status)
            req.send_header("Content-Type", page.content_type)
            for k, v in page.headers.items():
                req.send_header(k, v)
            if page.chunked:
                req.send_header("Transfer-Encoding", "chunked")
                req.end_headers()
                for i in range(0, len(body), 4096):
                    part = body[i:i + 4096]
                    req.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                req.wfile.write(b"0\r\n\r\n")
            else:
                req.send_header("Content-Length", str(len(body)))
                req.end_headers()
                req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (size cap, timeout)
            pass


def fixture_html(name: str, base: str) -> bytes:
    return (WEB / f"{name}.html").read_text(encoding="utf-8").replace("{base}", base).encode("utf-8")


def article_html(title: str, paragraphs: list[str], *, published: str = "2025-12-20", canonical: str = "") -> bytes:
    """A small article page (test fixture) with the metadata a news site puts in its head."""
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        f'<!doctype html><!-- test fixture, not real news --><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><meta property=\"og:site_name\" content=\"Fixture Wire\">"
        f'<meta property="article:published_time" content="{published}">{link}</head>'
        f"<body><nav><a href=\"/\">Home</a></nav><article><h1>{escape(title)}</h1>{body}</article>"
        f"<footer>Fixture Wire</footer></body></html>"
    ).encode()


def rss(items: list[tuple[str, str, str]], *, title: str = "Fixture Wire (test feed)") -> bytes:
    """RSS 2.0 with (title, link, summary) items, newest first."""
    now = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
    entries = "".join(
        f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<description>{escape(s)}</description><pubDate>{format_datetime(now)}</pubDate></item>"
        for t, link, s in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>http://127.0.0.1/</link><description>test fixture</description>{entries}</channel></rss>").encode()


def make_pdf(title: str, lines: list[str]) -> bytes:
    """A minimal one-page PDF (Helvetica text) with Title/Author/CreationDate metadata."""
    def pdf_str(s: str) -> str:
        return "(" + s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"

    stream = "BT /F1 11 Tf 72 720 Td 14 TL " + " ".join(f"{pdf_str(line)} Tj T*" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title {pdf_str(title)} /Author (Fixture Research) /CreationDate (D:20251217090000Z) >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{obj}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n" + "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


PDF_LINES = [
    "This PDF is a test fixture for industry-qa; it is not a real report.",
    "Fixture Research estimates that Chinese AI chip shipments grew 40 percent in 2025.",
    "Domestic accelerators took a larger share of new data centre orders than imported ones.",
    "The report expects the growth to continue next year as cloud providers expand capacity.",
]


def standard_site(web: FixtureWeb) -> FixtureWeb:
    base = web.base
    web.add("/robots.txt", Page(ROBOTS.encode(), content_type="text/plain"))
    for name in ("zhipu-hearing-fixture", "moonshot-funding-fixture", "paywall-fixture"):
        web.add(f"/news/{name}", Page(fixture_html(name, base)))
    # the same article re-published elsewhere without a canonical link: a syndicated copy
    zhipu = fixture_html("zhipu-hearing-fixture", base).decode()
    copy = zhipu.replace(f'<link rel="canonical" href="{base}/news/zhipu-hearing-fixture">', "")
    copy = copy.replace("Fixture Wire", "Partner Fixture Daily").replace("<nav>", "<nav><a href=\"/partner\">Partner</a>")
    web.add("/partner/zhipu-copy", Page(copy.encode()))
    # a mobile version with its own wording that names the original as canonical
    amp = article_html("Zhipu passes hearing (mobile)", [
        "This page is a test fixture for industry-qa; it is not real news.",
        "Mobile edition. Zhipu AI has passed its Hong Kong listing hearing, a filing showed on Friday, and the "
        "developer of large language models will price its shares the week after, bankers said.",
    ], published="2025-12-19", canonical=f"{base}/news/zhipu-hearing-fixture")
    web.add("/amp/zhipu", Page(amp))
    web.add("/old/zhipu", Page(b"", status=301, headers={"Location": "/news/zhipu-hearing-fixture"}))
    web.add("/loop", Page(b"", status=302, headers={"Location": "/loop"}))
    web.add("/slow", Page(fixture_html("zhipu-hearing-fixture", base), delay_s=3.0))
    web.add("/gone", Page(b"<html><body>Removed</body></html>", status=410))
    web.add("/logo.png", Page(b"\x89PNG\r\n\x1a\n" + b"\0" * 200, content_type="image/png"))
    big = article_html("Oversized fixture page", ["padding " * 4000])
    web.add("/big", Page(big))
    web.add("/big-streamed", Page(big, chunked=True))
    web.add("/private/memo", Page(fixture_html("zhipu-hearing-fixture", base)))
    web.add("/reports/ai-chips-fixture.pdf", Page(make_pdf("AI chip shipments 2025 (fixture)", PDF_LINES),
                                                  content_type="application/pdf"))
    web.add("/broken-feed.xml", Page(b"<rss><channel><item><title>unterminated", content_type="application/rss+xml"))
    return web


def serve_standard_site() -> Iterator[FixtureWeb]:
    """Body of a test module's ``web`` fixture: ``yield from serve_standard_site()``."""
    site = standard_site(FixtureWeb().start())
    try:
        yield site
    finally:
        site.stop()


class TrickleServer:
    """Answers every connection with a status line one byte at a time, each byte well inside the
    per-read timeout: only a deadline on the whole fetch stops it."""

    def __init__(self, *, every_s: float = 0.25, total_s: float = 8.0) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.every_s, self.total_s = every_s, total_s
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        line = b"HTTP/1.1 200 OK" + b" " * 200
        with conn, contextlib.suppress(OSError):
            for byte in line[: int(self.total_s / self.every_s)]:
                conn.sendall(bytes([byte]))
                time.sleep(self.every_s)


def serve_trickle() -> Iterator[TrickleServer]:
    """Body of a ``trickle`` fixture: ``yield from serve_trickle()``."""
    server = TrickleServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.sock.close()
