"""The chat UI (``assistant serve``): a Gradio page over the same ``Assistant`` the CLI uses.

    build_app(settings, assistant=None) -> gr.Blocks   the page, plus the named API endpoint ``/ask``
    serve(settings, assistant=None)                    launch it (loopback unless told otherwise)

What it shows: a chat that keeps the conversation (earlier questions are the history, as in
``assistant chat``), streams the answer and then shows the verified one with the engine, model and
timing; each ``[n]`` of the verified answer is a link that opens the cited passage highlighted
(``<mark>``) inside its article; a sources panel lists every retrieved passage with its score;
filters (dates, outlets); a corpus tab lists the articles, removes them and ingests uploads, which
are copied into ``<index dir>/uploads/`` first (they are single-file roots, so a re-ingest of the
seeds never removes them).

Safety: article text is data, never markup. The chatbot renders no Markdown (``render_markdown=False``)
and every message is built here from ``html.escape``d text plus our own links; the passage and
source panels are escaped the same way; links to articles are only ever ``http(s)`` URLs.

gradio is imported only inside ``build_app`` / ``serve``: importing this module stays cheap and
``assistant --help`` instant. Analytics are off before gradio is first imported.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answering.types import Answer, Citation
from assistant.ingest.loading import SUPPORTED_SUFFIXES, too_large_message, unsupported_type_message
from assistant.settings import Settings
from assistant.text.facts import OUTLET_UNKNOWN, UNDATED

UPLOADS_DIR_NAME = "uploads"
EXAMPLES_FILE = "examples.txt"  # example questions live with the corpus they are about: <seeds_dir>/examples.txt
_MARKER = re.compile(r"\[(\d+)\]")
CITATION_HINT = "Click a [n] in an answer to read the cited passage, highlighted in its article."


# ---------------------------------------------------------------------------- escaping
def escape(text: object) -> str:
    """Text as inert HTML: ``<``, ``>``, ``&`` and quotes escaped (None -> empty)."""
    return html.escape("" if text is None else str(text), quote=True)


def _lines(text: str) -> str:
    return escape(text).replace("\n", "<br>")


def safe_url(url: str | None) -> str:
    """The URL if it is http(s), else empty (no ``javascript:`` or ``data:`` links from an article)."""
    url = (url or "").strip()
    return url if re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else ""


def citation_anchor(turn: int, n: int) -> str:
    """The element id of citation ``[n]`` of answer number ``turn`` in the passage viewer."""
    return f"cite-{turn}-{n}"


def _described(c: Citation) -> str:
    return " · ".join(x for x in (c.title or c.doc_id, c.date or UNDATED, c.source or OUTLET_UNKNOWN) if x)


# ---------------------------------------------------------------------------- chat messages
def question_html(question: str) -> str:
    return f'<div class="question">{_lines(question)}</div>'


def streaming_html(text: str) -> str:
    """The answer while it streams (plain escaped text; citations become links once verified)."""
    if not text:
        return '<div class="answer answer-streaming"><em>Searching the articles…</em></div>'
    return f'<div class="answer answer-streaming">{_lines(text)}<span class="cursor">▍</span></div>'


def error_html(message: str) -> str:
    return f'<div class="answer answer-error">error: {escape(message)}</div>'


def answer_html(answer: Answer, turn: int, streamed: str | None = None) -> str:
    """The verified answer: escaped text in which each ``[n]`` of a citation is a link to
    ``#cite-<turn>-<n>`` (the passage viewer opens it), then verification notes and the
    engine · model · timing line."""
    numbers = {c.n: c for c in answer.citations}
    parts, pos = [], 0
    for m in _MARKER.finditer(answer.answer):
        parts.append(_lines(answer.answer[pos:m.start()]))
        c = numbers.get(int(m.group(1)))
        if c is None:
            parts.append(escape(m.group(0)))
        else:
            parts.append(f'<a class="cite-link" href="#{citation_anchor(turn, c.n)}" '
                         f'title="{escape(_described(c))}">[{c.n}]</a>')
        pos = m.end()
    parts.append(_lines(answer.answer[pos:]))
    notes = [answer.quoted_note] if answer.quoted_note else []
    if streamed is not None and streamed.strip() != answer.answer.strip():
        notes.append("Verification changed the streamed text; this is the verified answer.")
    if not answer.grounded:
        notes.append("No valid citation: this answer is not grounded in the articles.")
    if answer.invalid_citations:
        notes.append(f"Removed {answer.invalid_citations} citation(s) that matched no source.")
    for u in answer.unsupported_sentences:
        cited = "".join(f"[{n}]" for n in u.get("cited", [])) or "no source"
        notes.append(f"Not supported by {cited}: {u.get('sentence', '')}")
    notes_html = "".join(f'<div class="answer-note">{escape(n)}</div>' for n in notes)
    return (f'<div class="answer answer-final">{"".join(parts)}</div>{notes_html}'
            f'<div class="answer-meta">{escape(meta_line(answer))}</div>')


def meta_line(answer: Answer) -> str:
    """Which engine and model answered, and how long it took."""
    t = answer.timings_ms
    who = answer.engine + (f" {answer.model}" if answer.model else "")
    return f"{who} · {_duration(t.get('total', 0))} (first text after {_duration(t.get('first_token', 0))})"


def _duration(ms: float) -> str:
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


# ---------------------------------------------------------------------------- passage viewer
def highlighted_article_html(text: str | None, c: Citation) -> tuple[str, bool]:
    """The article's text, escaped, with the cited quote in ``<mark>``. False when the quote is no
    longer at its offsets nor anywhere in the article (then only the quote is shown)."""
    if text is not None:
        start, end = c.start, c.end
        if text[start:end] != c.quote:
            found = text.find(c.quote)
            start, end = (found, found + len(c.quote)) if found >= 0 else (-1, -1)
        if start >= 0:
            return (f'{escape(text[:start])}<mark class="cited-quote">{escape(text[start:end])}</mark>'
                    f'{escape(text[end:])}'), True
    return f'<mark class="cited-quote">{escape(c.quote)}</mark>', False


def cited_article_html(c: Citation, article_text: str | None, turn: int) -> str:
    """One citation in the viewer (hidden until its ``[n]`` is clicked): title, date, outlet and
    link when known, then the whole article with the cited passage highlighted."""
    head = [f'<span class="cite-number">[{c.n}]</span>', f'<strong>{escape(c.title or c.doc_id)}</strong>']
    head += [escape(x) for x in (c.date or UNDATED, c.source or OUTLET_UNKNOWN)]
    url = safe_url(c.url)
    if url:
        head.append(f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer nofollow">link</a>')
    body, found = highlighted_article_html(article_text, c)
    note = "" if found else ('<p class="article-note">The article has changed or left the index since; '
                             'this is the quote as it was cited.</p>')
    return (f'<article class="cited-article" id="{citation_anchor(turn, c.n)}" hidden>'
            f'<header class="cited-head">{" · ".join(head)}</header>'
            f'<div class="cited-doc">{escape(c.doc_id)}, characters {c.start}-{c.end}</div>{note}'
            f'<div class="article-text">{body}</div></article>')


def citations_section_html(answer: Answer, turn: int, read_article: Callable[[str], str | None]) -> str:
    """The viewer's entries for one answer (``read_article(doc_id)``: the cleaned text, or None)."""
    texts: dict[str, str | None] = {}
    items = []
    for c in answer.citations:
        if c.doc_id not in texts:
            texts[c.doc_id] = read_article(c.doc_id)
        items.append(cited_article_html(c, texts[c.doc_id], turn))
    return f'<section class="turn-citations" data-turn="{turn}">{"".join(items)}</section>'


