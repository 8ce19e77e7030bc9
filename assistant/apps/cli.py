"""The ``assistant`` command. Data goes to stdout; messages, progress and errors to stderr.

Only argparse and the settings load at start-up: every command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

from assistant.errors import AssistantError, CommandError
from assistant.settings import RETRIEVAL_MODES, Settings
from assistant.text.facts import OUTLET_UNKNOWN, UNDATED


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description="Question answering over a corpus of news articles: ingest, search, ask with citations, evaluate.",
        epilog="Every setting also reads ASSISTANT_<NAME> from the environment; `assistant settings` lists them.",
    )
    p.add_argument("--index-dir", type=Path, help="index folder (ASSISTANT_INDEX_DIR, default ./index)")
    p.add_argument("--seeds-dir", type=Path, help="default corpus for ingest (ASSISTANT_SEEDS_DIR, default ./seeds)")
    p.add_argument("--embedder",
                   help="embedder: minilm | minilm-int8 | sentence-transformers:/path | hash (ASSISTANT_EMBEDDER)")
    p.add_argument("--chroma-url", help="use a Chroma server instead of the embedded store (ASSISTANT_CHROMA_URL)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", help="add or update articles (files, folders, web pages, feeds; default: the seeds)")
    s.add_argument("paths", nargs="*", help=".txt .md .html .json .jsonl files or folders, or http(s) URLs of pages")
    s.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="an RSS or Atom feed: its entries' pages are fetched and ingested (repeatable)")
    s.add_argument("--json", action="store_true", help="print the report as JSON on stdout")

    s = sub.add_parser("remove", help="remove articles from the index by doc_id")
    s.add_argument("doc_ids", nargs="+", metavar="DOC_ID")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("list", help="list indexed articles: doc_id, title, date, outlet, chunks")
    s.add_argument("--json", action="store_true", help="one JSON array on stdout")

    s = sub.add_parser("search", help="show the passages retrieved for a query (no query: read queries from stdin)")
    s.add_argument("query", nargs="?", help="the query; omit it to search line by line from stdin")
    _retrieval_args(s)
    s.add_argument("--json", action="store_true", help="print the passages as JSON")

    s = sub.add_parser("ask", help="answer a question from the articles, with [n] citations")
    s.add_argument("question")
    _retrieval_args(s)
    _engine_args(s)
    s.add_argument("--history", action="append", metavar="TURN", help="an earlier user turn (repeatable, oldest first)")
    s.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text (streamed, the default), markdown (the answer with its citations as footnotes) or "
                        "json (exactly one JSON object)")
    s.add_argument("--json", dest="format", action="store_const", const="json", help="short for --format json")

    s = sub.add_parser("chat", help="a terminal conversation that keeps its history (/new starts over, /quit ends)")
    _retrieval_args(s)
    _engine_args(s)

    s = sub.add_parser("eval", help="score retrieval and answers on a question set (seeds/questions.jsonl format)")
    s.add_argument("--questions", type=Path, help="question file (default: <seeds dir>/questions.jsonl)")
    s.add_argument("--mode", choices=RETRIEVAL_MODES + ("all",), help="retrieval mode, or 'all' for one row each")
    s.add_argument("--k", type=int, help="passages given to the answer engine (retrieval is scored on the top 5)")
    _engine_args(s)
    s.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    s.add_argument("--out", type=Path, help="also write the JSON report to this file")

    s = sub.add_parser("serve", help="the chat UI in the browser (Gradio), on http://127.0.0.1:7860 by default")
    s.add_argument("--host", dest="ui_host", help="address to listen on (ASSISTANT_UI_HOST, default 127.0.0.1; "
                                                  "0.0.0.0 exposes it: set ASSISTANT_UI_AUTH=user:password)")
    s.add_argument("--port", dest="ui_port", type=int, help="port (ASSISTANT_UI_PORT, default 7860)")
    s.add_argument("--concurrency", dest="ui_concurrency", type=int,
                   help="requests worked on at once (ASSISTANT_UI_CONCURRENCY, default 4)")
    _engine_args(s)

    sub.add_parser("settings", help="show the effective settings and their environment variables")
    return p


def _retrieval_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--k", type=int, help="passages to return (ASSISTANT_K, default 4)")
    s.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode (ASSISTANT_MODE, default hybrid)")
    s.add_argument("--from", dest="date_from", metavar="DATE", help="only articles dated on or after DATE (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", metavar="DATE", help="only articles dated on or before DATE")
    s.add_argument("--source", dest="sources", action="append", metavar="OUTLET",
                   help="only articles from this outlet (repeatable)")


def _engine_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--llm", help="answer engine (ASSISTANT_LLM): auto (local if installed, else extractive), "
                                 "extractive, local, local:/path/model.gguf, openai:MODEL, ollama:MODEL")
    s.add_argument("--no-compress", dest="compress", action="store_false", default=None,
                   help="LLM engines: give the model whole passages, not their most relevant sentences")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = Settings.from_env(index_dir=args.index_dir, seeds_dir=args.seeds_dir, embedder=args.embedder,
                                     chroma_url=args.chroma_url,
                                     k=getattr(args, "k", None), llm=getattr(args, "llm", None),
                                     compress=getattr(args, "compress", None),
                                     ui_host=getattr(args, "ui_host", None), ui_port=getattr(args, "ui_port", None),
                                     ui_concurrency=getattr(args, "ui_concurrency", None),
                                     mode=None if getattr(args, "mode", None) == "all" else getattr(args, "mode", None))
        return COMMANDS[args.command](args, settings)
    except AssistantError as exc:  # every error the user can cause: its one line, exit status 2
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception as exc:
        if type(exc).__module__.split(".")[0] in ("openai", "httpx", "ollama", "langchain_openai", "langchain_ollama"):
            say(f"error: the {getattr(args, 'llm', None) or 'configured'} model could not answer: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            return 2
        raise


# ---------------------------------------------------------------------------- commands
def cmd_ingest(args, settings: Settings) -> int:
    from assistant.ingest.memory import tune_for_ingest
    from assistant.ingest.web import Feed, is_url

    tune_for_ingest()  # before Chroma's and the embedder's threads start (memory.py)
    paths = [p if is_url(p) else Path(p) for p in args.paths] + [Feed(u) for u in args.feed]
    report = ingest_with_progress(settings, paths or [settings.seeds_dir])
    for err in report.errors:
        say(f"error: {err}")
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for label, ids in (("added", report.added), ("updated", report.updated), ("removed", report.removed),
                           ("re-embedded", report.reindexed)):
            for doc_id in ids:
                say(f"  {label:<11} {doc_id}")
    say(f"ingest: {report.summary()}")
    return 0 if report.ok else 1


class IngestProgress:
    """Ingest progress on stderr: a bar on a terminal; otherwise (a log, a pipe, a service) one line
    every ``every`` seconds, so a long ingest is never silent."""

    def __init__(self, every: float = 5.0, stream=None):
        self.stream = stream or sys.stderr
        self.every = every
        self.bar = None
        self.t0 = self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if self.stream.isatty():
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="chunk", desc="embedding", file=self.stream)
            self.bar.total = max(total, self.bar.total or 0)
            self.bar.n = done
            self.bar.refresh()
            return
        now = time.monotonic()
        if now - self.last >= self.every or done == total == 0:
            self.last = now
            rate = done / max(now - self.t0, 1e-9)
            print(f"ingest: {done:,} chunks embedded of {total:,} so far ({rate:,.0f} chunks/s, "
                  f"{now - self.t0:,.0f} s)", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def ingest_with_progress(settings: Settings, paths):
    from assistant.ingest.indexer import Indexer

    progress = IngestProgress()
    try:
        return Indexer(settings).ingest(paths, progress=progress)
    finally:
        progress.close()


def cmd_remove(args, settings: Settings) -> int:
    from assistant.ingest.indexer import Indexer

    report = Indexer(settings).remove(args.doc_ids)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    say(f"remove: {', '.join(report.removed)} removed; "
        f"index: {report.total_docs} articles, {report.total_chunks} chunks")
    return 0


def cmd_list(args, settings: Settings) -> int:
    from assistant.index.catalog import Catalog

    rows = [{k: v for k, v in r.items() if k != "origin_file"}
            for r in Catalog.open(settings).snapshot().article_rows()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        say(f"the index at {settings.index_dir} is empty: run `assistant ingest`")
        return 0
    w = max(len(r["doc_id"]) for r in rows)
    print(f"{'DOC_ID':<{w}}  {'DATE':<10}  {'OUTLET':<14}  {'CHUNKS':>6}  TITLE")
    for r in rows:
        print(f"{r['doc_id']:<{w}}  {r['date'] or '-':<10}  {(r['source'] or '-')[:14]:<14}  {r['chunks']:>6}  "
              f"{r['title'] or '-'}")
    say(f"{len(rows)} articles, {sum(r['chunks'] for r in rows)} chunks")
    return 0


def ensure_index(settings: Settings) -> None:
    """Build the index from the seeds when it is empty or of an earlier format (said on stderr)."""
    from assistant.index.catalog import Catalog
    from assistant.index.layout import IndexDir

    if not IndexDir(settings.index_dir).legacy_manifest.exists() and not Catalog.open(settings).snapshot().empty:
        return
    say(f"the index at {settings.index_dir} is empty: building it from {settings.seeds_dir} first")
    report = ingest_with_progress(settings, [settings.seeds_dir])
    for err in report.errors:
        say(f"error: {err}")
    say(f"ingest: {report.summary()}")
    if not report.total_docs:
        raise CommandError(f"no articles could be indexed from {settings.seeds_dir}")


def cmd_search(args, settings: Settings) -> int:
    from assistant.retrieval.filters import check_query

    if args.query is not None:
        check_query(args.query, settings.max_question_chars)  # before loading anything
    _filters(args)
    retriever = _retriever(settings, args)
    if args.query is not None:
        _print_results(args.query, retriever.invoke(args.query), args.json)
        return 0
    if sys.stdin.isatty():
        say("type a query and press Enter (Ctrl-D to quit)")
    for query in _input_lines("search> "):
        _print_results(query, retriever.invoke(query), args.json)
    return 0


def _input_lines(prompt: str):
    """Non-empty stripped lines from stdin, with a prompt on stderr when it is a terminal."""
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print(prompt, end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.strip()


def _filters(args) -> None:
    """The command's date and outlet filters, read once: a one-line error before any work."""
    from assistant.retrieval.filters import Filters

    Filters.parse(getattr(args, "date_from", None), getattr(args, "date_to", None), getattr(args, "sources", None))


