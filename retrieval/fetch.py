"""HTTP for ingestion: one polite client with a deadline, a size cap, a clear User-Agent, robots.txt
and conditional requests. Every failure is a ``FetchError``: a code and values that a user interface
words, and a message that is one line for the log and the operator.

Only public addresses are fetched, at every redirect hop and for robots.txt too, and FETCH_TIMEOUT_S
bounds a whole ``get`` (robots.txt, redirects, headers and body): see ``retrieval.netguard``.
"""

from __future__ import annotations

import logging
import urllib.robotparser
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import ReasonedError
from .logsafe import loggable
from .netguard import (
    AddressPolicy,
    AddressRefused,
    GuardedTransport,
    Resolver,
    fetch_deadline,
    system_resolver,
)
from .settings import IngestSettings

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5  # for pages, and for robots.txt (RFC 9309 asks crawlers to follow at least five)
ROBOTS_MAX_BYTES = 500_000
PRIVATE_ADDRESS = "private_address"  # FetchError.code of a refused internal address
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(ReasonedError):
    """A URL that could not be fetched; ``transient`` failures (timeouts, 5xx) may succeed later."""

    def __init__(self, reason: str, *, code: str, values: Mapping[str, str | int] | None = None,
                 transient: bool = False) -> None:
        super().__init__(reason, code=code, values=values)
        self.transient = transient


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked for
    final_url: str  # after redirects
    status: int
    media_type: str  # "text/html", lower case, without parameters
    body: bytes
    etag: str = ""
    last_modified: str = ""
    charset: str = ""  # from the Content-Type header, lower case; "" when the header names none

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def check_url(url: str) -> str:
    """``url`` stripped, or a FetchError when it is not an absolute http(s) URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        shown = repr(url[:200])
        raise FetchError(f"not an http(s) URL: {shown}", code="not_http", values={"url": shown})
    try:
        httpx.URL(url)
    except httpx.InvalidURL as err:
        detail = _short(err)
        raise FetchError(f"not a valid URL ({detail})", code="bad_url", values={"detail": detail}) from None
    return url


class Fetcher:
    """Fetches pages and feeds for one ingestion run (robots.txt is cached per host for its life).
    ``resolve`` replaces DNS (tests)."""

    def __init__(self, settings: IngestSettings, *, resolve: Resolver = system_resolver) -> None:
        self.settings = settings
        self.timeout_s = settings.fetch_timeout_s
        self.max_bytes = settings.fetch_max_bytes
        self.agent_token = settings.user_agent.split("/", 1)[0].split()[0]
        self._client = httpx.Client(
            transport=GuardedTransport(AddressPolicy.allowing(settings.fetch_allow_hosts), resolve=resolve),
            timeout=httpx.Timeout(settings.fetch_timeout_s),
            headers={"User-Agent": settings.user_agent},
            follow_redirects=False,  # followed by hand: robots.txt is checked at every hop
        )
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, *, etag: str = "", last_modified: str = "", accept: str = "*/*") -> Fetched:
        """GET ``url`` following up to MAX_REDIRECTS redirects; 304 is returned, other non-2xx raise."""
        start = check_url(url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with fetch_deadline(self.timeout_s):
            current = start
            for _ in range(MAX_REDIRECTS + 1):
                self.require_allowed(current)
                status, resp_headers, body = self._request(current, headers)
                if status in _REDIRECTS and resp_headers.get("location"):
                    current = check_url(urljoin(current, resp_headers["location"]))
                    continue
                if status == 304:
                    return Fetched(start, current, status, "", b"", etag, last_modified)
                _raise_for_status(status)
                media, charset = _content_type(resp_headers.get("content-type", ""))
                return Fetched(start, current, status, media, body, resp_headers.get("etag", ""),
                               resp_headers.get("last-modified", ""), charset)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects", code="too_many_redirects",
                         values={"limit": MAX_REDIRECTS})

    def require_allowed(self, url: str) -> None:
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}"
        if host not in self._robots:
            self._robots[host] = self._load_robots(host)
        rules = self._robots[host]
        if rules is None:
            raise FetchError(f"robots.txt of {parts.netloc} could not be read, so the site is not fetched",
                             code="robots_unreadable", values={"host": parts.netloc}, transient=True)
        if not rules.can_fetch(self.agent_token, url):
            path = parts.path or "/"
            raise FetchError(f"robots.txt of {parts.netloc} disallows fetching {path}", code="robots_disallowed",
                             values={"host": parts.netloc, "path": path})

    def _load_robots(self, host: str) -> urllib.robotparser.RobotFileParser | None:
        """The rules for ``host`` (RFC 9309): redirects are followed, up to MAX_REDIRECTS, through the
        same address check as pages; 4xx or too many redirects mean no rules, 5xx means none can be read."""
        rules = urllib.robotparser.RobotFileParser(host + "/robots.txt")
        url = host + "/robots.txt"
        # a connection failure or timeout propagates (and is not cached): the page would fail alike
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = self._request(url, {"Accept": "text/plain"}, limit=ROBOTS_MAX_BYTES)
            if status in _REDIRECTS and headers.get("location"):
                url = check_url(urljoin(url, headers["location"]))
                continue
            break
        else:
            status = 404  # "unavailable" (RFC 9309, 2.3.1.2)
        if 300 <= status < 500:  # unavailable: everything is allowed
            rules.parse([])
        elif status >= 500:
            logger.warning("robots.txt of %s: HTTP %d", loggable(host), status)
            return None
        else:
            rules.parse(body.decode("utf-8", errors="replace").splitlines())
        return rules

    def _request(self, url: str, headers: dict[str, str], limit: int | None = None) -> tuple[int, dict[str, str], bytes]:
        cap = limit or self.max_bytes
        try:
            with self._client.stream("GET", url, headers=headers) as resp:
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise _too_big(cap)
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > cap:
                        raise _too_big(cap)
                    chunks.append(chunk)
                return resp.status_code, {k.lower(): v for k, v in resp.headers.items()}, b"".join(chunks)
        except AddressRefused as err:
            logger.warning("refused to fetch %s: %s", loggable(url), loggable(err))
            raise FetchError("refused: that address is on a private or local network, which is not fetched "
                             "(FETCH_ALLOW_HOSTS can allow an intranet host)", code=PRIVATE_ADDRESS) from None
        except httpx.TimeoutException:
            seconds = f"{self.timeout_s:g}"
            raise FetchError(f"timed out after {seconds} s", code="timeout", values={"seconds": seconds},
                             transient=True) from None
        except httpx.ConnectError as err:
            host, detail = urlsplit(url).netloc, _short(err)
            raise FetchError(f"could not connect to {host} ({detail})", code="connect_failed",
                             values={"host": host, "detail": detail}, transient=True) from None
        except httpx.HTTPError as err:
            name, detail = type(err).__name__, _short(err)
            raise FetchError(f"network error ({name}: {detail})", code="network_error",
                             values={"error": name, "detail": detail}, transient=True) from None


def _content_type(header: str) -> tuple[str, str]:
    """The media type and the charset parameter of a Content-Type header, both lower case."""
    message = Message()
    message["content-type"] = header
    charset = message.get_param("charset")
    media = header.split(";", 1)[0].strip().lower()
    return media, charset.strip().lower() if isinstance(charset, str) else ""


def _raise_for_status(status: int) -> None:
    values = {"status": status}
    if status == 404:
        raise FetchError(f"not found (HTTP {status})", code="not_found", values=values)
    if status == 410:
        raise FetchError(f"gone (HTTP {status})", code="gone", values=values)
    if status == 429 or status >= 500:
        raise FetchError(f"the server answered HTTP {status}; try again later", code="server_busy", values=values,
                         transient=True)
    if not 200 <= status < 300:
        raise FetchError(f"the server refused (HTTP {status})", code="server_refused", values=values)


def _too_big(cap: int) -> FetchError:
    return FetchError(f"larger than the FETCH_MAX_BYTES limit ({cap:,} bytes)", code="too_big", values={"limit": cap})


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:160] or type(err).__name__