def citation_viewer_html(sections: Sequence[str] = ()) -> str:
    return f'<div class="citation-viewer"><p class="citation-hint">{escape(CITATION_HINT)}</p>{"".join(sections)}</div>'


# ---------------------------------------------------------------------------- sources panel
def sources_html(answer: Answer | None) -> str:
    """Every retrieved passage of the latest answer with its score; the cited ones marked."""
    if answer is None or not answer.passages:
        return ('<div class="sources"><p class="sources-empty">'
                'The passages retrieved for an answer are listed here.</p></div>')
    items = []
    for doc in answer.passages:
        m = doc.metadata
        start, end = int(m.get("start", 0)), int(m.get("end", 0))
        cited = [c.n for c in answer.citations if c.doc_id == m.get("doc_id") and start <= c.start and c.end <= end]
        head = [f"score {float(m.get('score') or 0):.4f}", escape(m.get("title") or m.get("doc_id")),
                escape(m.get("date") or UNDATED), escape(m.get("source") or OUTLET_UNKNOWN)]
        mark = (f'<span class="cited-badge">cited as {"".join(f"[{n}]" for n in cited)}</span>' if cited
                else '<span class="uncited-badge">not cited</span>')
        items.append(f'<li class="source {"cited" if cited else "not-cited"}">'
                     f'<div class="source-head">{" · ".join(head)} {mark}</div>'
                     f'<div class="source-doc">{escape(m.get("doc_id"))}</div>'
                     f'<div class="source-text">{escape(doc.page_content)}</div></li>')
    return (f'<div class="sources"><p class="sources-question">Retrieved for: {escape(answer.question)}</p>'
            f'<ol class="source-list">{"".join(items)}</ol></div>')