def _retriever(settings: Settings, args):
    """The retriever the command's filters ask for; an empty index is first built from the seeds."""
    from assistant.retrieval.retriever import NewsRetriever

    ensure_index(settings)
    return NewsRetriever(settings=settings, k=settings.k, mode=settings.mode,
                         date_from=getattr(args, "date_from", None), date_to=getattr(args, "date_to", None),
                         sources=getattr(args, "sources", None))


def _print_results(query: str, docs, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"query": query, "results": [
            {"chunk_id": d.id, "text": d.page_content, **d.metadata} for d in docs]}, ensure_ascii=False))
        return
    if not docs:
        print(f"no passages match {query!r}")
        return
    for d in docs:
        m = d.metadata
        head = " · ".join(x for x in (m["doc_id"], m.get("date") or UNDATED, m.get("source") or OUTLET_UNKNOWN,
                                      f"score {m['score']:.4f}") if x)
        print(f"[{m['rank']}] {head}")
        if m.get("title"):
            print(f"    {m['title']}")
        print(textwrap.fill(d.page_content.replace("\n", " "), width=100, initial_indent="    ",
                            subsequent_indent="    "))
        print()


def _assistant(settings: Settings, args):
    from assistant.pipeline import Assistant

    return Assistant(settings, retriever=_retriever(settings, args))


