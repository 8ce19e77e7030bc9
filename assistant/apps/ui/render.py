"""The chat UI's HTML, built from escaped text: answers with their citation links, the passage viewer,
the sources panel, the corpus table, upload reports.

Article text is data, never markup: every string from an article, a question or an error goes
through ``escape``; the only tags are ours, and links to articles are only ever ``http(s)`` URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence

from assistant.answering.types import Answer, Citation
from assistant.ingest.indexer import IngestReport
from assistant.text.facts import OUTLET_UNKNOWN, UNDATED

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
    notes_html = "".join(f'<div class="answer-note">{escape(n)}</div>' for n in reader_notes(answer, streamed))
    return (f'<div class="answer answer-final">{"".join(parts)}</div>{notes_html}'
            f'<div class="answer-meta" title="{escape(meta_title(answer))}">{escape(meta_line(answer))}</div>')


# What a reader is told under an answer, in plain words (the README lists every wording).
NOTES = {
    "quoted": "The model could not answer this from the articles, so the answer quotes the articles' own sentences.",
    "changed": "The answer was checked against the articles and corrected after it was written.",
    "ungrounded": "This answer cites no article: check it against the sources.",
    "invalid": "{n} reference(s) pointed to no article and were taken out.",
    "unsupported": "The cited article does not clearly say this: “{sentence}”",
}


def reader_notes(answer: Answer, streamed: str | None = None) -> list[str]:
    """The notes under an answer, for a reader."""
    notes = [NOTES["quoted"]] if answer.quoted_note else []
    if streamed is not None and streamed.strip() != answer.answer.strip():
        notes.append(NOTES["changed"])
    if not answer.grounded:
        notes.append(NOTES["ungrounded"])
    if answer.invalid_citations:
        notes.append(NOTES["invalid"].format(n=answer.invalid_citations))
    notes += [NOTES["unsupported"].format(sentence=u.get("sentence", "")) for u in answer.unsupported_sentences]
    return notes


def meta_line(answer: Answer) -> str:
    """One short line: which engine answered, and how long it took."""
    return f"{answer.engine} · {_duration(answer.timings_ms.get('total', 0))}"


def meta_title(answer: Answer) -> str:
    """The details, on hover: the model and the time to the first text."""
    t = answer.timings_ms
    model = f"{answer.engine} {answer.model}" if answer.model else answer.engine
    first, total = _duration(t.get("first_token", 0)), _duration(t.get("total", 0))
    return f"{model}; first text after {first}, all of it after {total}"


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


def upload_summary(report: IngestReport) -> str:
    """One line for an upload: what was added, updated, unchanged or refused, and the embedding time."""
    return (f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
            f"{len(report.errors)} error(s); {report.chunks_embedded} passages embedded in {report.seconds:.1f}s")


def upload_report_html(report: IngestReport) -> str:
    lines = [f'<p class="upload-summary">{escape(upload_summary(report))}</p>']
    for label, ids in (("added", report.added), ("updated", report.updated), ("unchanged", report.unchanged)):
        lines += [f'<div class="upload-ok">{label}: {escape(d)}</div>' for d in ids]
    lines += [f'<div class="upload-error">error: {escape(e)}</div>' for e in report.errors]
    return f'<div class="upload-report">{"".join(lines)}</div>'


def header_html(articles: int, engine: str) -> str:
    return (f'<div class="app-header"><h2>News assistant</h2><p>Answers from {articles} indexed articles, '
            f'with citations you can open. Engine: {escape(engine)}.</p></div>')


def status_html(message: str, *, error: bool = False) -> str:
    """A one-line status under the corpus actions."""
    if error:
        return f'<p class="upload-error">error: {escape(message)}</p>'
    return f'<p class="upload-summary">{escape(message)}</p>'


def timeline_html(answer: Answer | None, turn: int) -> str:
    """The timeline as a table beside the chart (for screen readers too): date, figure, outlet and the
    citation's link."""
    if answer is None or not answer.timeline:
        return ""
    rows = "".join(f'<tr><td>{escape(p["date"])}</td><td>{escape(p["text"])}</td><td>{escape(p["outlet"])}</td>'
                   f'<td><a class="cite-link" href="#{citation_anchor(turn, p["n"])}">[{p["n"]}]</a></td></tr>'
                   for p in answer.timeline)
    return ('<table class="timeline-table"><caption>Figures over time, by date</caption><thead><tr><th>date</th>'
            f'<th>figure</th><th>outlet</th><th>source</th></tr></thead><tbody>{rows}</tbody></table>')