# ---------------------------------------------------------------------------- corpus
def uploads_dir(settings: Settings) -> Path:
    """Where uploaded files are kept: inside the index store, so they live as long as the index."""
    return Path(settings.index_dir) / UPLOADS_DIR_NAME


def corpus_rows(settings: Settings) -> list[dict]:
    from assistant.index.layout import IndexDir

    up = str(uploads_dir(settings).resolve()) + os.sep
    return [{**{k: v for k, v in r.items() if k != "origin_file"}, "uploaded": r["origin_file"].startswith(up)}
            for r in IndexDir(settings.index_dir).article_rows()]


def corpus_html(rows: Sequence[dict]) -> str:
    if not rows:
        return ('<p class="corpus-empty">The index is empty: upload articles below or run '
                '<code>assistant ingest</code>.</p>')
    body = []
    for r in rows:
        title = escape(r["title"]) or '<span class="untitled">untitled</span>'
        url = safe_url(r.get("url"))
        if url:
            title = f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
        body.append(f'<tr><td>{title}</td><td>{escape(r["date"] or "-")}</td><td>{escape(r["source"] or "-")}</td>'
                    f'<td class="num">{r["chunks"]}</td><td><code>{escape(r["doc_id"])}</code>'
                    f'{" <em>(uploaded)</em>" if r.get("uploaded") else ""}</td></tr>')
    total = sum(r["chunks"] for r in rows)
    return (f'<p class="corpus-count">{len(rows)} articles, {total} passages</p>'
            '<table class="corpus-table"><thead><tr><th>title</th><th>date</th><th>outlet</th><th>chunks</th>'
            f'<th>doc_id</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def read_article_text(settings: Settings, doc_id: str) -> str | None:
    """The cleaned text of an indexed article (citations' offsets point into it), or None."""
    from assistant.index.layout import IndexDir

    index = IndexDir(settings.index_dir)
    entry = index.read_manifest().docs.get(doc_id)
    if entry is None:
        return None
    try:
        return index.read_article(entry.article_file)["text"]
    except (OSError, ValueError, KeyError):
        return None


# ---------------------------------------------------------------------------- uploads
def upload_problem(name: str, size: int, max_bytes: int) -> str | None:
    """Why an upload is refused before it is read (type, emptiness, size), as one line naming the
    file; None when it may be ingested."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return f"{name}: {unsupported_type_message(suffix)}"
    if size == 0:
        return f"{name}: empty file"
    if size > max_bytes:
        return f"{name}: {too_large_message(size, max_bytes)}"
    return None


def safe_upload_name(name: str) -> str:
    """A plain file name for the store: no folders, no leading dots, only word characters, dots,
    dashes and spaces."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r"[^\w.\- ]", "_", base).strip().lstrip(".")
    stem, suffix = os.path.splitext(base)
    return (stem[:100] or "upload") + suffix[:10]


@dataclass
class UploadReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # one line each, naming the file
    stored: list[str] = field(default_factory=list)  # file names kept in the uploads folder
    chunks_embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
                f"{len(self.errors)} error(s); {self.chunks_embedded} passages embedded in {self.seconds:.1f}s")