def cmd_ask(args, settings: Settings) -> int:
    from assistant.answering.types import Answer
    from assistant.pipeline import check_question

    history = args.history or []
    check_question(args.question, history, settings)  # before loading anything
    _filters(args)
    assistant = _assistant(settings, args)
    if args.format == "json":
        answer = assistant.ask(args.question, history)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    if args.format == "markdown":
        from assistant.apps.markdown import answer_markdown

        print(answer_markdown(assistant.ask(args.question, history).to_json()), end="")
        return 0
    answer = _stream_to_terminal(assistant.stream(args.question, history), Answer)
    _print_citations(answer)
    _print_timeline(answer)
    return 0


def _print_timeline(answer) -> None:
    """The answer's figures over time, one line a point (stdout, after the citations)."""
    if not answer.timeline:
        return
    print("\nfigures over time:")
    for p in answer.timeline:
        print(f"  {p['date']}  {p['text']}  ({p['outlet']}) [{p['n']}]")


def _stream_to_terminal(stream, answer_type):
    """Print text as it streams; if verification changed it, print the verified answer too."""
    final = None
    shown = []
    for item in stream:
        if isinstance(item, answer_type):
            final = item
        else:
            shown.append(item)
            print(item, end="", flush=True)
    print(flush=True)
    if final is not None and final.answer.strip() != "".join(shown).strip():
        say("verified answer:")
        print(final.answer, flush=True)
    return final


