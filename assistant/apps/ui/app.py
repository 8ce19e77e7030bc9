"""The chat UI (``assistant serve``): a Gradio page over the same ``Assistant`` the CLI uses.

    build_app(settings, assistant=None) -> gr.Blocks   the page, plus the named API endpoint ``/ask``
    serve(settings, assistant=None)                    launch it (loopback unless told otherwise)

What it shows: a chat that keeps the conversation (earlier questions are the history, as in
``assistant chat``), streams the answer and then shows the verified one with the engine, model and
timing; each ``[n]`` of the verified answer is a link that opens the cited passage highlighted
(``<mark>``) inside its article; a sources panel lists every retrieved passage with its score;
filters (dates, outlets); a corpus tab lists the articles, removes them and ingests uploads
(``assistant.ingest.uploads``).

This module holds the layout and the event wiring; the HTML is built from escaped text in
``render.py``; the page's CSS and script are ``static/ui.css`` and ``static/ui.js``. The chatbot
renders no Markdown (``render_markdown=False``): article text is data, never markup.

gradio is imported only inside ``build_app`` / ``serve``: importing this module stays cheap and
``assistant --help`` instant. Analytics are off before gradio is first imported.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.answering.types import Answer
from assistant.apps.ui.render import (
    answer_html,
    citation_viewer_html,
    citations_section_html,
    corpus_html,
    error_html,
    header_html,
    question_html,
    sources_html,
    status_html,
    streaming_html,
    timeline_html,
    upload_report_html,
)
from assistant.ingest.loading import SUPPORTED_SUFFIXES
from assistant.ingest.uploads import ingest_uploads, remove_articles, uploads_dir
from assistant.settings import Settings

EXAMPLES_FILE = "examples.txt"  # example questions live with the corpus they are about: <seeds_dir>/examples.txt
STATIC = Path(__file__).resolve().parent / "static"


# ---------------------------------------------------------------------------- data for the page
def corpus_rows(settings: Settings) -> list[dict]:
    """The indexed articles, each marked ``uploaded`` when its file came through the upload."""
    from assistant.index.catalog import Catalog

    up = str(uploads_dir(settings).resolve()) + os.sep
    return [{**{k: v for k, v in r.items() if k != "origin_file"}, "uploaded": r["origin_file"].startswith(up)}
            for r in Catalog.open(settings).snapshot().article_rows()]


def read_article_text(settings: Settings, doc_id: str) -> str | None:
    """The cleaned text of an indexed article (citations' offsets point into it), or None."""
    from assistant.index.catalog import Catalog

    return Catalog.open(settings).article_text(doc_id)


def parse_filters(date_from: str | None, date_to: str | None, outlets: Sequence[str] | None) -> dict:
    """The retrieval filters from the UI's fields (empty ones left out); a bad date raises
    ``FilterError`` with a one-line message."""
    from assistant.retrieval.filters import Filters

    def text_or_none(value):
        return (value.strip() or None) if isinstance(value, str) else value

    date_from, date_to = text_or_none(date_from), text_or_none(date_to)
    wanted = [o for o in outlets if o] if isinstance(outlets, list) else outlets
    Filters.parse(date_from, date_to, wanted)  # one line naming the argument that is wrong
    return {"date_from": date_from, "date_to": date_to, "sources": wanted or None}


def _known_errors() -> tuple[type[BaseException], ...]:
    """What the page shows as a one-line error: every error the user can cause, and bad values
    Gradio's own inputs may carry."""
    from assistant.errors import AssistantError

    return (AssistantError, ValueError)


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


def cross_site(request) -> str | None:
    """Why a corpus change is refused when it does not come from this server's own page (a request
    without an Origin or Referer naming this host: another site, or a program calling the page's
    hidden events), else None. With a login set, Gradio already requires the session as well."""
    if request is None:
        return None  # called in-process (tests, other Python code), not over HTTP
    from urllib.parse import urlparse

    headers = {k.lower(): v for k, v in dict(request.headers).items()}
    host = headers.get("host", "")
    origin = headers.get("origin") or headers.get("referer") or ""
    if origin and urlparse(origin).netloc == host:
        return None
    return "corpus changes are accepted only from this server's own page"


def discard_uploads(files) -> None:
    """Delete Gradio's temporary copies of uploaded files (and their folders, once empty)."""
    for f in files:
        path = Path(f)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


class Throttle:
    """A growing delay after failures, per client: a try after a failed one waits ``base`` seconds,
    doubling with every further failure (at most ``ceiling``); failures older than ``forget`` seconds
    no longer count, and a success forgets them."""

    def __init__(self, base: float = 0.5, ceiling: float = 30.0, forget: float = 900.0):
        self.base, self.ceiling, self.forget = base, ceiling, forget
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def delay(self, client: str = "") -> float:
        with self._lock:
            return self._delay_locked(client)

    def refuse(self, client: str = "") -> float:
        """Count a failure now and return how long it waits (as ``delay`` said before it): requests
        arriving together wait longer one after the other, not all the same."""
        with self._lock:
            wait = self._delay_locked(client)
            self._failures.setdefault(client, []).append(time.monotonic())
        return wait

    def _delay_locked(self, client: str) -> float:
        now = time.monotonic()
        recent = [t for t in self._failures.pop(client, []) if now - t < self.forget]
        if recent:
            self._failures[client] = recent
        return 0.0 if not recent else min(self.ceiling, self.base * 2 ** (len(recent) - 1))

    def record(self, ok: bool, client: str = "") -> None:
        with self._lock:
            if ok:
                self._failures.pop(client, None)
            else:
                self._failures.setdefault(client, []).append(time.monotonic())


class LoginGate:
    """Gradio's login check with a growing delay after failures (``Throttle``), whoever a guess names.
    A right login after a wrong one still waits its turn."""

    def __init__(self, logins: list[tuple[str, str]], base: float = 0.5, ceiling: float = 30.0, forget: float = 900.0):
        self.logins = logins
        self.throttle = Throttle(base, ceiling, forget)

    def delay(self) -> float:
        return self.throttle.delay()

    def __call__(self, username: str, password: str) -> bool:
        import hmac

        time.sleep(self.delay())
        ok = any(hmac.compare_digest(str(username).encode(), user.encode())
                 and hmac.compare_digest(str(password).encode(), secret.encode()) for user, secret in self.logins)
        self.throttle.record(ok)
        return ok


def conversation_file(answers: list[dict]) -> str:
    """The conversation as a Markdown file (its path), for the download button."""
    import tempfile

    from assistant.apps.markdown import conversation_markdown

    folder = Path(tempfile.mkdtemp(prefix="news-assistant-"))
    path = folder / "conversation.md"
    path.write_text(conversation_markdown(answers), encoding="utf-8")
    return str(path)


def page_css() -> str:
    return (STATIC / "ui.css").read_text(encoding="utf-8")


def page_head() -> str:
    """The page's script (citation links open their passage), inlined: the page loads nothing."""
    return f"<script>\n{(STATIC / 'ui.js').read_text(encoding='utf-8')}</script>"


def gr_skip():
    import gradio as gr

    return gr.skip()


def new_state() -> dict:
    return {"history": [], "sections": [], "answers": []}  # answers: Answer.to_json() of each turn


# ---------------------------------------------------------------------------- what the events do
class Handlers:
    """The page's event handlers: one conversation per browser session (its ``state``), one corpus
    change at a time from this process (``Indexer`` also locks the folder)."""

    def __init__(self, settings: Settings, assistant):
        self.settings = settings
        self.assistant = assistant
        self.known_errors = _known_errors()
        self.corpus_lock = threading.Lock()
        # the /ask API: refusals (wrong or oversized arguments) wait longer and longer per client, outside
        # the queue's slots, so a client hammering it with bad requests slows itself, not the others
        self.refusals = Throttle(settings.ui_refusal_delay, ceiling=10.0, forget=60.0)
        self.answering = threading.BoundedSemaphore(settings.ui_concurrency)

    def embedder(self):
        from assistant.models.embedders import get_embedder

        return getattr(self.assistant.retriever, "embedder", None) or get_embedder(self.settings.embedder)

    def header(self) -> str:
        return header_html(len(corpus_rows(self.settings)), engine_label(self.assistant))

    # ------------------------------------------------------------------ chat
    def respond(self, question, messages, state, date_from, date_to, outlets):
        """Stream one answer into the chat: the question, then the text as it comes, then the
        verified answer with its citation links, the passage viewer and the sources panel."""
        import gradio as gr

        question = (question or "").strip()
        state = state or new_state()
        messages = list(messages or [])
        keep = (gr.skip(),) * 3  # the timeline chart, its table, the download: as they are until the answer
        if not question:
            yield (gr.skip(),) * 5 + keep
            return
        messages += [{"role": "user", "content": question_html(question)},
                     {"role": "assistant", "content": streaming_html("")}]
        yield (messages, state, gr.skip(), gr.skip(), "") + keep
        shown, final = "", None
        try:
            for item in self._answer(question, state["history"], date_from, date_to, outlets):
                if isinstance(item, Answer):
                    final = item
                    break
                shown += item
                messages[-1] = {"role": "assistant", "content": streaming_html(shown)}
                yield (messages, state, gr.skip(), gr.skip(), gr.skip()) + keep
        except Exception as exc:  # noqa: BLE001 - the page must say something; the log has the rest
            messages[-1] = {"role": "assistant", "content": error_html(self._message(exc))}
            yield (messages, state, gr.skip(), gr.skip(), gr.skip()) + keep
            return
        if final is None:
            messages[-1] = {"role": "assistant", "content": error_html("the answer engine gave no answer")}
            yield (messages, state, gr.skip(), gr.skip(), gr.skip()) + keep
            return
        yield self._finished(question, final, shown, messages, state)

    def _answer(self, question, history, date_from, date_to, outlets):
        filters = parse_filters(date_from, date_to, outlets)
        stream = self.assistant.stream(question, history, **filters)
        try:
            yield from stream
        finally:
            stream.close()  # a cancelled request lets go of the model at once

    def _message(self, exc: Exception) -> str:
        if isinstance(exc, self.known_errors):
            return str(exc)
        import traceback

        traceback.print_exc()
        return f"{type(exc).__name__}: {exc}"

    def _finished(self, question: str, final: Answer, shown: str, messages: list, state: dict):
        import gradio as gr

        from assistant.apps.ui.chart import timeline_figure

        turn = len(state["history"]) + 1
        messages[-1] = {"role": "assistant", "content": answer_html(final, turn, streamed=shown)}
        section = citations_section_html(final, turn, lambda doc_id: read_article_text(self.settings, doc_id))
        state = {"history": state["history"] + [question], "sections": state["sections"] + [section],
                 "answers": state.get("answers", []) + [final.to_json()]}
        figure = timeline_figure(final, turn)
        return (messages, state, citation_viewer_html(state["sections"]), sources_html(final), gr.skip(),
                gr.update(value=figure, visible=figure is not None), timeline_html(final, turn),
                gr.update(value=conversation_file(state["answers"]), visible=True))

    @staticmethod
    def new_chat():
        import gradio as gr

        return ([], new_state(), citation_viewer_html(), sources_html(None), "", gr.update(value=None, visible=False),
                "", gr.update(value=None, visible=False))

    # ------------------------------------------------------------------ corpus
    def corpus_outputs(self, status: str | None = None):
        """Header, corpus table, the remove list, the outlet filter, the status line."""
        import gradio as gr

        rows = corpus_rows(self.settings)
        outlets = sorted({r["source"] for r in rows if r["source"]})
        return (header_html(len(rows), engine_label(self.assistant)), corpus_html(rows),
                gr.update(choices=[r["doc_id"] for r in rows], value=[]), gr.update(choices=outlets),
                gr.skip() if status is None else status)

    def upload(self, files, progress, request=None):
        files = [f for f in (files or []) if f]
        refused = cross_site(request)
        if refused:
            discard_uploads(files)
            return (*self.corpus_outputs(status_html(refused, error=True)), None)
        if not files:
            return (*self.corpus_outputs(), None)
        progress(0, desc="reading the files")

        def embedding(done: int, total: int) -> None:
            progress((done, total), desc="embedding passages", unit="passages")

        try:
            with self.corpus_lock:
                report = ingest_uploads(self.settings, [(Path(f), Path(f).name) for f in files], progress=embedding,
                                        embedder=self.embedder())
        finally:
            discard_uploads(files)  # Gradio's temporary copies: ours are in the uploads folder now
        return (*self.corpus_outputs(upload_report_html(report)), None)

    def fetch(self, url, request=None):
        """Ingest the article page or the feed at a web address someone pasted."""
        from assistant.ingest.indexer import Indexer
        from assistant.ingest.web import Pasted, is_url

        refused = cross_site(request)
        if refused:
            return (*self.corpus_outputs(status_html(refused, error=True)), gr_skip())
        url = (url or "").strip()
        if not is_url(url):
            return (*self.corpus_outputs(status_html("give the web address of an article or a feed (http:// or "
                                                     "https://)", error=True)), gr_skip())
        with self.corpus_lock:
            report = Indexer(self.settings, embedder=self.embedder()).ingest([Pasted(url)])
        return (*self.corpus_outputs(upload_report_html(report)), "")

    def remove(self, doc_ids, request=None):
        refused = cross_site(request)
        if refused:
            return self.corpus_outputs(status_html(refused, error=True))
        if not doc_ids:
            return self.corpus_outputs(status_html("choose the articles to remove first", error=True))
        with self.corpus_lock:
            try:
                message = remove_articles(self.settings, doc_ids, embedder=self.embedder())
            except self.known_errors as exc:
                return self.corpus_outputs(status_html(str(exc), error=True))
        return self.corpus_outputs(status_html(message))

    # ------------------------------------------------------------------ API
    def api_ask(self, question: str, history: list[str] | None = None, date_from: str | None = None,
                date_to: str | None = None, sources: list[str] | None = None, request=None) -> dict:
        """Answer a question from the indexed articles, with citations. `history`: earlier user
        questions of the conversation, oldest first; `date_from`/`date_to`: YYYY[-MM[-DD]];
        `sources`: outlets. Returns the same JSON object as `assistant ask --json`."""
        import gradio as gr

        from assistant.pipeline import check_question

        client = getattr(getattr(request, "client", None), "host", "") or ""
        history = [] if history is None else history
        try:
            check_question(question, history, self.settings)  # before a slot; ask() checks again, cheaply
            filters = parse_filters(date_from, date_to, sources)
        except self.known_errors as exc:
            time.sleep(self.refusals.refuse(client))  # in this request's thread: no queue slot is held
            raise gr.Error(str(exc)) from None
        self.refusals.record(True, client)
        with self.answering:  # the queue does not limit this endpoint (see build_app): at most ui_concurrency
            try:
                return self.assistant.ask(question, history, **filters).to_json()
            except self.known_errors as exc:
                raise gr.Error(str(exc)) from None


# ---------------------------------------------------------------------------- layout
@dataclass
class Page:
    """The page's components that events read or write."""

    header: object
    state: object
    chatbot: object
    question: object
    ask_button: object
    new_button: object
    download: object
    date_from: object
    date_to: object
    outlets: object
    viewer: object
    sources: object
    chart: object
    table: object
    corpus: object
    to_remove: object
    remove_button: object
    upload_files: object
    status: object
    url: object
    fetch_button: object


def _chat_column(gr, settings: Settings, rows: list[dict]) -> dict:
    chatbot = gr.Chatbot(label="Conversation", elem_id="chat", height="64vh", render_markdown=False, sanitize_html=True,
                         allow_tags=False, latex_delimiters=[], feedback_options=None, buttons=["copy", "copy_all"],
                         placeholder="Ask about the news articles in the index.")
    with gr.Row():
        question = gr.Textbox(show_label=False, placeholder="Ask a question and press Enter", elem_id="question",
                              scale=8, lines=1, max_lines=4, container=False)
        ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
        new_button = gr.Button("New chat", elem_id="new-chat", scale=1, min_width=120)
    download = gr.DownloadButton("Download the conversation (Markdown)", elem_id="download", visible=False,
                                 size="sm")
    examples = example_questions(settings)
    if examples:
        gr.Examples(examples=[[q] for q in examples], inputs=[question], label="Example questions")
    with gr.Accordion("Filters", open=False, elem_id="filters"):
        with gr.Row():
            date_from = gr.Textbox(label="From date", placeholder="YYYY-MM-DD (or YYYY-MM, YYYY)", elem_id="date-from")
            date_to = gr.Textbox(label="To date", placeholder="YYYY-MM-DD (or YYYY-MM, YYYY)", elem_id="date-to")
        outlets = gr.Dropdown(label="Outlets", multiselect=True, elem_id="outlets",
                              choices=sorted({r["source"] for r in rows if r["source"]}),
                              info="Only articles from these outlets (none chosen: all)")
    return dict(chatbot=chatbot, question=question, ask_button=ask_button, new_button=new_button, download=download,
                date_from=date_from, date_to=date_to, outlets=outlets)


def _passages_column(gr) -> dict:
    gr.Markdown("### Cited passage")
    viewer = gr.HTML(citation_viewer_html(), elem_id="citation-viewer", js_on_load=None)
    chart = gr.Plot(elem_id="timeline-chart", visible=False, show_label=False)
    table = gr.HTML("", elem_id="timeline-table", js_on_load=None)  # the same points, as a table (screen readers)
    with gr.Accordion("Sources (every retrieved passage)", open=True):
        sources = gr.HTML(sources_html(None), elem_id="sources", js_on_load=None)
    return dict(viewer=viewer, sources=sources, chart=chart, table=table)


def _corpus_tab(gr, settings: Settings, rows: list[dict]) -> dict:
    corpus = gr.HTML(corpus_html(rows), elem_id="corpus", js_on_load=None)
    with gr.Row():
        to_remove = gr.Dropdown(label="Articles to remove", multiselect=True, elem_id="to-remove",
                                choices=[r["doc_id"] for r in rows], scale=4)
        remove_button = gr.Button("Remove", variant="stop", elem_id="remove", scale=1)
    upload_files = gr.File(label=(f"Add articles: {' '.join(sorted(SUPPORTED_SUFFIXES))} files, at most "
                                  f"{settings.max_upload_mb:g} MiB each (kept in the index's uploads folder)"),
                           file_count="multiple", elem_id="upload")
    with gr.Row():
        url = gr.Textbox(label="Or add from the web: the address of an article page or an RSS/Atom feed",
                         placeholder="https://…", elem_id="url", scale=4)
        fetch_button = gr.Button("Fetch", elem_id="fetch", scale=1)
    status = gr.HTML("", elem_id="corpus-status", js_on_load=None)
    return dict(corpus=corpus, to_remove=to_remove, remove_button=remove_button, upload_files=upload_files,
                status=status, url=url, fetch_button=fetch_button)


def _layout(gr, settings: Settings, handlers: Handlers) -> Page:
    rows = corpus_rows(settings)
    header = gr.HTML(handlers.header(), elem_id="app-header")
    state = gr.State(new_state())
    with gr.Tabs():
        with gr.Tab("Chat", id="chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chat = _chat_column(gr, settings, rows)
                with gr.Column(scale=2):
                    passages = _passages_column(gr)
        with gr.Tab("Corpus", id="corpus"):
            corpus = _corpus_tab(gr, settings, rows)
    return Page(header=header, state=state, **chat, **passages, **corpus)


def _wire(gr, page: Page, handlers: Handlers) -> None:
    chat_outputs = [page.chatbot, page.state, page.viewer, page.sources, page.question, page.chart, page.table,
                    page.download]
    chat_inputs = [page.question, page.chatbot, page.state, page.date_from, page.date_to, page.outlets]
    # a question asked while an answer streams runs after it (not dropped, as with Gradio's default "once")
    submitted = page.question.submit(handlers.respond, chat_inputs, chat_outputs, api_visibility="private",
                                     trigger_mode="always_last")
    clicked = page.ask_button.click(handlers.respond, chat_inputs, chat_outputs, api_visibility="private",
                                    trigger_mode="always_last")
    for clear in (page.new_button.click, page.chatbot.clear):
        clear(handlers.new_chat, None, chat_outputs, cancels=[submitted, clicked], api_visibility="private")
    corpus_out = [page.header, page.corpus, page.to_remove, page.outlets, page.status]

    from gradio import Progress

    def upload(files, request, progress=Progress()):  # Gradio injects the request and its progress tracker
        return handlers.upload(files, progress, request)

    def remove(doc_ids, request):
        return handlers.remove(doc_ids, request)

    def fetch(url, request):
        return handlers.fetch(url, request)

    for fn in (upload, remove, fetch):  # a real annotation object: this module's string annotations would not resolve
        fn.__annotations__ = {"request": gr.Request}

    page.upload_files.upload(upload, [page.upload_files], corpus_out + [page.upload_files], concurrency_limit=1,
                             concurrency_id="corpus", api_visibility="private")
    for trigger in (page.fetch_button.click, page.url.submit):
        trigger(fetch, [page.url], corpus_out + [page.url], concurrency_limit=1, concurrency_id="corpus",
                api_visibility="private")
    page.remove_button.click(remove, [page.to_remove], corpus_out, concurrency_limit=1,
                             concurrency_id="corpus", api_visibility="private")


def build_app(settings: Settings, assistant=None):
    """The UI as a ``gr.Blocks`` (launch it with ``serve``, which adds the page's CSS and script).
    ``assistant`` defaults to ``Assistant(settings)``; its engine answers every session."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    import gradio as gr

    from assistant.pipeline import Assistant

    handlers = Handlers(settings, assistant if assistant is not None else Assistant(settings))
    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        page = _layout(gr, settings, handlers)
        _wire(gr, page, handlers)
        corpus_out = [page.header, page.corpus, page.to_remove, page.outlets, page.status]
        demo.load(lambda: handlers.corpus_outputs(), None, corpus_out, api_visibility="private")
        # unlimited in the queue: a refusal's delay holds no slot; answering is limited in api_ask itself
        gr.api(_api_ask(gr, handlers), api_name="ask", concurrency_limit=None)
    demo.queue(default_concurrency_limit=settings.ui_concurrency)
    return demo


def _api_ask(gr, handlers: Handlers):
    """``Handlers.api_ask`` as Gradio's API function: its documented arguments, and the request (which
    Gradio injects by its annotation, a real class: this module's string annotations would not resolve)."""

    def ask(question, history=None, date_from=None, date_to=None, sources=None, request=None):
        return handlers.api_ask(question, history, date_from, date_to, sources, request)

    ask.__doc__ = handlers.api_ask.__doc__
    ask.__annotations__ = {"question": str, "history": list[str] | None, "date_from": str | None,
                           "date_to": str | None, "sources": list[str] | None, "request": gr.Request, "return": dict}
    return ask


def serve(settings: Settings, assistant=None, *, block: bool = True):
    """Launch the UI on ``settings.ui_host:ui_port`` (loopback by default; a login when
    ``ui_auth`` is set). Returns the Blocks (with ``block=False`` it keeps running in a thread)."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    demo = build_app(settings, assistant)
    logins = settings.ui_logins()
    gate = LoginGate(logins, base=settings.ui_login_delay) if logins else None
    demo.launch(server_name=settings.ui_host, server_port=settings.ui_port, auth=gate,
                auth_message="News assistant: log in" if logins else None, share=False, inbrowser=False,
                show_error=True, quiet=True, ssr_mode=False, mcp_server=False, prevent_thread_lock=not block,
                max_file_size=int(settings.max_upload_mb * 2**20), css=page_css(), head=page_head())
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