def ingest_uploads(settings: Settings, files: Iterable[tuple[Path | str, str]],
                   progress: Callable[[int, int], None] | None = None, embedder=None) -> UploadReport:
    """Copy uploaded files (``(temporary path, original name)``) into the uploads folder and ingest
    them from there. Refused files (type, size) are not copied; a file of which nothing could be
    indexed is taken out of the store again (a replaced file gets its previous version back)."""
    from assistant.index.layout import IndexDir
    from assistant.ingest.indexer import Indexer

    t0 = time.perf_counter()
    report = UploadReport()
    folder = uploads_dir(settings).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    max_bytes = int(settings.max_upload_mb * 2**20)
    targets: dict[Path, Path | None] = {}  # stored file -> its previous version (to restore on failure)
    for tmp, original in files:
        tmp = Path(tmp)
        name = safe_upload_name(original or tmp.name)
        try:
            size = tmp.stat().st_size
        except OSError as exc:
            report.errors.append(f"{name}: cannot read the upload: {exc.strerror or exc}")
            continue
        problem = upload_problem(name, size, max_bytes)
        if problem:
            report.errors.append(problem)
            continue
        target = folder / name
        if target in targets:
            report.errors.append(f"{name}: uploaded twice in one batch; the first copy is kept")
            continue
        backup = None
        if target.exists():
            backup = target.with_name(f".{name}.previous")
            os.replace(target, backup)
        shutil.copyfile(tmp, target)
        targets[target] = backup
    if not targets:
        report.seconds = time.perf_counter() - t0
        return report

    result = Indexer(settings, embedder=embedder).ingest(sorted(targets), progress=progress)
    prefix = str(folder) + os.sep
    report.errors += [str(e).replace(prefix, "") for e in result.errors]
    report.added, report.updated, report.unchanged = result.added, result.updated, result.unchanged
    report.chunks_embedded = result.chunks_embedded
    docs = IndexDir(settings.index_dir).read_manifest().docs
    taken = set(result.added + result.updated + result.unchanged + result.reindexed)
    indexed_files = {docs[d].origin_file for d in taken if d in docs}  # files this upload got into the index
    for target, backup in sorted(targets.items()):
        if str(target) in indexed_files:
            report.stored.append(target.name)
            if backup is not None:
                backup.unlink(missing_ok=True)
        elif backup is not None:
            os.replace(backup, target)  # nothing of the new version got in: the old one stays
        else:
            target.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - t0
    return report


def remove_articles(settings: Settings, doc_ids: Sequence[str], embedder=None) -> str:
    """Remove articles from the index; an uploaded file leaves the store once none of its articles
    is indexed. Returns a one-line summary."""
    from assistant.index.layout import IndexDir
    from assistant.ingest.indexer import Indexer

    index = IndexDir(settings.index_dir)
    before = index.read_manifest().docs
    origins = {before[d].origin_file for d in doc_ids if d in before}
    report = Indexer(settings, embedder=embedder).remove(list(doc_ids))
    still = {e.origin_file for e in index.read_manifest().docs.values()}
    folder = uploads_dir(settings).resolve()
    for origin in origins - still:
        path = Path(origin)
        if path.parent == folder:
            path.unlink(missing_ok=True)
    return (f"removed {', '.join(report.removed)}; index: {report.total_docs} articles, "
            f"{report.total_chunks} passages")


def upload_report_html(report: UploadReport) -> str:
    lines = [f'<p class="upload-summary">{escape(report.summary())}</p>']
    for label, ids in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)):
        lines += [f'<div class="upload-ok">{label}: {escape(d)}</div>' for d in ids]
    lines += [f'<div class="upload-error">error: {escape(e)}</div>' for e in report.errors]
    return f'<div class="upload-report">{"".join(lines)}</div>'


# ---------------------------------------------------------------------------- filters
def parse_filters(date_from: str | None, date_to: str | None, outlets: Sequence[str] | None) -> dict:
    """The retrieval filters from the UI's fields (empty ones left out); a bad date raises
    ``FilterError`` with a one-line message."""
    from assistant.retrieval.retriever import parse_date_bound

    date_from, date_to = (date_from or "").strip() or None, (date_to or "").strip() or None
    parse_date_bound(date_from, upper=False, name="date_from")
    parse_date_bound(date_to, upper=True, name="date_to")
    return {"date_from": date_from, "date_to": date_to, "sources": [o for o in outlets or [] if o] or None}


def _known_errors() -> tuple[type[BaseException], ...]:
    """What the page shows as a one-line error: every error the user can cause, and bad values
    Gradio's own inputs may carry."""
    from assistant.errors import AssistantError

    return (AssistantError, ValueError)