def _print_citations(answer) -> None:
    if answer.citations:
        print()
    for c in answer.citations:
        head = " · ".join(x for x in (c.title or c.doc_id, c.date or UNDATED, c.source or OUTLET_UNKNOWN) if x)
        print(f"[{c.n}] {head}")
        if c.title:
            print(f"    {c.doc_id}, characters {c.start}-{c.end}")
        print(textwrap.fill(f"“{c.quote}”", width=100, initial_indent="    ", subsequent_indent="    "))
    if answer.quoted_note:
        say(f"note: {answer.quoted_note}")
    if answer.invalid_citations:
        say(f"note: removed {answer.invalid_citations} citation(s) that matched no source")
    for u in answer.unsupported_sentences:
        cited = "".join(f"[{n}]" for n in u["cited"]) or "no source"
        say(f"note: not supported by {cited}: {u['sentence']}")
    if not answer.grounded:
        say("warning: this answer has no valid citation; it is not grounded in the articles")
    t = answer.timings_ms
    say(f"({answer.engine}{' ' + answer.model if answer.model else ''}; "
        f"{t.get('total', 0) / 1000:.1f}s, first text after {t.get('first_token', 0) / 1000:.1f}s)")


def cmd_chat(args, settings: Settings) -> int:
    from assistant.answering.types import Answer

    assistant = _assistant(settings, args)
    history: list[str] = []
    say("Ask about the articles. /new starts a new conversation, /quit (or Ctrl-D) ends.")
    for question in _input_lines("you> "):
        if question in ("/quit", "/exit"):
            return 0
        if question == "/new":
            history = []
            say("(new conversation)")
            continue
        answer = _stream_to_terminal(assistant.stream(question, history), Answer)
        _print_citations(answer)
        print()
        history.append(question)
    return 0


