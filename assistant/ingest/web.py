"""Web pages and feeds in: ``assistant ingest URL`` and ``assistant ingest --feed URL``.

Every request has a timeout (``ASSISTANT_FETCH_TIMEOUT``), reads at most ``ASSISTANT_MAX_UPLOAD_MB``,
says who it is (``USER_AGENT``) and asks the site's robots.txt first. A page is read like a saved
``.html`` file (trafilatura, with the visible-text fallback); its doc_id is its canonical URL. A feed
(RSS or Atom, read by ``feedparser``) brings each of its entries' pages. Each page is its own ingest
root, so an entry that leaves a feed stays indexed. Every failure is one ``LoadError`` line naming the
URL; nothing raises.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
import urllib.robotparser
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlparse

from assistant.ingest.cleaning import clean_article
from assistant.ingest.loading import Article, FileDone, LoadError, Scanned


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("news-assistant")
    except PackageNotFoundError:
        return "0"


USER_AGENT = f"news-assistant/{_version()} (a question-answering assistant over news articles; respects robots.txt)"


def is_url(text: str) -> bool:
    return bool(re.match(r"https?://[^\s/]+", str(text), re.IGNORECASE))


@dataclass(frozen=True)
class Feed:
    """A feed to ingest (``assistant ingest --feed URL``): its entries' pages."""

    url: str


@dataclass(frozen=True)
class Pasted:
    """A web address someone pasted (the UI's URL box): a feed's entries when it is a feed, else the page."""

    url: str


class FetchError(Exception):
    pass


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes

    def text(self) -> str:
        charset = re.search(r"charset=([\w-]+)", self.content_type or "", re.IGNORECASE)
        for encoding in ([charset.group(1)] if charset else []) + ["utf-8"]:
            try:
                return self.body.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
        return self.body.decode("utf-8", errors="replace")


class Fetcher:
    """HTTP(S) GETs with a timeout, a size limit, our user agent, and robots.txt asked first (remembered
    per site)."""

    def __init__(self, timeout: float, max_bytes: int):
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}

    def get(self, url: str, *, check_robots: bool = True) -> Fetched:
        if not is_url(url):
            raise FetchError("not an http(s) URL")
        if check_robots and not self.allowed(url):
            raise FetchError("the site's robots.txt does not allow this page to be fetched")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only
                length = response.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError(self._too_large(int(length)))
                body = response.read(self.max_bytes + 1)
                if len(body) > self.max_bytes:
                    raise FetchError(self._too_large(len(body)))
                return Fetched(response.geturl(), response.headers.get("Content-Type", ""), body)
        except urllib.error.HTTPError as exc:
            raise FetchError(f"HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            raise FetchError(f"cannot fetch: {getattr(reason, 'strerror', None) or reason}") from None
        except TimeoutError:
            raise FetchError(f"no answer within {self.timeout:g} s (ASSISTANT_FETCH_TIMEOUT)") from None
        except OSError as exc:
            raise FetchError(f"cannot fetch: {exc.strerror or exc}") from None

    def _too_large(self, size: int) -> str:
        limit = self.max_bytes / 2**20
        return f"too large ({size / 2**20:.1f} MiB; the limit is {limit:.1f} MiB, ASSISTANT_MAX_UPLOAD_MB)"

    def allowed(self, url: str) -> bool:
        """What the site's robots.txt says for our user agent: a missing one (4xx) allows all; one the
        site fails to serve (5xx) allows nothing, as the robots.txt standard (RFC 9309) asks."""
        parts = urlparse(url)
        site = f"{parts.scheme}://{parts.netloc}"
        if site not in self._robots:
            parser = urllib.robotparser.RobotFileParser()
            try:
                got = self.get(f"{site}/robots.txt", check_robots=False)
                parser.parse(got.text().splitlines())
            except FetchError as exc:
                code = re.match(r"HTTP (\d{3})", str(exc))
                if code and code.group(1).startswith("4"):
                    parser.allow_all = True
                elif code:
                    parser.disallow_all = True
                else:
                    parser.allow_all = True  # no robots.txt to be had (the page fetch will tell the rest)
            self._robots[site] = parser
        return self._robots[site].can_fetch(USER_AGENT, url)


def page_article(fetched: Fetched) -> Article:
    """A fetched page as an article: doc_id its canonical URL (else the URL it came from)."""
    from assistant.ingest.html_text import html_to_article

    page = html_to_article(fetched.text(), fetched.url)
    canonical = urljoin(fetched.url, page.url) if page.url else fetched.url
    canonical = urldefrag(canonical)[0] if is_url(canonical) else fetched.url
    cleaned = clean_article(page.text, title=page.title, date=page.date, source=page.source or
                            urlparse(fetched.url).hostname or "", detect_headline=not page.title)
    if not cleaned.text.strip():
        raise FetchError("no article text in the page")
    return Article(doc_id=canonical, text=cleaned.text, title=cleaned.title, date=cleaned.date, source=cleaned.source,
                   url=canonical, dateline=cleaned.dateline, origin_file=canonical, root=canonical,
                   content_hash=hashlib.sha256(cleaned.text.encode()).hexdigest(), author=page.author,
                   extractor=page.extractor)


def iter_page(url: str, fetcher: Fetcher) -> Iterator:
    """The events of one page: its article, or one line naming the URL."""
    try:
        article = page_article(fetcher.get(url))
    except FetchError as exc:
        yield LoadError(url, str(exc))
        yield FileDone(url, True, set())
        return
    yield Scanned(article.root, {article.origin_file})
    yield article
    yield FileDone(article.origin_file, False, {article.doc_id})


def feed_entries(fetched: Fetched) -> list[str]:
    """The entry links of an RSS or Atom feed (empty when it is not one)."""
    import feedparser

    parsed = feedparser.parse(fetched.body)
    links = [urljoin(fetched.url, e.get("link", "")) for e in parsed.entries if e.get("link")]
    return list(dict.fromkeys(links))


def iter_feed(url: str, fetcher: Fetcher) -> Iterator:
    """The pages of a feed's entries, each read like ``assistant ingest URL``."""
    try:
        links = feed_entries(fetcher.get(url))
    except FetchError as exc:
        yield LoadError(url, str(exc))
        return
    if not links:
        yield LoadError(url, "not an RSS or Atom feed with entries")
        return
    for link in links:
        yield from iter_page(link, fetcher)


def iter_source(url: str, fetcher: Fetcher) -> Iterator:
    """A URL the reader pasted (the UI): a feed's entries when it is a feed, else the page itself."""
    try:
        fetched = fetcher.get(url)
    except FetchError as exc:
        yield LoadError(url, str(exc))
        return
    links = feed_entries(fetched) if re.search(r"xml|rss|atom", fetched.content_type, re.I) or \
        fetched.body.lstrip()[:5] == b"<?xml" else []
    if links:
        for link in links:
            yield from iter_page(link, fetcher)
        return
    try:
        article = page_article(fetched)
    except FetchError as exc:
        yield LoadError(url, str(exc))
        return
    yield Scanned(article.root, {article.origin_file})
    yield article
    yield FileDone(article.origin_file, False, {article.doc_id})
