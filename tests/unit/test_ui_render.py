"""The chat UI's pure parts: rendering and escaping, uploads, filters, settings (the app as a server:
tests/integration/test_ui_app.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.documents import Document
from support import ROOT

from assistant.answering.types import Answer, Citation
from assistant.apps.ui.app import corpus_rows, parse_filters
from assistant.apps.ui.render import (
    NOTES,
    answer_html,
    citation_viewer_html,
    citations_section_html,
    cited_article_html,
    corpus_html,
    highlighted_article_html,
    meta_line,
    safe_url,
    sources_html,
)
from assistant.errors import SettingsError
from assistant.ingest.uploads import ingest_uploads, remove_articles, safe_upload_name, upload_problem, uploads_dir
from assistant.settings import Settings

SCRIPT = "<script>window.__pwned=1</script>"
IMAGE = "![x](http://example.com/x.png)"


def citation(n=1, quote="Iraq has taken in 450 ISIS detainees.", start=10, end=None, **kw) -> Citation:
    fields = dict(n=n, doc_id="003.txt", title="Iraq Receives Detainees", date="2026-02-02", source="MENAFN",
                  url="https://example.org/a", quote=quote, start=start, end=start + len(quote) if end is None else end)
    fields.update(kw)
    return Citation(**fields)


def answer(text, citations=(), **kw) -> Answer:
    return Answer(question="How many?", answer=text, abstained=False, citations=list(citations), engine="extractive",
                  timings_ms={"total": 1234.0, "first_token": 456.0}, **kw)


# ---------------------------------------------------------------------------- rendering
def test_answer_links_each_cited_marker_and_escapes_the_rest():
    a = answer(f"Iraq took 450 {SCRIPT} {IMAGE} [1] and maybe [7] more. [2]", [citation(1), citation(2, start=100)])
    out = answer_html(a, turn=3)
    assert '<a class="cite-link" href="#cite-3-1"' in out and '<a class="cite-link" href="#cite-3-2"' in out
    assert "[7]" in out and 'href="#cite-3-7"' not in out  # a marker without a citation stays text
    assert "<script>" not in out and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in out
    assert IMAGE in out  # Markdown is not rendered by the chatbot (render_markdown=False): it stays text
    assert 'title="Iraq Receives Detainees · 2026-02-02 · MENAFN"' in out
    assert ">extractive · 1.2 s</div>" in out  # one short line; the details on hover
    assert 'title="extractive; first text after 456 ms, all of it after 1.2 s"' in out


def test_meta_line_is_short_and_the_notes_are_in_plain_words():
    a = answer("x [1]", [citation()], grounded=False, invalid_citations=2,
               unsupported_sentences=[{"sentence": "Bad <b>claim</b>.", "cited": [1], "similarity": 0.1}])
    a.engine, a.model = "local", "qwen2.5-coder-1.5b-instruct-q4_k_m"
    assert meta_line(a) == "local · 1.2 s"
    out = answer_html(a, 1, streamed="x [1] and more")
    assert "qwen2.5-coder-1.5b-instruct-q4_k_m; first text after 456 ms" in out  # on hover
    assert "The answer was checked against the articles and corrected after it was written." in out
    assert "This answer cites no article: check it against the sources." in out
    assert "2 reference(s) pointed to no article and were taken out." in out
    assert "The cited article does not clearly say this: “Bad &lt;b&gt;claim&lt;/b&gt;.”" in out
    assert "corrected after it was written" not in answer_html(answer("x [1]", [citation()]), 1, streamed="x [1]")
    assert "quotes the articles" not in out
    quoted = answer("x [1]", [citation()], extra={"answered_by": "quote", "fallback_reason": "the model declined"})
    assert ("The model could not answer this from the articles, so the answer quotes the articles&#x27; own "
            "sentences.") in answer_html(quoted, 1)
    for developer_words in ("source holding", "best-scoring", "withheld", "verification", "grounded"):
        assert developer_words not in " ".join(NOTES.values()).lower()


def test_cited_article_highlights_the_quote_inside_the_escaped_article():
    text = f"Headline\n\nBefore {SCRIPT}. Iraq has taken in 450 ISIS detainees. After {IMAGE}."
    quote = "Iraq has taken in 450 ISIS detainees."
    c = citation(quote=quote, start=text.index(quote))
    out = cited_article_html(c, text, turn=2)
    assert out.startswith('<article class="cited-article" id="cite-2-1" hidden>')
    assert f'<mark class="cited-quote">{quote}</mark>' in out
    assert "&lt;script&gt;" in out and "<script>" not in out and IMAGE in out
    assert '<a href="https://example.org/a" target="_blank" rel="noopener noreferrer nofollow">link</a>' in out
    assert "Iraq Receives Detainees" in out and "2026-02-02" in out and "MENAFN" in out


def test_highlight_falls_back_when_offsets_moved_or_article_gone():
    c = citation(quote="450 detainees", start=0)
    body, found = highlighted_article_html("Now: 450 detainees.", c)  # offsets stale, quote still there
    assert found and body == 'Now: <mark class="cited-quote">450 detainees</mark>.'
    body, found = highlighted_article_html(None, c)
    assert not found and body == '<mark class="cited-quote">450 detainees</mark>'
    assert "left the index" in cited_article_html(c, None, 1)


@pytest.mark.parametrize("url,shown", [("https://example.org/x?a=1", True), ("http://e.org", True),
                                       ("javascript:alert(1)", False), ("data:text/html,hi", False),
                                       ('https://e.org/"onmouseover=alert(1)', False), ("", False)])
def test_only_http_links_are_rendered(url, shown):
    assert bool(safe_url(url)) == shown
    out = cited_article_html(citation(url=url), "x" * 100, 1)
    assert ("link</a>" in out) == shown and "javascript:" not in out


def test_citation_sections_read_each_article_once_and_viewer_starts_with_a_hint():
    reads = []

    def read(doc_id):
        reads.append(doc_id)
        return "0123456789" + "Iraq has taken in 450 ISIS detainees." + " more"

    section = citations_section_html(answer("a [1] b [2]", [citation(1), citation(2)]), 4, read)
    assert reads == ["003.txt"] and section.count('class="cited-article"') == 2 and 'id="cite-4-2"' in section
    viewer = citation_viewer_html([section])
    assert "Click a [n]" in viewer and section in viewer


def test_sources_list_every_passage_with_score_and_marks_the_cited():
    docs = [Document(page_content=f"passage {SCRIPT}", metadata={"doc_id": "003.txt", "start": 0, "end": 200,
                                                                  "score": 0.0325, "title": "T", "date": "2026-02-02",
                                                                  "source": "MENAFN"}),
            Document(page_content="other", metadata={"doc_id": "004.txt", "start": 0, "end": 50, "score": 0.03})]
    a = answer("x [1]", [citation(start=10)], passages=docs)
    out = sources_html(a)
    assert out.count('<li class="source') == 2
    assert '<li class="source cited">' in out and "cited as [1]" in out and "score 0.0325" in out
    assert '<li class="source not-cited">' in out and "outlet unknown" in out and "undated" in out
    assert "&lt;script&gt;" in out and "<script>" not in out
    assert "listed here" in sources_html(None)


def test_corpus_table_escapes_titles():
    out = corpus_html([{"doc_id": "a<b>.txt", "title": "<img src=x onerror=alert(1)>", "date": None, "source": "",
                        "url": "javascript:x", "chunks": 3, "uploaded": True}])
    assert "<img" not in out and "&lt;img src=x" in out and "a&lt;b&gt;.txt" in out and "(uploaded)" in out
    assert "javascript:" not in out and "1 articles, 3 passages" in out


def test_parse_filters():
    assert parse_filters(" ", "", []) == {"date_from": None, "date_to": None, "sources": None}
    assert parse_filters("2026-02", "2026", ["MENAFN"]) == {"date_from": "2026-02", "date_to": "2026",
                                                             "sources": ["MENAFN"]}
    from assistant.errors import FilterError

    with pytest.raises(FilterError, match=r"date_from: not a date: '02/2026'"):
        parse_filters("02/2026", None, None)


# ---------------------------------------------------------------------------- uploads
def test_upload_limits_name_the_file():
    mib = 2**20
    assert upload_problem("a.txt", 10, mib) is None and upload_problem("b.JSONL", 10, mib) is None
    assert upload_problem("report.pdf", 10, mib).startswith("report.pdf: unsupported file type '.pdf' (use .htm, ")
    assert upload_problem("README", 10, mib).startswith("README: unsupported file type '(none)'")
    assert upload_problem("big.txt", 3 * mib, 2 * mib) == "big.txt: file too large (3.0 MiB; the limit is 2.0 MiB)"
    assert upload_problem("empty.md", 0, mib) == "empty.md: empty file"


@pytest.mark.parametrize("name,safe", [("../../etc/passwd.txt", "passwd.txt"), (".hidden.md", "hidden.md"),
                                       ("a<b>|c.txt", "a_b__c.txt"), ("C:\\x\\notes.html", "notes.html"),
                                       ("Café news.txt", "Café news.txt"), (".txt", "txt")])
def test_safe_upload_names(name, safe):
    assert safe_upload_name(name) == safe


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


ZORBA = ("Flamingo count at Lake Zorba\n\nRangers at Lake Zorba counted 7,412 flamingos on Tuesday, "
         "the highest number since records began.\n")


def test_uploads_are_stored_ingested_and_survive_a_seed_reingest(hash_settings, tmp_path):
    from assistant.ingest.indexer import Indexer
    from assistant.retrieval.retriever import NewsRetriever

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    incoming = tmp_path / "gradio-tmp"
    progress = []
    report = ingest_uploads(hash_settings, [
        (_write(incoming / "a1" / "zorba.txt", ZORBA), "zorba.txt"),
        (_write(incoming / "a2" / "notes.pdf", "%PDF"), "notes.pdf"),
        (_write(incoming / "a3" / "broken.txt", b"\xff\xfe bad"), "broken.txt"),
        (_write(incoming / "a4" / "records.jsonl", '{"text": "Good record about Lake Zorba herons."}\n{oops\n'),
         "records.jsonl"),
    ], progress=lambda done, total: progress.append((done, total)))
    assert report.added == ["records.jsonl#1", "zorba.txt"]
    assert report.stored == ["records.jsonl", "zorba.txt"]
    assert progress and progress[-1][0] == progress[-1][1]
    errors = "\n".join(map(str, report.errors))
    assert "notes.pdf: unsupported file type '.pdf'" in errors
    assert "broken.txt: not valid UTF-8 (byte 0xff at offset 0)" in errors
    assert "records.jsonl:2: malformed JSON" in errors
    assert str(tmp_path) not in errors  # names, not the store's paths
    folder = uploads_dir(hash_settings)
    assert sorted(p.name for p in folder.iterdir()) == ["records.jsonl", "zorba.txt"]

    again = Indexer(hash_settings).ingest([hash_settings.seeds_dir])  # a re-ingest of the seeds ...
    assert again.removed == [] and len(again.unchanged) == 5
    (hash_settings.seeds_dir / "000_9b2a7a8087030aa2.txt").unlink()
    assert Indexer(hash_settings).ingest([hash_settings.seeds_dir]).removed == ["000_9b2a7a8087030aa2.txt"]
    rows = {r["doc_id"]: r for r in corpus_rows(hash_settings)}  # ... removes only seeds, never uploads
    assert rows["zorba.txt"]["uploaded"] and rows["records.jsonl#1"]["uploaded"]
    assert not rows["001_efd61a3e5694ca25.txt"]["uploaded"]
    docs = NewsRetriever(settings=hash_settings, k=2).invoke("How many flamingos were counted at Lake Zorba?")
    assert docs[0].metadata["doc_id"] == "zorba.txt"


def test_failed_uploads_leave_the_store_as_it_was(hash_settings, tmp_path):
    from assistant.ingest.indexer import Indexer

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    folder = uploads_dir(hash_settings)
    ingest_uploads(hash_settings, [(_write(tmp_path / "1" / "zorba.txt", ZORBA), "zorba.txt")])
    # a broken new version of an uploaded file: the previous version is restored, and still indexed
    report = ingest_uploads(hash_settings, [(_write(tmp_path / "2" / "zorba.txt", b"\x00\x01binary"), "zorba.txt")])
    assert list(map(str, report.errors)) == ["zorba.txt: binary file (contains NUL bytes), not text"]
    assert report.stored == []
    assert (folder / "zorba.txt").read_text() == ZORBA
    assert sorted(p.name for p in folder.iterdir()) == ["zorba.txt"]  # no leftover backup
    # a name that is already a seed's doc_id: refused, nothing kept
    seed = hash_settings.seeds_dir / "003_0e26de0699d51022.txt"
    report = ingest_uploads(hash_settings, [(_write(tmp_path / "3" / seed.name, "Another text entirely."), seed.name)])
    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith(f"{seed.name}: doc_id {seed.name!r} is already indexed")
    assert not (folder / seed.name).exists()
    # a good new version replaces it
    report = ingest_uploads(hash_settings, [(_write(tmp_path / "4" / "zorba.txt", ZORBA + "More.\n"), "zorba.txt")])
    assert report.updated == ["zorba.txt"] and (folder / "zorba.txt").read_text().endswith("More.\n")


def test_upload_size_limit_comes_from_the_settings(hash_settings, tmp_path):
    small = hash_settings.with_overrides(max_upload_mb=0.001)  # 1 KiB
    report = ingest_uploads(small, [(_write(tmp_path / "big.txt", "word " * 400), "big.txt")])
    assert list(map(str, report.errors)) == ["big.txt: file too large (0.0 MiB; the limit is 0.0 MiB)"]
    assert not (uploads_dir(small) / "big.txt").exists()


def test_remove_takes_an_uploaded_file_out_of_the_store_but_never_a_seed(hash_settings, tmp_path):
    from assistant.ingest.indexer import Indexer

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    ingest_uploads(hash_settings, [(_write(tmp_path / "zorba.txt", ZORBA), "zorba.txt")])
    message = remove_articles(hash_settings, ["zorba.txt", "000_9b2a7a8087030aa2.txt"])
    assert message.startswith("removed 000_9b2a7a8087030aa2.txt, zorba.txt; index: 4 articles")
    assert not (uploads_dir(hash_settings) / "zorba.txt").exists()
    assert (hash_settings.seeds_dir / "000_9b2a7a8087030aa2.txt").exists()
    from assistant.errors import IndexStateError

    with pytest.raises(IndexStateError, match="not in the index: nope.txt"):
        remove_articles(hash_settings, ["nope.txt"])


# ---------------------------------------------------------------------------- settings and CLI
def test_ui_settings_and_login_parsing():
    s = Settings.from_env(env={"ASSISTANT_UI_AUTH": "ann:pw1, bob:p:w2", "ASSISTANT_UI_PORT": "8000"})
    assert s.ui_logins() == [("ann", "pw1"), ("bob", "p:w2")] and s.ui_port == 8000
    assert (s.ui_host, s.ui_concurrency) == ("127.0.0.1", 4)
    assert s.shown("ui_auth") == "(set)" and Settings().shown("ui_auth") == ""
    for env, match in [({"ASSISTANT_UI_AUTH": "ann"}, "ASSISTANT_UI_AUTH: expected 'user:password'"),
                       ({"ASSISTANT_UI_AUTH": "ann:"}, "without a password"),
                       ({"ASSISTANT_UI_PORT": "70000"}, "ASSISTANT_UI_PORT: must be between 1 and 65535"),
                       ({"ASSISTANT_UI_CONCURRENCY": "0"}, "ASSISTANT_UI_CONCURRENCY: must be at least 1")]:
        with pytest.raises(SettingsError, match=match):
            Settings.from_env(env=env)


def test_settings_command_masks_the_login_and_help_does_not_import_gradio():
    env = {**os.environ, "ASSISTANT_UI_AUTH": "ann:topsecret"}
    p = subprocess.run([sys.executable, "-m", "assistant.apps.cli", "settings"], capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=60)
    assert p.returncode == 0 and "ASSISTANT_UI_AUTH" in p.stdout and "topsecret" not in p.stdout
    code = ("import sys, assistant.apps.cli, assistant.apps.ui.app; assistant.apps.cli.build_parser(); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('gradio', 'torch', 'llama_cpp')]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
    p = subprocess.run([sys.executable, "-m", "assistant.apps.cli", "serve", "--help"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert "--host" in p.stdout and "--port" in p.stdout and "--llm" in p.stdout


def test_example_questions_come_with_the_corpus(hash_settings, tmp_path):
    from assistant.apps.ui.app import example_questions

    assert example_questions(hash_settings) == []  # a corpus without examples.txt shows none
    (hash_settings.seeds_dir / "examples.txt").write_text("# shown in the chat\nWho met whom?\n\nWhen?\n")
    assert example_questions(hash_settings) == ["Who met whom?", "When?"]
    from support import SEEDS

    from assistant.settings import Settings

    assert "How many ISIS detainees has Iraq received?" in example_questions(Settings.from_env(env={}, seeds_dir=SEEDS))


def test_login_gate_waits_longer_after_every_failure():
    from assistant.apps.ui.app import LoginGate

    gate = LoginGate([("ann", "pw1"), ("bob", "pw2")], base=0.01, ceiling=0.05)
    assert gate.delay() == 0.0
    assert not gate("ann", "wrong") and gate.delay() == 0.01
    assert not gate("mallory", "x") and gate.delay() == 0.02  # whoever a guess names, the next one waits longer
    assert not gate("ann", "pw2") and gate.delay() == 0.04
    assert not gate("ann", "") and gate.delay() == 0.05  # at most the ceiling
    t0 = time.perf_counter()
    assert gate("bob", "pw2")  # right, after waiting its turn
    assert time.perf_counter() - t0 >= 0.05 and gate.delay() == 0.0


def test_refused_api_requests_wait_longer_per_client_and_answers_never_wait(hash_settings):
    from types import SimpleNamespace

    from assistant.apps.ui.app import Handlers

    class Answering:  # stands for the Assistant: only an accepted question reaches it
        asked: list = []

        def ask(self, question, history, **filters):
            self.asked.append(question)
            return SimpleNamespace(to_json=lambda: {"answer": "yes"})

    handlers = Handlers(hash_settings.with_overrides(ui_refusal_delay=0.05), Answering())
    hammer, other, first = (SimpleNamespace(client=SimpleNamespace(host=h)) for h in ("10.0.0.1", "10.0.0.2", "x"))
    with pytest.raises(Exception, match="question: empty"):  # imports done before the timings
        handlers.api_ask(" ", request=first)
    waits = []
    for _ in range(3):
        t0 = time.perf_counter()
        with pytest.raises(Exception, match="the limit is 4,000"):
            handlers.api_ask("x" * 5000, request=hammer)
        waits.append(time.perf_counter() - t0)
    assert waits[0] < 0.04 and 0.05 <= waits[1] < 0.09 and waits[2] >= 0.1  # 0, then 0.05 doubling
    assert handlers.refusals.delay("10.0.0.2") == 0.0  # another client is not slowed
    t0 = time.perf_counter()
    assert handlers.api_ask("How many?", request=other) == {"answer": "yes"}
    with pytest.raises(Exception, match="history: expected a list"):
        handlers.api_ask("How many?", history="a string", request=hammer)  # any wrong argument counts
    assert handlers.refusals.delay("10.0.0.1") >= 0.2
    assert handlers.api_ask("How many?", request=hammer) == {"answer": "yes"}  # accepted at once ...
    assert time.perf_counter() - t0 < 0.5 and handlers.refusals.delay("10.0.0.1") == 0.0  # ... and forgiven
    assert Answering.asked == ["How many?", "How many?"]


def test_corpus_changes_only_from_the_servers_own_page():
    from types import SimpleNamespace

    from assistant.apps.ui.app import cross_site

    def request(**headers):
        return SimpleNamespace(headers={"host": "127.0.0.1:7860", **headers})

    assert cross_site(None) is None  # in-process callers
    assert cross_site(request(origin="http://127.0.0.1:7860")) is None
    assert cross_site(request(referer="http://127.0.0.1:7860/?view=corpus")) is None
    for bad in (request(), request(origin="http://evil.example"), request(origin="http://127.0.0.1:9999")):
        assert cross_site(bad) == "corpus changes are accepted only from this server's own page"


def test_gradio_temporary_upload_copies_are_deleted(tmp_path):
    from assistant.apps.ui.app import discard_uploads

    tmp = tmp_path / "gradio" / "abc123"
    tmp.mkdir(parents=True)
    (tmp / "zorba.txt").write_text("x")
    discard_uploads([str(tmp / "zorba.txt")])
    assert not tmp.exists() and (tmp_path / "gradio").exists()
