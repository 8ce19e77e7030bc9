"""Saved web pages: the article without its boilerplate, with title, date, author and outlet from the
page's metadata (trafilatura), the fallback when trafilatura finds no article, and which one read it."""

from __future__ import annotations

from support import ROOT

from assistant.ingest.html_text import html_to_article
from assistant.ingest.loading import load_paths

PAGE = ROOT / "tests" / "data" / "saved_news_page.html"
BOILERPLATE = ("cookies", "Accept all", "Related stories", "Fishermen count", "newsletter", "Subscribe", "All rights",
               "Business", "dataLayer")


def test_a_saved_news_page_gives_its_article_and_metadata():
    page = html_to_article(PAGE.read_text())
    assert page.extractor == "trafilatura"
    assert page.title == "Port reopens after the storm" and page.date == "2026-03-02"
    assert page.source == "Valdra Daily" and page.author == "Ann Example"
    assert page.url == "https://valdra-daily.example/news/2026/03/02/port-reopens"
    assert "About 40 ships had waited offshore" in page.text and "3.5 million euros" in page.text
    for junk in BOILERPLATE:
        assert junk.lower() not in page.text.lower(), junk


def test_the_saved_page_is_indexed_without_boilerplate_and_says_which_parser(hash_settings, tmp_path):
    from assistant.index.catalog import Catalog
    from assistant.ingest.indexer import Indexer

    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "port.html").write_text(PAGE.read_text())
    (folder / "tiny.html").write_text("<html><body><p>Short note: the ferry is late.</p></body></html>")
    report = Indexer(hash_settings).ingest([folder])
    assert sorted(report.added) == ["port.html", "tiny.html"]
    catalog = Catalog.open(hash_settings)
    rows = {r["doc_id"]: r for r in catalog.load().article_rows()}
    assert rows["port.html"]["extractor"] == "trafilatura" and rows["tiny.html"]["extractor"] == "html.parser"
    assert rows["port.html"]["author"] == "Ann Example" and rows["port.html"]["source"] == "Valdra Daily"
    text = catalog.article_text("port.html")
    assert all(junk.lower() not in text.lower() for junk in BOILERPLATE)
    articles = load_paths([folder]).articles
    assert {a.doc_id: a.extractor for a in articles} == {"port.html": "trafilatura", "tiny.html": "html.parser"}


def test_list_json_says_which_parser_read_each_page(hash_settings, tmp_path, capsys, monkeypatch):
    import json

    from assistant.apps import cli

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "port.html").write_text(PAGE.read_text())
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(hash_settings.index_dir))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    assert cli.main(["ingest", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    assert cli.main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["extractor"] == "trafilatura" and rows[0]["date"] == "2026-03-02"
