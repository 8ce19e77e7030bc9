"""Web pages and feeds in, from an HTTP server the test runs on 127.0.0.1: `assistant ingest URL` and
`--feed URL` fetch with a timeout, a size limit, our user agent and robots.txt respected; every failure
is one line naming the URL; the doc_id is the canonical URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import ROOT

PAGE = (ROOT / "tests" / "data" / "saved_news_page.html").read_text()


def article(title: str, date: str, body: str) -> str:
    return (f'<html><head><title>{title}</title><meta property="og:site_name" content="Test Wire">'
            f'<meta property="article:published_time" content="{date}"></head><body><nav>Home | World</nav>'
            f'<article><h1>{title}</h1><p>{body}</p><p>{body} Officials gave no more details on Monday.</p>'
            '</article><aside>Related stories: nothing to see here</aside></body></html>')


class Site:
    """A small news site on loopback: pages, a feed, robots.txt, a slow and a huge page."""

    def __init__(self):
        self.agents: list[str] = []
        pages = {
            "/news/port.html": PAGE.replace("https://valdra-daily.example/news/2026/03/02/port-reopens",
                                            "/news/port"),
            "/news/a.html": article("Bridge reopens in Valdra", "2026-03-03",
                                    "The old bridge in Valdra reopened to traffic after 18 months of repairs."),
            "/news/b.html": article("Ferry strike ends", "2026-03-04",
                                    "Ferry crews in Valdra ended a five-day strike after a 4 per cent pay deal."),
            "/private/secret.html": article("Secret", "2026-03-01", "A page robots.txt keeps out of reach."),
            "/robots.txt": "User-agent: *\nDisallow: /private/\n",
            "/feed.xml": ('<?xml version="1.0"?><rss version="2.0"><channel><title>Test Wire</title>'
                          '<item><title>Bridge</title><link>{base}/news/a.html</link></item>'
                          '<item><title>Ferry</title><link>{base}/news/b.html</link></item>'
                          '<item><title>Gone</title><link>{base}/news/missing.html</link></item>'
                          '</channel></rss>'),
        }
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's name)
                site.agents.append(self.headers.get("User-Agent", ""))
                if self.path == "/slow.html":
                    time.sleep(3)
                if self.path == "/big.html":
                    body = b"<html><body><p>" + b"x " * 700_000 + b"</p></body></html>"
                elif self.path in pages:
                    body = pages[self.path].replace("{base}", site.base).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                kind = "application/rss+xml" if self.path.endswith(".xml") else "text/plain" if \
                    self.path.endswith(".txt") else "text/html; charset=utf-8"
                self.send_header("Content-Type", kind)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


def cli(tmp_path, *argv, **env):
    full = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_EMBEDDER": "hash",
            "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"), **env}
    return subprocess.run([sys.executable, "-m", "assistant.apps.cli", *argv], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=300)


def test_ingest_a_page_and_a_feed_from_urls(site, tmp_path):
    out = cli(tmp_path, "ingest", f"{site.base}/news/port.html", "--feed", f"{site.base}/feed.xml", "--json")
    report = json.loads(out.stdout)
    assert sorted(report["added"]) == [f"{site.base}/news/a.html", f"{site.base}/news/b.html",
                                       f"{site.base}/news/port"]  # the port page by its canonical URL
    assert report["errors"] == [f"{site.base}/news/missing.html: HTTP 404 Not Found"]
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert site.agents and all(a.startswith("news-assistant/") for a in site.agents)
    rows = {r["doc_id"]: r for r in json.loads(cli(tmp_path, "list", "--json").stdout)}
    port = rows[f"{site.base}/news/port"]
    assert port["title"] == "Port reopens after the storm" and port["date"] == "2026-03-02"
    assert port["source"] == "Valdra Daily" and port["extractor"] == "trafilatura" and port["author"] == "Ann Example"
    assert rows[f"{site.base}/news/b.html"]["date"] == "2026-03-04"
    answer = json.loads(cli(tmp_path, "ask", "--llm", "extractive", "--json",
                            "How many ships waited offshore at Valdra?").stdout)
    assert "40" in answer["answer"] and answer["citations"][0]["doc_id"] == f"{site.base}/news/port"
    again = json.loads(cli(tmp_path, "ingest", "--feed", f"{site.base}/feed.xml", "--json").stdout)
    assert sorted(again["unchanged"]) == [f"{site.base}/news/a.html", f"{site.base}/news/b.html"]


def test_every_refused_url_gets_one_line(site, tmp_path):
    out = cli(tmp_path, "ingest", f"{site.base}/private/secret.html", f"{site.base}/slow.html",
              f"{site.base}/big.html", f"{site.base}/nothing.html", "http://127.0.0.1:9/unreachable.html",
              "--feed", f"{site.base}/news/a.html", "--json",
              ASSISTANT_FETCH_TIMEOUT="1", ASSISTANT_MAX_UPLOAD_MB="1")
    report = json.loads(out.stdout)
    errors = report["errors"]
    assert f"{site.base}/private/secret.html: the site's robots.txt does not allow this page to be fetched" in errors
    assert f"{site.base}/slow.html: no answer within 1 s (ASSISTANT_FETCH_TIMEOUT)" in errors
    assert any(e.startswith(f"{site.base}/big.html: too large (") for e in errors)
    assert f"{site.base}/nothing.html: HTTP 404 Not Found" in errors
    assert any(e.startswith("http://127.0.0.1:9/unreachable.html: cannot fetch") for e in errors)
    assert f"{site.base}/news/a.html: not an RSS or Atom feed with entries" in errors
    assert len(errors) == 6 and report["added"] == [] and all("\n" not in e for e in errors)
    assert "Traceback" not in out.stderr
