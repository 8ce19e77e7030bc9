"""The chat UI end to end: `assistant serve` in a subprocess over a copy of the real index, driven
by Debian's chromium through Playwright, and its API through gradio_client.

Set UI_SCREENSHOT=docs/ui.png and UI_SCREENSHOT_TIMELINE=docs/timeline.png to refresh the README's
screenshots (by default they go to a temp dir).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import pytest
from fakes import HeldEngine, free_port
from support import ROOT, SEEDS, VENV_BIN
from test_ask_eval import ASK_SCHEMA

pytestmark = pytest.mark.slow
ASSISTANT = str(VENV_BIN / "assistant")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DETAINEES = "How many ISIS detainees has Iraq received?"
UPLOAD_LIMIT_MB = 0.05  # the server under test refuses uploads over 51 KiB
SCRIPT = "<script>window.__pwned=1</script>"
MD_IMAGE = "![x](http://example.com/x.png)"
HTML_IMAGE = '<img src="http://example.com/y.png" onerror="window.__pwned=2">'
GLORBVILLE = (f"Glorbville council votes on the old bridge\n\n"
              f"The Glorbville council voted 9 to 2 on Monday to close the old bridge {SCRIPT} after a failed "
              f"safety inspection.\n\nA photo of the rusted bridge {MD_IMAGE} was shown to residents {HTML_IMAGE} "
              f"at the town hall meeting.\n")
ZORBA = ("Flamingo count at Lake Zorba\n\n date 2026-03-01 Rangers at Lake Zorba counted 7,412 flamingos on Tuesday, "
         "the highest number since the park opened. The park warden said the birds arrived early this year.\n")
# records every text an answer showed while it streamed, before the page scripts run
RECORD_STREAMING = """
window.__streamed = [];
new MutationObserver(() => {
  document.querySelectorAll('.answer-streaming').forEach((el) => {
    const text = el.innerText;
    if (window.__streamed[window.__streamed.length - 1] !== text) window.__streamed.push(text);
  });
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

playwright_api = pytest.importorskip("playwright.sync_api")
playwright_api.expect.set_options(timeout=30_000)  # retrying assertions, with room for a loaded machine
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                                    reason="Debian chromium is not installed (make test installs it)")




class Server:
    """`assistant serve` on a free loopback port, stopped at teardown."""

    def __init__(self, index_dir: Path, log: Path, *args: str, env: dict | None = None):
        self.index_dir = index_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        full_env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_SEEDS_DIR": str(SEEDS),
                    **(env or {})}
        self.proc = subprocess.Popen([ASSISTANT, "serve", "--port", str(self.port), *args], env=full_env,
                                     stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"assistant serve exited {self.proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.time() > deadline:
                self.stop()
                raise AssertionError(f"assistant serve did not answer on {self.url}:\n{log.read_text()}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _index_copy(real_index: Path, target: Path) -> Path:
    """A private copy of the seed index, plus an article full of markup (for the escaping test)."""
    from assistant.ingest.indexer import Indexer
    from assistant.settings import Settings

    shutil.copytree(real_index, target)
    extra = target.parent / "extra"
    extra.mkdir()
    (extra / "glorbville.txt").write_text(GLORBVILLE)
    report = Indexer(Settings.from_env(env={}, index_dir=target)).ingest([extra])
    assert report.added == ["glorbville.txt"], report.errors
    return target


@pytest.fixture(scope="module")
def server(real_index, tmp_path_factory):
    base = tmp_path_factory.mktemp("ui")
    index_dir = _index_copy(real_index, base / "index")
    srv = Server(index_dir, base / "serve.log", "--llm", "extractive",
                 env={"ASSISTANT_MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB)})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page of the UI that records every request it makes and every streamed state."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.add_init_script(RECORD_STREAMING)
        self.page.goto(url)
        self.page.locator("#question textarea").wait_for()

    def ask(self, question: str, timeout_s: float = 90):
        """Submit a question; return the locator of the new final answer (its message bubble)."""
        done = self.page.locator("#chat .answer-final, #chat .answer-error")
        before = done.count()
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")
        self.page.wait_for_function(
            f"document.querySelectorAll('#chat .answer-final, #chat .answer-error').length > {before}",
            timeout=timeout_s * 1000)
        error = self.page.locator("#chat .answer-error")
        assert error.count() == 0, error.first.inner_text()
        return self.page.locator("#chat .answer-final").nth(before)

    @staticmethod
    def expect(locator):
        return playwright_api.expect(locator)

    def message_of(self, answer):
        """The answer's bubble (answer text, notes and the engine line)."""
        return answer.locator("xpath=..")

    def open_citation(self, link):
        link.click()
        article = self.page.locator(".cited-article:not([hidden])")
        article.wait_for()
        assert article.count() == 1
        return article

    def outside_hosts(self) -> set[str]:
        return {urlparse(u).hostname for u in self.requests if urlparse(u).scheme in ("http", "https", "ws", "wss")
                } - {"127.0.0.1", "localhost"}

    def close(self):
        self.context.close()


@pytest.fixture
def page(server, browser):
    p = Page(browser, server.url)
    yield p
    assert p.outside_hosts() == set()  # the page loads only from the local server, whatever it showed
    p.close()


def _api(server):
    from gradio_client import Client

    return Client(server.url, verbose=False)


# ---------------------------------------------------------------------------- API
# first against the module's server, before the upload test changes its corpus: once in CI, after an
# upload and removal inside the server, its retrieval ranks differed from a fresh CLI process's (not
# reproduced outside; see the note in the README's Tests section)
def test_api_returns_the_ask_json_of_the_cli(server):
    from assistant.index.catalog import Catalog
    from assistant.settings import Settings

    client = _api(server)
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/ask"}
    out = client.predict(question=DETAINEES, api_name="/ask")
    jsonschema.validate(out, ASK_SCHEMA)
    assert out["engine"] == "extractive" and not out["abstained"]
    catalog = Catalog.open(Settings.from_env(env={}, index_dir=server.index_dir))
    for c in out["citations"]:
        assert catalog.article_text(c["doc_id"])[c["start"]:c["end"]] == c["quote"]
    assert any("450" in c["quote"] for c in out["citations"]) and "450" in out["answer"]
    cli = json.loads(subprocess.run([ASSISTANT, "ask", "--llm", "extractive", "--json", DETAINEES], check=True,
                                    capture_output=True, text=True, timeout=300,
                                    env={**os.environ, "ASSISTANT_INDEX_DIR": str(server.index_dir)}).stdout)
    strip = lambda d: {k: v for k, v in d.items() if k != "timings_ms"}  # noqa: E731
    assert strip(out) == strip(cli) and set(out["timings_ms"]) == set(cli["timings_ms"])

    follow = client.predict(question="And how many more might follow?",
                            history=["How many Iranians are being deported from the US?"], api_name="/ask")
    assert "400" in follow["answer"] and follow["citations"][0]["doc_id"] == "001_efd61a3e5694ca25.txt"
    dated = client.predict(question=DETAINEES, date_to="2026-02-10", api_name="/ask")
    assert {c["doc_id"] for c in dated["citations"]} == {"003_0e26de0699d51022.txt"}
    outlet = client.predict(question=DETAINEES, sources=["Kurdistan24"], api_name="/ask")
    assert {r["doc_id"] for r in outlet["retrieved"]} == {"004_68573ee398939c01.txt"}
    with pytest.raises(Exception, match=r"date_to: not a date: 'soon'"):
        client.predict(question=DETAINEES, date_to="soon", api_name="/ask")


def _can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare() and os.environ.get("CI") != "true", reason="needs root for unshare -n")
# ---------------------------------------------------------------------------- browser, extractive engine
@needs_chromium
def test_seed_question_cited_answer_opens_the_highlighted_passage(server, page, tmp_path):
    expected = _api(server).predict(question=DETAINEES, api_name="/ask")  # the same engine through the API
    answer = page.ask(DETAINEES)
    text = answer.inner_text()
    assert "450" in text and ("5,500" in text or "5,000" in text)  # the newest figures, each with its date
    assert "extractive" in page.message_of(answer).locator(".answer-meta").inner_text()
    assert page.page.evaluate("window.__streamed.length") >= 1  # the answer streamed in before it was verified
    links = answer.locator("a.cite-link")
    marks = links.all_inner_texts()  # every [n] of the text is a link; a source may be cited twice
    assert sorted(set(marks)) == sorted(f"[{c['n']}]" for c in expected["citations"]) and len(marks) >= 2
    assert page.page.locator(".cited-article:not([hidden])").count() == 0  # nothing open before a click
    for c in expected["citations"]:
        link = links.nth(marks.index(f"[{c['n']}]"))
        assert link.inner_text() == f"[{c['n']}]"
        article = page.open_citation(link)
        mark = article.locator("mark.cited-quote")
        assert mark.count() == 1 and mark.inner_text() == c["quote"]
        assert len(article.locator(".article-text").inner_text()) > len(c["quote"]) + 100  # inside its article
        assert f"{c['doc_id']}, characters {c['start']}-{c['end']}" in article.locator(".cited-doc").inner_text()
        if c["doc_id"] == "003_0e26de0699d51022.txt":
            head = article.locator(".cited-head").inner_text()
            assert "Iraq Receives Hundreds of ISIS Detainees from Syria" in head
            assert "2026-02-02" in head and "MENAFN" in head
    detainees = next(c for c in expected["citations"] if "450 ISIS detainees" in c["quote"])
    page.open_citation(links.nth(marks.index(f"[{detainees['n']}]")))
    sources = page.page.locator("#sources .source")
    assert sources.count() == len(expected["retrieved"])
    assert page.page.locator("#sources .source.cited").count() >= 1
    # the re-scored hybrid score (best sentence's cosine + weighted BM25), as the API gives it
    assert re.search(r"score \d\.\d{4}", sources.first.inner_text())
    assert expected["retrieved"][0]["doc_id"] in sources.first.inner_text()
    shot = Path(os.environ.get("UI_SCREENSHOT") or tmp_path / "ui.png")
    if not shot.is_absolute():
        shot = ROOT / shot
    page.page.screenshot(path=str(shot))
    assert shot.stat().st_size > 30_000


@needs_chromium
def test_follow_up_uses_the_conversation_and_new_chat_forgets_it(page):
    first = page.ask("How many Iranians are being deported from the US?")
    assert "120" in first.inner_text()
    follow = page.ask("And how many more might follow?")
    follow_text = follow.inner_text()
    assert "400" in follow_text and follow.locator("a.cite-link").count() >= 1
    earlier = page.open_citation(first.locator("a.cite-link").first)  # the first answer's citations still open
    assert "120" in earlier.locator("mark.cited-quote").inner_text()
    assert earlier.get_attribute("id") == "cite-1-1"
    page.page.locator("#new-chat").click()
    page.page.wait_for_function("document.querySelectorAll('#chat .answer-final').length === 0")
    page.expect(page.page.locator(".cited-article")).to_have_count(0)
    alone = page.ask("And how many more might follow?")
    assert alone.inner_text() != follow_text  # without the earlier turn the words mean something else
    page.page.locator("#chat button[aria-label='Clear']").click()  # the chatbot's bin: a new chat too
    page.page.wait_for_function("document.querySelectorAll('#chat .answer-final').length === 0")
    page.expect(page.page.locator(".cited-article")).to_have_count(0)  # the server's reset has arrived
    assert page.ask("How many Iranians are being deported from the US?").locator("a.cite-link").count() >= 1


@needs_chromium
def test_example_questions_and_filters(page):
    p = page.page
    p.get_by_text("Who is Iraq's ambassador to Moscow?", exact=True).first.click()  # an example fills the box
    playwright_api.expect(p.locator("#question textarea")).to_have_value("Who is Iraq's ambassador to Moscow?",
                                                                        timeout=30_000)
    p.get_by_text("Filters", exact=True).first.click()
    p.locator("#date-to textarea, #date-to input").first.fill("2026-02-10")
    answer = page.ask(DETAINEES)
    assert "450" in answer.inner_text() and "5,500" not in answer.inner_text()  # the 2026-02-22 article is out
    assert "5,000" not in answer.inner_text()  # and the 2026-02-25 one
    retrieved = set(p.locator("#sources .source-doc").all_inner_texts())
    assert "003_0e26de0699d51022.txt" in retrieved  # dated before: 000 (2025) and 003; undated 001 is out too
    assert retrieved <= {"000_9b2a7a8087030aa2.txt", "003_0e26de0699d51022.txt"}, retrieved
    p.locator("#date-to textarea, #date-to input").first.fill("")
    outlets = p.locator("#outlets input")
    outlets.click()
    outlets.fill("Kurdistan")
    p.get_by_role("option", name="Kurdistan24").click()
    page.ask(DETAINEES)
    assert set(p.locator("#sources .source-doc").all_inner_texts()) == {"004_68573ee398939c01.txt"}
    p.locator("#date-from textarea, #date-from input").first.fill("02/2026")
    done = p.locator("#chat .answer-final, #chat .answer-error").count()
    p.locator("#question textarea").fill(DETAINEES)
    p.locator("#question textarea").press("Enter")
    p.wait_for_function(f"document.querySelectorAll('#chat .answer-final, #chat .answer-error').length > {done}")
    assert p.locator("#chat .answer-error").last.inner_text() == (
        "error: date_from: not a date: '02/2026' (use YYYY-MM-DD, YYYY-MM or YYYY)")


@needs_chromium
def test_upload_an_article_and_ask_about_it_at_once(server, page, tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "zorba.txt").write_text(ZORBA)
    (files / "notes.pdf").write_bytes(b"%PDF-1.4 not an article")
    (files / "broken.txt").write_bytes(b"\xff\xfe broken")
    big = files / "big.txt"
    big.write_text("flamingo " * 8000)  # 72 KB > the 51 KiB limit
    p = page.page
    p.get_by_role("tab", name="Corpus").click()
    upload = p.locator("#upload input[type=file]")
    upload.set_input_files([str(files / n) for n in ("zorba.txt", "notes.pdf", "broken.txt")])
    status = p.locator("#corpus-status .upload-report")
    status.wait_for(timeout=120_000)
    report = status.inner_text()
    assert "added: zorba.txt" in report
    assert "error: notes.pdf: unsupported file type '.pdf'" in report
    assert "error: broken.txt: not valid UTF-8" in report
    assert "Flamingo count at Lake Zorba" in p.locator("#corpus").inner_text()
    assert sorted(f.name for f in (server.index_dir / "uploads").iterdir()) == ["zorba.txt"]
    upload.set_input_files([str(big)])  # refused by size (in the page, before it is sent), naming the file
    refused = p.get_by_text("File(s) exceed the maximum allowed size of", exact=False).first
    refused.wait_for(timeout=30_000)
    assert '"big.txt"' in refused.inner_text()
    assert not (server.index_dir / "uploads" / "big.txt").exists()

    p.get_by_role("tab", name="Chat").click()
    answer = page.ask("How many flamingos were counted at Lake Zorba?")
    assert "7,412" in answer.inner_text()
    article = page.open_citation(answer.locator("a.cite-link").first)
    assert "zorba.txt" in article.locator(".cited-doc").inner_text()
    assert "7,412 flamingos" in article.locator("mark.cited-quote").inner_text()

    p.get_by_role("tab", name="Corpus").click()  # and remove it again
    chooser = p.locator("#to-remove input")
    chooser.click()
    chooser.fill("zorba")
    p.get_by_role("option", name="zorba.txt").click()
    p.locator("#remove").click()
    p.wait_for_function("!document.querySelector('#corpus').innerText.includes('Lake Zorba')", timeout=60_000)
    assert "removed zorba.txt" in p.locator("#corpus-status").inner_text()
    assert not (server.index_dir / "uploads" / "zorba.txt").exists()


@needs_chromium
def test_markup_in_an_article_renders_as_text_and_loads_nothing(page):
    answer = page.ask("How did the Glorbville council vote on the old bridge?")
    text = answer.inner_text()
    assert "9 to 2" in text and SCRIPT in text  # shown literally, not run
    article = page.open_citation(answer.locator("a.cite-link").first)
    shown = article.locator(".article-text").inner_text()
    assert SCRIPT in shown and MD_IMAGE in shown and HTML_IMAGE in shown
    assert SCRIPT in page.page.locator("#sources").inner_text()
    p = page.page
    assert p.evaluate("window.__pwned") is None
    assert p.locator("img[src*='example.com'], script:has-text('__pwned')").count() == 0
    p.wait_for_timeout(500)
    assert page.outside_hosts() == set()  # no image was fetched from example.com


def test_serve_and_the_api_work_with_the_network_cut(real_index, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    port = free_port()
    client = tmp_path / "client.py"
    client.write_text(f"""
import json, socket, time
from gradio_client import Client
try:
    socket.create_connection(("pypi.org", 443), timeout=5)
    raise SystemExit("NETWORK-STILL-UP")
except OSError:
    pass
for _ in range(600):
    try:
        c = Client("http://127.0.0.1:{port}/", verbose=False)
        break
    except Exception:
        time.sleep(0.5)
print(json.dumps(c.predict(question={DETAINEES!r}, api_name="/ask")))
""")
    script = (f"ip link set lo up; {ASSISTANT} serve --llm extractive --port {port} 2>serve.log & server=$!; "
              f"timeout 300 {sys.executable} {client}; status=$?; kill $server; wait $server; exit $status")
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_SEEDS_DIR": str(SEEDS)}
    p = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr + (tmp_path / "serve.log").read_text()
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["engine"] == "extractive" and "450" in out["answer"]


# ---------------------------------------------------------------------------- browser, local model
def _local_llm_available() -> bool:
    from assistant.models.local import is_installed

    return is_installed()


@needs_chromium
@pytest.mark.skipif(not _local_llm_available() and os.environ.get("CI") != "true",
                    reason="the local-llm extra is not installed")
def test_local_model_streams_tokens_then_a_verified_cited_answer(real_index, browser, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    srv = Server(index_dir, tmp_path / "serve.log", "--llm", "local")
    try:
        page = Page(browser, srv.url)
        answer = page.ask(DETAINEES, timeout_s=600)
        streamed = [t for t in page.page.evaluate("window.__streamed") if "Searching the articles" not in t]
        assert len(streamed) >= 3, streamed  # token by token, not all at once
        assert all(len(a) <= len(b) for a, b in zip(streamed, streamed[1:], strict=False))
        meta = page.message_of(answer).locator(".answer-meta")
        assert re.fullmatch(r"local · [\d.]+ m?s", meta.inner_text()), meta.inner_text()  # the one-line engine line
        hover = meta.get_attribute("title")
        assert re.match(r"local qwen2.5-coder-1.5b-instruct\S*; first text after [\d.]+ m?s", hover), hover
        links = answer.locator("a.cite-link")
        assert links.count() >= 1 and any(x in answer.inner_text() for x in ("450", "5,500", "150"))
        article = page.open_citation(links.first)
        quote = article.locator("mark.cited-quote").inner_text()
        assert quote and quote in article.locator(".article-text").inner_text()
        assert page.outside_hosts() == set()
        page.close()
    finally:
        srv.stop()


# ---------------------------------------------------------------------------- browser, a stand-in engine in-process


@needs_chromium
def test_tokens_stream_into_the_page_and_new_chat_cancels_and_releases_the_model(hash_settings, browser):
    from assistant.apps.ui.app import serve
    from assistant.ingest.indexer import Indexer
    from assistant.pipeline import Assistant

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    settings = hash_settings.with_overrides(ui_port=free_port())
    engine = HeldEngine()
    demo = serve(settings, Assistant(settings, engine=engine), block=False)
    try:
        page = Page(browser, f"http://127.0.0.1:{settings.ui_port}/")
        p = page.page
        p.locator("#question textarea").fill("Anything?")
        p.locator("#question textarea").press("Enter")
        p.wait_for_function("window.__streamed.some((t) => t.includes('word3'))", timeout=30_000)
        streamed = [t for t in p.evaluate("window.__streamed") if "word" in t]
        assert len(streamed) >= 3 and streamed[0] != streamed[-1]  # several states, growing
        assert engine.lock.locked()
        p.locator("#new-chat").click()
        assert engine.closed.wait(10), "the engine's stream was not closed"
        assert engine.lock.acquire(timeout=5), "the model's lock was not released"
        engine.lock.release()
        p.wait_for_function("document.querySelectorAll('#chat .answer').length === 0")
        assert page.outside_hosts() == set()
        page.close()
    finally:
        demo.close()


# ---------------------------------------------------------------------------- figures over time, answers out
@needs_chromium
def test_the_timeline_chart_opens_passages_and_loads_nothing_from_outside(server, page, tmp_path):
    expected = _api(server).predict(question=DETAINEES, api_name="/ask")
    assert len({p["date"] for p in expected["timeline"]}) >= 2
    answer = page.ask(DETAINEES)
    chart = page.page.locator("#timeline-chart .js-plotly-plot")
    chart.wait_for(timeout=30_000)
    markers = page.page.locator("#timeline-chart .scatterlayer .point")
    assert markers.count() == len(expected["timeline"])
    table = page.page.locator("#timeline-table table.timeline-table")
    rows = table.locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == [p["date"] for p in expected["timeline"]]  # beside it, by date
    quotes = {p["n"]: p["quote"] for p in expected["timeline"]}
    for i in range(markers.count()):  # a real click on each marker opens a passage of the timeline
        markers.nth(i).click(force=True)
        article = page.page.locator(".cited-article:not([hidden])")
        article.wait_for()
        n = int(article.get_attribute("id").rsplit("-", 1)[1])
        assert n in quotes and article.locator("mark.cited-quote").inner_text() == quotes[n]
    for point in expected["timeline"]:  # ... and each point's click opens exactly its own (markers may overlap)
        page.page.evaluate("([turn, n]) => document.querySelector('#timeline-chart .js-plotly-plot')"
                           ".emit('plotly_click', {points: [{customdata: [turn, n]}]})", [1, point["n"]])
        article = page.page.locator(f".cited-article#cite-1-{point['n']}:not([hidden])")
        article.wait_for()
        assert article.locator("mark.cited-quote").inner_text() == point["quote"]
    markers.nth(0).hover(force=True)
    hover = page.page.locator(".hoverlayer .hovertext")
    hover.wait_for(timeout=10_000)
    shown = hover.text_content()  # an SVG text: its content, not innerText
    # plotly shows the point nearest the pointer, which may be a neighbour drawn close by: whichever it
    # is, its label is "[n] date · outlet: figure" of that very point of the timeline
    by_n = {p["n"]: p for p in expected["timeline"]}
    n = int(re.match(r"\[(\d+)\]", shown).group(1))
    assert n in by_n and shown.startswith(f"[{n}] {by_n[n]['date']} · {by_n[n]['outlet']}: {by_n[n]['text']}"), shown
    assert "450" in answer.inner_text()
    page.page.wait_for_timeout(500)
    assert page.outside_hosts() == set()
    shot = Path(os.environ.get("UI_SCREENSHOT_TIMELINE") or tmp_path / "timeline.png")
    shot = shot if shot.is_absolute() else ROOT / shot
    page.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 30_000


@needs_chromium
def test_the_conversation_downloads_as_markdown_with_resolving_footnotes(server, page, tmp_path):
    import re

    first = page.ask(DETAINEES)
    second = page.ask("And how many more might follow?")
    assert first.count() and second.count()
    button = page.page.locator("#download")
    button.wait_for()
    with page.page.expect_download() as info:
        button.click()
    path = tmp_path / "conversation.md"
    info.value.save_as(path)
    md = path.read_text()
    api = [_api(server).predict(question=DETAINEES, api_name="/ask")]
    assert md.startswith("# News assistant: conversation") and f"## {DETAINEES}" in md
    refs = set(re.findall(r"\[\^(\d+-\d+)\](?!:)", md))
    notes = dict(re.findall(r"^\[\^(\d+-\d+)\]: (.*)$", md, re.MULTILINE))
    assert refs and refs == set(notes)  # every footnote reference resolves
    for c in api[0]["citations"]:  # ... to the quote of its own citation
        assert c["quote"].replace("*", "\\*") in notes[f"1-{c['n']}"]
    assert "*Answered by extractive.*" in md


@needs_chromium
def test_the_conversation_takes_most_of_the_window(server, browser):
    p = Page(browser, server.url)
    try:
        p.page.set_viewport_size({"width": 1280, "height": 800})
        p.ask(DETAINEES)
        height = p.page.evaluate("document.querySelector('#chat').getBoundingClientRect().height")
        assert height >= 0.6 * 800
        line = p.message_of(p.page.locator("#chat .answer-final").first).locator(".answer-meta")
        assert line.inner_text().count("\n") == 0 and len(line.inner_text()) <= 30  # one short line
    finally:
        p.close()


@needs_chromium
def test_the_corpus_tab_takes_a_page_and_a_feed_by_url(server, page):
    from test_web_ingest import Site

    site = Site()
    try:
        p = page.page
        p.get_by_role("tab", name="Corpus").click()
        box = p.locator("#url textarea, #url input").first
        for url, added in ((f"{site.base}/news/port.html", "news/port"), (f"{site.base}/feed.xml", "news/a.html")):
            box.fill(url)
            p.locator("#fetch").click()
            p.wait_for_function(f"document.querySelector('#corpus-status').innerText.includes('{added}')",
                                timeout=120_000)
        status = p.locator("#corpus-status").inner_text()
        assert f"added: {site.base}/news/a.html" in status and f"{site.base}/news/missing.html: HTTP 404" in status
        assert "Port reopens after the storm" in p.locator("#corpus").inner_text()
        p.get_by_role("tab", name="Chat").click()
        answer = page.ask("How many ships waited offshore at Valdra?")
        assert "40" in answer.inner_text()
        p.get_by_role("tab", name="Corpus").click()  # take them out again: later tests see the seed corpus
        chooser = p.locator("#to-remove input")
        for doc in (f"{site.base}/news/port", f"{site.base}/news/a.html", f"{site.base}/news/b.html"):
            chooser.click()
            chooser.fill(doc.rsplit("/", 1)[-1])
            p.get_by_role("option", name=doc).click()
        p.locator("#remove").click()
        p.wait_for_function("!document.querySelector('#corpus').innerText.includes('Port reopens')", timeout=60_000)
        assert page.outside_hosts() == set()
    finally:
        site.close()
