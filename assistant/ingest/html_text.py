"""The article text and metadata of an HTML page.

trafilatura (the field's maintained extractor) first: it finds the article among the page's boilerplate
(cookie banners, navigation, "Related stories", newsletter boxes) and reads title, date, author and
outlet from JSON-LD, OpenGraph and ``article:published_time``. When it finds no article, the fallback is
the page's visible text (BeautifulSoup over Python's html.parser, scripts, navigation and hidden
elements dropped). ``Page.extractor`` says which one read the page (`assistant list --json` shows it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.cleaning import normalize_date

_INVISIBLE = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "head", "nav", "footer", "form", "button", "select", "input", "textarea", "aside"]
_BLOCKS = ["p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
           "ol", "blockquote", "pre", "table", "tr", "td", "th", "dd", "dt", "dl", "figure", "figcaption", "br",
           "hr", "address"]


MIN_ARTICLE_CHARS = 80  # less than this from trafilatura: not an article it found, the fallback reads the page


@dataclass
class Page:
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""
    author: str = ""
    extractor: str = "html.parser"


def _meta(soup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content", "").strip():
            return tag["content"].strip()
    return ""


def html_to_article(html: str, url: str | None = None) -> Page:
    """The page's article: trafilatura's reading, else the visible text; metadata either has left
    empty is taken from the page's own tags."""
    fallback = visible_text(html)
    found = _trafilatura(html, url)
    if found is None:
        return fallback
    for name in ("title", "date", "source"):
        if not getattr(found, name):
            setattr(found, name, getattr(fallback, name))
    found.url = fallback.url or found.url  # the page's own canonical link first (trafilatura echoes the URL asked)
    return found


def _trafilatura(html: str, url: str | None) -> Page | None:
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                          include_tables=False, favor_precision=True)
    except Exception:  # noqa: BLE001 - a page trafilatura cannot read goes to the fallback
        return None
    if doc is None:
        return None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    lines = [line.strip() for line in (data.get("text") or "").splitlines() if line.strip()]
    title = (data.get("title") or "").strip()
    if lines and title and lines[0] == title:
        lines = lines[1:]  # the headline is metadata, not the first paragraph
    text = "\n\n".join(lines)
    if len(text) < MIN_ARTICLE_CHARS:
        return None
    try:
        date = normalize_date(data["date"]) if data.get("date") else None
    except ValueError:
        date = None
    return Page(text=text, title=title, date=date, source=(data.get("sitename") or "").strip(),
                url=(data.get("url") or "").strip(), author=(data.get("author") or "").strip(),
                extractor="trafilatura")


def visible_text(html: str) -> Page:
    """The page's visible text and its own metadata tags (the fallback)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    h1 = soup.find("h1")
    title = (h1.get_text(" ", strip=True) if h1 else "") or _meta(soup, "og:title", "twitter:title") or (
        soup.title.get_text(" ", strip=True) if soup.title else "")
    raw_date = _meta(soup, "article:published_time", "date", "pubdate", "dc.date", "og:published_time")
    if not raw_date and (t := soup.find("time", attrs={"datetime": True})):
        raw_date = t["datetime"]
    try:
        date = normalize_date(raw_date) if raw_date else None
    except ValueError:
        date = None
    source = _meta(soup, "og:site_name", "application-name", "publisher")
    canonical = soup.find("link", rel="canonical")
    url = (canonical.get("href", "") if canonical else "") or _meta(soup, "og:url")

    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"
                             or re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", t.get("style", ""))):
        tag.decompose()
    if h1 is not None and not h1.decomposed:
        h1.decompose()  # it is the title, kept as metadata
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    body = soup.body or soup
    text = body.get_text()
    paragraphs = [re.sub(r"\s+", " ", block).strip() for block in re.split(r"\n\s*\n", text)]
    return Page(text="\n\n".join(p for p in paragraphs if p), title=title, date=date, source=source, url=url)