# ---------------------------------------------------------------------------- the page
CSS = """
.question, .answer { white-space: normal; }
.answer-streaming .cursor { opacity: .6; }
.answer-meta { font-size: .8em; opacity: .7; margin-top: .5em; }
.answer-note { font-size: .8em; color: #9a3412; margin-top: .3em; }
.answer-error { color: #b91c1c; }
a.cite-link { font-weight: 600; text-decoration: none; padding: 0 .1em; border-radius: 3px; }
a.cite-link:hover, a.cite-link:focus { background: #fde68a; }
.citation-hint { opacity: .7; font-size: .9em; }
.cited-article[hidden] { display: none !important; }
.cited-head { font-size: .95em; margin-bottom: .2em; }
.cited-doc { font-size: .8em; opacity: .7; margin-bottom: .4em; }
.article-text { white-space: pre-wrap; max-height: 460px; overflow-y: auto; border: 1px solid #e5e7eb;
  border-radius: 6px; padding: .6em; font-size: .9em; line-height: 1.45; }
mark.cited-quote { background: #fde047; color: inherit; padding: 0 .1em; }
.source-list { padding-left: 1.6em; }
.source { margin-bottom: .7em; padding-left: .5em; border-left: 3px solid transparent; }
.source.cited { border-left-color: #eab308; }
.source-head { font-size: .85em; font-weight: 600; }
.source-doc { font-size: .75em; opacity: .7; }
.source-text { font-size: .85em; white-space: pre-wrap; }
.cited-badge { background: #fde68a; border-radius: 4px; padding: 0 .3em; font-weight: 600; }
.uncited-badge { opacity: .6; font-weight: 400; }
.corpus-table { width: 100%; font-size: .9em; }
.corpus-table td.num { text-align: right; }
.upload-error { color: #b91c1c; }
"""

# Clicking a citation link shows its article in the passage viewer (all entries are in the page,
# hidden; no request is made). Delegated from the document, so it works for every answer.
HEAD = """<script>
(() => {
  function openCitation(id, tries = 30) {
    const target = document.getElementById(id);
    if (!target || !target.classList.contains('cited-article')) {
      // the viewer may still be rendering the answer that just arrived
      if (tries > 0) setTimeout(() => openCitation(id, tries - 1), 100);
      return false;
    }
    document.querySelectorAll('.cited-article').forEach((el) => {
      el.hidden = el !== target;
      el.classList.toggle('open', el === target);
    });
    document.querySelectorAll('a.cite-link.active').forEach((a) => a.classList.remove('active'));
    const mark = target.querySelector('mark.cited-quote');
    const box = target.querySelector('.article-text');
    target.scrollIntoView({block: 'nearest'});
    if (mark && box) box.scrollTop = Math.max(0, mark.offsetTop - box.offsetTop - 40);
    return true;
  }
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.cite-link') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    link.classList.add('active');
    openCitation((link.getAttribute('href') || '').replace(/^#/, ''));
  }, true);
  window.newsAssistantOpenCitation = openCitation;
})();
</script>"""


def engine_label(assistant) -> str:
    engine = assistant.engine
    model = getattr(engine, "model_name", None)
    return engine.name + (f" ({model})" if model else "")


def example_questions(settings: Settings) -> list[str]:
    """The example questions shipped with the corpus (``<seeds_dir>/examples.txt``, one a line); none
    when the corpus has no such file."""
    path = Path(settings.seeds_dir) / EXAMPLES_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [q.strip() for q in lines if q.strip() and not q.lstrip().startswith("#")]