def cmd_eval(args, settings: Settings) -> int:
    from assistant.apps.evaluation import evaluate, load_questions

    path = args.questions or settings.seeds_dir / "questions.jsonl"
    questions = load_questions(path)
    modes = list(RETRIEVAL_MODES) if args.mode == "all" else [settings.mode]
    assistant = _assistant(settings, args)
    assistant.warm_up()  # models loaded before the first question, so its time is that of any other
    reports = {}
    for mode in modes:
        bar = _bar(len(questions), f"eval {mode}")
        reports[mode] = evaluate(assistant, questions, mode=mode, k=settings.k,
                                 progress=lambda i, n, bar=bar: bar.update(1) if bar else None)
        if bar:
            bar.close()
    report = reports[modes[0]] if len(modes) == 1 else {"questions": str(path), "by_mode": reports}
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
        say(f"report written to {args.out}")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    first = reports[modes[0]]
    model = f" ({first['model']})" if first.get("model") else ""
    print(f"{path}: {first['questions']} questions ({first['answers']['answerable']} answerable), "
          f"engine {first['engine']}{model}, k={first['k']}\n")
    print("| mode   | hit@5 |  MRR  | accuracy | citation precision | abstention accuracy | invalid citations "
          "| unsupported | first token p50 ms | p50 ms | p95 ms |")
    print("|--------|-------|-------|----------|--------------------|---------------------|-------------------"
          "|-------------|--------------------|--------|--------|")
    for mode, r in reports.items():
        m, a, lat, ft = r["retrieval"], r["answers"], r["latency_ms"], r["first_token_ms"]
        cp = "-" if a["citation_precision"] is None else f"{a['citation_precision']:.3f}"
        print(f"| {mode:<6} | {m['hit_at_5']:.3f} | {m['mrr']:.3f} | {a['accuracy']:.3f}    | {cp:<18} | "
              f"{a['abstention_accuracy']:.3f}               | {a['invalid_citations']:<17} | "
              f"{a['unsupported_sentences']:<11} | {ft['p50']:>18.0f} | {lat['p50']:>6.0f} | {lat['p95']:>6.0f} |")
    for mode, r in reports.items():
        a = r["answers"]
        if a.get("quoted_answers"):
            answered = sum(1 for row in r["per_question"] if not row["abstained"])
            print(f"\n{mode}: {a['quoted_answers']} of {answered} answers quote the extractive scorer's sentences "
                  f"(the model declined, was withheld, or cited another source than the best sentence's)")
    for mode, r in reports.items():
        a = r["answers"]
        direct = "-" if a["direct_first_sentence"] is None else f"{a['direct_first_sentence']:.3f}"
        follow = "-" if a["followup_accuracy"] is None else f"{a['followup_accuracy']:.3f}"
        evidence = "-" if a["evidence"] is None else f"{a['evidence']:.3f}"
        print(f"\n{mode}: right answers whose first sentence holds the answer {direct}, whose cited sentences "
              f"hold it {evidence}; "
              f"follow-up accuracy {follow} ({a['followups']} follow-ups)")
        failures = [row for row in r["per_question"] if not row["correct"]]
        if failures:
            counts = ", ".join(f"{cat.replace('_', ' ')} {n}" for cat, n in a["failures"].items())
            print(f"{mode}: {len(failures)} failed: {counts}")
            for row in failures:
                got = "abstained" if row["abstained"] else row["answer"][:90].replace("\n", " ")
                print(f"  {row['id']} [{row['failure'].replace('_', ' ')}] {row['question'][:70]} -> {got}")
    return 0


def _bar(total: int, desc: str):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr)


def cmd_serve(args, settings: Settings) -> int:
    import time

    from assistant.apps.ui import app as ui
    from assistant.index.catalog import Catalog

    if not ui.is_loopback(settings.ui_host) and not settings.ui_logins():
        say(f"warning: serving on {settings.ui_host} without a login: anyone who can reach port {settings.ui_port} "
            "can ask and change the corpus (set ASSISTANT_UI_AUTH=user:password)")
    try:
        ui.check_port_free(settings.ui_host, settings.ui_port)
    except OSError as exc:
        raise CommandError(f"cannot listen on {settings.ui_host}:{settings.ui_port}: {exc.strerror or exc} "
                           "(choose another with --port)") from None
    ensure_index(settings)
    assistant = _assistant(settings, args)
    say(f"loading the {assistant.engine.name} engine and the index ...")
    assistant.warm_up()
    try:
        demo = ui.serve(settings, assistant, block=False)
    except OSError as exc:
        raise CommandError(f"cannot listen on {settings.ui_host}:{settings.ui_port}: {exc}") from None
    docs = Catalog.open(settings).store.article_count()
    shown_host = "127.0.0.1" if settings.ui_host in ("0.0.0.0", "::", "") else settings.ui_host
    say(f"the chat UI is on http://{shown_host}:{settings.ui_port} ({docs} articles; engine "
        f"{ui.engine_label(assistant)}{'; login required' if settings.ui_logins() else ''}); Ctrl-C stops it")
    try:
        while demo.is_running:
            time.sleep(0.5)
    finally:
        demo.close()
    return 0


def cmd_settings(args, settings: Settings) -> int:
    import dataclasses

    for (env, _default, help_), f in zip(Settings.describe(), dataclasses.fields(Settings), strict=False):
        print(f"{env:<28} {settings.shown(f.name):<24} {help_}")
    return 0


COMMANDS = {"ingest": cmd_ingest, "remove": cmd_remove, "list": cmd_list, "search": cmd_search, "ask": cmd_ask,
            "chat": cmd_chat, "eval": cmd_eval, "serve": cmd_serve, "settings": cmd_settings}

if __name__ == "__main__":
    sys.exit(main())
