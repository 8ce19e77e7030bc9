"""The ``assistant`` command. Data goes to stdout; messages, progress and errors to stderr.

Only argparse and the settings load at start-up: every command imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from assistant.settings import RETRIEVAL_MODES, Settings, SettingsError


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class CommandError(Exception):
    """A one-line error for the user; exit status 2 (1 is for partly failed ingests)."""


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="assistant",
        description="Question answering over a corpus of news articles: ingest articles, search them.",
        epilog="Every setting also reads ASSISTANT_<NAME> from the environment; `assistant settings` lists them.",
    )
    p.add_argument("--index-dir", type=Path, help="index folder (ASSISTANT_INDEX_DIR, default ./index)")
    p.add_argument("--seeds-dir", type=Path, help="default corpus for ingest (ASSISTANT_SEEDS_DIR, default ./seeds)")
    p.add_argument("--embedder", help="embedder: minilm | sentence-transformers:/path | hash (ASSISTANT_EMBEDDER)")
    p.add_argument("--chroma-url", help="use a Chroma server instead of the embedded store (ASSISTANT_CHROMA_URL)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("ingest", help="add or update articles (files or folders; default: the seeds folder)")
    s.add_argument("paths", nargs="*", type=Path, help=".txt .md .html .json .jsonl files or folders")
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

    sub.add_parser("settings", help="show the effective settings and their environment variables")
    return p


def _retrieval_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--k", type=int, help="passages to return (ASSISTANT_K, default 4)")
    s.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode (ASSISTANT_MODE, default hybrid)")
    s.add_argument("--from", dest="date_from", metavar="DATE", help="only articles dated on or after DATE (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", metavar="DATE", help="only articles dated on or before DATE")
    s.add_argument("--source", dest="sources", action="append", metavar="OUTLET",
                   help="only articles from this outlet (repeatable)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = Settings.from_env(index_dir=args.index_dir, seeds_dir=args.seeds_dir, embedder=args.embedder,
                                     chroma_url=args.chroma_url,
                                     k=getattr(args, "k", None), mode=getattr(args, "mode", None))
        return COMMANDS[args.command](args, settings)
    except (SettingsError, CommandError) as exc:
        say(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except Exception as exc:  # one clear line, not a traceback, for the known failure kinds
        from assistant.embeddings import EmbedderError
        from assistant.index import IndexStateError
        from assistant.retrieval import FilterError
        from assistant.vectorstore import ChromaStoreError

        if isinstance(exc, (EmbedderError, IndexStateError, FilterError, ChromaStoreError)):
            say(f"error: {exc}")
            return 2
        raise


# ---------------------------------------------------------------------------- commands
def cmd_ingest(args, settings: Settings) -> int:
    paths = args.paths or [settings.seeds_dir]
    report = ingest_with_progress(settings, paths)
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


def ingest_with_progress(settings: Settings, paths):
    from assistant.ingest import Indexer

    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr, disable=not sys.stderr.isatty())
        bar.n = done
        bar.refresh()

    try:
        return Indexer(settings).ingest(paths, progress=progress)
    finally:
        if bar is not None:
            bar.close()


def cmd_remove(args, settings: Settings) -> int:
    from assistant.ingest import Indexer

    report = Indexer(settings).remove(args.doc_ids)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    say(f"remove: {', '.join(report.removed)} removed; index: {report.total_docs} articles, {report.total_chunks} chunks")
    return 0


def cmd_list(args, settings: Settings) -> int:
    from assistant.index import IndexDir

    docs = IndexDir(settings.index_dir).read_manifest().docs
    rows = [{"doc_id": d.doc_id, "title": d.title, "date": d.date, "source": d.source, "url": d.url,
             "chunks": len(d.chunk_ids)} for d in sorted(docs.values(), key=lambda d: d.doc_id)]
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
    """Build the index from the seeds when it is empty (said on stderr)."""
    from assistant.index import IndexDir

    if IndexDir(settings.index_dir).read_manifest().docs:
        return
    say(f"the index at {settings.index_dir} is empty: building it from {settings.seeds_dir} first")
    report = ingest_with_progress(settings, [settings.seeds_dir])
    for err in report.errors:
        say(f"error: {err}")
    say(f"ingest: {report.summary()}")
    if not report.total_docs:
        raise CommandError(f"no articles could be indexed from {settings.seeds_dir}")


def cmd_search(args, settings: Settings) -> int:
    from assistant.retrieval import NewsRetriever

    ensure_index(settings)
    retriever = NewsRetriever(settings=settings, k=settings.k, mode=settings.mode, date_from=args.date_from,
                              date_to=args.date_to, sources=args.sources)
    if args.query is not None:
        _print_results(args.query, retriever.invoke(args.query), args.json)
        return 0
    interactive = sys.stdin.isatty()
    if interactive:
        say("type a query and press Enter (Ctrl-D to quit)")
    while True:
        if interactive:
            print("search> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        if line.strip():
            _print_results(line.strip(), retriever.invoke(line.strip()), args.json)


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
        head = " · ".join(x for x in (m["doc_id"], m.get("date") or "undated", m.get("source") or "outlet unknown",
                                      f"score {m['score']:.4f}") if x)
        print(f"[{m['rank']}] {head}")
        if m.get("title"):
            print(f"    {m['title']}")
        print(textwrap.fill(d.page_content.replace("\n", " "), width=100, initial_indent="    ",
                            subsequent_indent="    "))
        print()


def cmd_settings(args, settings: Settings) -> int:
    import dataclasses

    for (env, default, help_), f in zip(Settings.describe(), dataclasses.fields(Settings)):
        print(f"{env:<28} {str(getattr(settings, f.name)):<24} {help_}")
    return 0


COMMANDS = {"ingest": cmd_ingest, "remove": cmd_remove, "list": cmd_list, "search": cmd_search,
            "settings": cmd_settings}

if __name__ == "__main__":
    sys.exit(main())
