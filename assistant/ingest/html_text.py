"""Visible text and metadata of an HTML article page (BeautifulSoup over Python's html.parser)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.ingest.cleaning import normalize_date

_INVISIBLE = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "head", "nav", "footer", "form", "button", "select", "input", "textarea", "aside"]
_BLOCKS = ["p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul",
           "ol", "blockquote", "pre", "table", "tr", "td", "th", "dd", "dt", "dl", "figure", "figcaption", "br",
           "hr", "address"]


@dataclass
class Page:
    text: str
    title: str = ""
    date: str | None = None
    source: str = ""
    url: str = ""


def _meta(soup, *names: str) -> str:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag and tag.get("content", "").strip():
            return tag["content"].strip()
    return ""


def html_to_article(html: str) -> Page:
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