def build_app(settings: Settings, assistant=None):
    """The UI as a ``gr.Blocks`` (launch it with ``serve``, which adds the page's CSS and script).
    ``assistant`` defaults to ``Assistant(settings)``; its engine answers every session."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    from assistant.models.embedders import get_embedder
    from assistant.pipeline import Assistant

    if assistant is None:
        assistant = Assistant(settings)
    known_errors = _known_errors()
    corpus_lock = threading.Lock()  # one corpus change at a time from this process (Indexer also locks the folder)

    def embedder():
        return getattr(assistant.retriever, "embedder", None) or get_embedder(settings.embedder)

    def new_state() -> dict:
        return {"history": [], "sections": []}

    def header_html() -> str:
        rows = corpus_rows(settings)
        return (f'<div class="app-header"><h2>News assistant</h2><p>Answers from {len(rows)} indexed articles, '
                f'with citations you can open. Engine: {escape(engine_label(assistant))}.</p></div>')

    # ------------------------------------------------------------------ chat
    def respond(question, messages, state, date_from, date_to, outlets):
        question = (question or "").strip()
        state = state or new_state()
        messages = list(messages or [])
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = len(state["history"]) + 1
        messages += [{"role": "user", "content": question_html(question)},
                     {"role": "assistant", "content": streaming_html("")}]
        yield messages, state, gr.skip(), gr.skip(), ""
        shown, final = "", None
        try:
            filters = parse_filters(date_from, date_to, outlets)
            stream = assistant.stream(question, state["history"], **filters)
            try:
                for item in stream:
                    if isinstance(item, Answer):
                        final = item
                        break
                    shown += item
                    messages[-1] = {"role": "assistant", "content": streaming_html(shown)}
                    yield messages, state, gr.skip(), gr.skip(), gr.skip()
            finally:
                stream.close()  # a cancelled request lets go of the model at once
        except known_errors as exc:
            messages[-1] = {"role": "assistant", "content": error_html(str(exc))}
            yield messages, state, gr.skip(), gr.skip(), gr.skip()
            return
        except Exception as exc:  # noqa: BLE001 - the page must say something; the log has the rest
            import traceback

            traceback.print_exc()
            messages[-1] = {"role": "assistant", "content": error_html(f"{type(exc).__name__}: {exc}")}
            yield messages, state, gr.skip(), gr.skip(), gr.skip()
            return
        if final is None:
            messages[-1] = {"role": "assistant", "content": error_html("the answer engine gave no answer")}
            yield messages, state, gr.skip(), gr.skip(), gr.skip()
            return
        messages[-1] = {"role": "assistant", "content": answer_html(final, turn, streamed=shown)}
        section = citations_section_html(final, turn, lambda doc_id: read_article_text(settings, doc_id))
        state = {"history": state["history"] + [question], "sections": state["sections"] + [section]}
        yield messages, state, citation_viewer_html(state["sections"]), sources_html(final), gr.skip()

    def new_chat():
        return [], new_state(), citation_viewer_html(), sources_html(None), ""

    # ------------------------------------------------------------------ corpus
    def corpus_outputs(status_html=None):
        rows = corpus_rows(settings)
        outlets = sorted({r["source"] for r in rows if r["source"]})
        return (header_html(), corpus_html(rows),
                gr.update(choices=[r["doc_id"] for r in rows], value=[]),
                gr.update(choices=outlets),
                gr.skip() if status_html is None else status_html)

    def upload(files, progress=gr.Progress()):
        files = [f for f in (files or []) if f]
        if not files:
            return (*corpus_outputs(), None)
        progress(0, desc="reading the files")

        def embedding(done: int, total: int) -> None:
            progress((done, total), desc="embedding passages", unit="passages")

        with corpus_lock:
            report = ingest_uploads(settings, [(Path(f), Path(f).name) for f in files], progress=embedding,
                                    embedder=embedder())
        return (*corpus_outputs(upload_report_html(report)), None)

    def remove(doc_ids):
        if not doc_ids:
            return corpus_outputs('<p class="upload-error">error: choose the articles to remove first</p>')
        with corpus_lock:
            try:
                message = remove_articles(settings, doc_ids, embedder=embedder())
            except known_errors as exc:
                return corpus_outputs(f'<p class="upload-error">error: {escape(exc)}</p>')
        return corpus_outputs(f'<p class="upload-summary">{escape(message)}</p>')

    # ------------------------------------------------------------------ API
    def ask(question: str, history: list[str] | None = None, date_from: str | None = None,
            date_to: str | None = None, sources: list[str] | None = None) -> dict:
        """Answer a question from the indexed articles, with citations. `history`: earlier user
        questions of the conversation, oldest first; `date_from`/`date_to`: YYYY[-MM[-DD]];
        `sources`: outlets. Returns the same JSON object as `assistant ask --json`."""
        try:
            filters = parse_filters(date_from, date_to, sources)
            return assistant.ask(question, list(history or []), **filters).to_json()
        except known_errors as exc:
            raise gr.Error(str(exc)) from None

    # ------------------------------------------------------------------ layout
    rows = corpus_rows(settings)
    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        header = gr.HTML(header_html(), elem_id="app-header")
        state = gr.State(new_state())
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height=520,
                                             render_markdown=False, sanitize_html=True, allow_tags=False,
                                             latex_delimiters=[], feedback_options=None,
                                             buttons=["copy", "copy_all"],
                                             placeholder="Ask about the news articles in the index.")
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="Ask a question and press Enter",
                                                  elem_id="question", scale=8, lines=1, max_lines=4, container=False)
                            ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
                            new_button = gr.Button("New chat", elem_id="new-chat", scale=1, min_width=120)
                        examples = example_questions(settings)
                        if examples:
                            gr.Examples(examples=[[q] for q in examples], inputs=[question], label="Example questions")
                        with gr.Accordion("Filters", open=False, elem_id="filters"):
                            with gr.Row():
                                date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD (or YYYY-MM, YYYY)",
                                                       elem_id="date-from")
                                date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD (or YYYY-MM, YYYY)",
                                                     elem_id="date-to")
                            outlets = gr.Dropdown(label="Outlets", multiselect=True, elem_id="outlets",
                                                  choices=sorted({r["source"] for r in rows if r["source"]}),
                                                  info="Only articles from these outlets (none chosen: all)")
                    with gr.Column(scale=2):
                        gr.Markdown("### Cited passage")
                        viewer = gr.HTML(citation_viewer_html(), elem_id="citation-viewer", js_on_load=None)
                        with gr.Accordion("Sources (every retrieved passage)", open=True):
                            sources = gr.HTML(sources_html(None), elem_id="sources", js_on_load=None)
            with gr.Tab("Corpus", id="corpus"):
                corpus = gr.HTML(corpus_html(rows), elem_id="corpus", js_on_load=None)
                with gr.Row():
                    to_remove = gr.Dropdown(label="Articles to remove", multiselect=True, elem_id="to-remove",
                                            choices=[r["doc_id"] for r in rows], scale=4)
                    remove_button = gr.Button("Remove", variant="stop", elem_id="remove", scale=1)
                upload_files = gr.File(
                    label=(f"Add articles: {' '.join(sorted(SUPPORTED_SUFFIXES))} files, at most "
                           f"{settings.max_upload_mb:g} MiB each (kept in the index's uploads folder)"),
                    file_count="multiple", elem_id="upload")
                status = gr.HTML("", elem_id="corpus-status", js_on_load=None)

        chat_outputs = [chatbot, state, viewer, sources, question]
        chat_inputs = [question, chatbot, state, date_from, date_to, outlets]
        # a question asked while an answer streams runs after it (not dropped, as with Gradio's default "once")
        submitted = question.submit(respond, chat_inputs, chat_outputs, api_visibility="private",
                                    trigger_mode="always_last")
        clicked = ask_button.click(respond, chat_inputs, chat_outputs, api_visibility="private",
                                   trigger_mode="always_last")
        new_button.click(new_chat, None, chat_outputs, cancels=[submitted, clicked], api_visibility="private")
        chatbot.clear(new_chat, None, chat_outputs, cancels=[submitted, clicked], api_visibility="private")
        corpus_out = [header, corpus, to_remove, outlets, status]
        upload_files.upload(upload, [upload_files], corpus_out + [upload_files], concurrency_limit=1,
                            concurrency_id="corpus", api_visibility="private")
        remove_button.click(remove, [to_remove], corpus_out, concurrency_limit=1, concurrency_id="corpus",
                            api_visibility="private")
        demo.load(lambda: corpus_outputs(), None, corpus_out, api_visibility="private")
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=settings.ui_concurrency)
    return demo


def warm_up(assistant) -> None:
    """Load the embedder, the index and (for the local model) the model before the first question,
    and let the local model read its fixed instructions once (they stay cached)."""
    assistant.retrieve("warm up")
    load = getattr(getattr(assistant.engine, "model", None), "load", None)
    if callable(load):
        load()
    warm = getattr(assistant.engine, "warm", None)
    if callable(warm):
        warm()


def serve(settings: Settings, assistant=None, *, block: bool = True):
    """Launch the UI on ``settings.ui_host:ui_port`` (loopback by default; a login when
    ``ui_auth`` is set). Returns the Blocks (with ``block=False`` it keeps running in a thread)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(settings, assistant)
    logins = settings.ui_logins()
    demo.launch(server_name=settings.ui_host, server_port=settings.ui_port, auth=logins or None,
                auth_message="News assistant: log in" if logins else None, share=False, inbrowser=False,
                show_error=True, quiet=True, ssr_mode=False, mcp_server=False, prevent_thread_lock=not block,
                max_file_size=int(settings.max_upload_mb * 2**20), css=CSS, head=HEAD)
    return demo


def check_port_free(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` cannot be listened on (before the slow start-up)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")

