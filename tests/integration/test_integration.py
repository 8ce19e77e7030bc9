"""End to end with the real model: ingest, re-ingest, search quality, the CLI, the network cut,
a Chroma server, and a non-editable install."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile

import pytest
from fakes import free_port
from support import ROOT, SEEDS, VENV_BIN, seed_files

from assistant.apps.evaluation import evaluate_retrieval, load_questions
from assistant.ingest.indexer import Indexer
from assistant.retrieval.followup import retrieval_query
from assistant.retrieval.retriever import NewsRetriever
from assistant.settings import Settings

pytestmark = pytest.mark.slow
ASSISTANT = str(VENV_BIN / "assistant")
DETAINEES = "How many ISIS detainees has Iraq received?"
IRAQ_DOCS = {"002_f71bf586061099c0.txt", "003_0e26de0699d51022.txt", "004_68573ee398939c01.txt"}


def run(*args, env=None, check=True, **kw):
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(list(args), capture_output=True, text=True, env=full_env, timeout=300, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


def test_reingest_with_the_real_model_embeds_nothing(real_index):
    settings = Settings.from_env(env={}, index_dir=real_index)
    report = Indexer(settings).ingest([SEEDS])
    assert len(report.unchanged) == len(seed_files()) and report.chunks_embedded == 0


def test_hybrid_retrieval_quality_on_the_public_questions(real_index):
    questions = load_questions(SEEDS / "questions.jsonl")
    results = {}
    for mode in ("hybrid", "dense", "bm25"):
        r = NewsRetriever(index_dir=real_index, k=5, mode=mode)
        results[mode] = evaluate_retrieval(
            questions, lambda q, r=r: [d.metadata["doc_id"] for d in r.invoke(retrieval_query(q.question, q.history))]
        )["retrieval"]
    assert results["hybrid"]["hit_at_5"] >= 0.95
    assert results["hybrid"]["hit_at_1"] >= 0.85
    assert results["hybrid"]["mrr"] >= max(results["dense"]["mrr"], results["bm25"]["mrr"]) - 0.02


def test_detainee_question_finds_the_iraq_articles(real_index):
    docs = NewsRetriever(index_dir=real_index, k=4).invoke(DETAINEES)
    assert docs[0].metadata["doc_id"] in IRAQ_DOCS
    assert len({d.metadata["doc_id"] for d in docs} & IRAQ_DOCS) >= 2
    assert all(0 < d.metadata["score"] for d in docs)


def test_cli_ingest_list_search_remove(tmp_path):
    env = {"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_SEEDS_DIR": str(SEEDS)}
    p = run(ASSISTANT, "ingest", "--json", env=env)
    report = json.loads(p.stdout)
    assert len(report["added"]) == 5 and report["errors"] == []
    assert "5 added" in p.stderr
    rows = json.loads(run(ASSISTANT, "list", "--json", env=env).stdout)
    assert {r["doc_id"]: r["source"] for r in rows}["004_68573ee398939c01.txt"] == "Kurdistan24"
    table = run(ASSISTANT, "list", env=env).stdout
    assert "Iraq Receives Hundreds of ISIS Detainees from Syria" in table and "MENAFN" in table

    out = json.loads(run(ASSISTANT, "search", DETAINEES, "--json", "--k", "3", env=env).stdout)
    assert len(out["results"]) == 3 and out["results"][0]["doc_id"] in IRAQ_DOCS
    dated = json.loads(run(ASSISTANT, "search", "Iranians deported", "--json", "--from", "2026-02-01", env=env).stdout)
    assert all(r["date"] >= "2026-02-01" for r in dated["results"])
    human = run(ASSISTANT, "search", DETAINEES, "--mode", "bm25", env=env).stdout
    assert human.startswith("[1] ") and "score" in human

    # queries from stdin, one per line, for scripts and `make run`
    lines = run(ASSISTANT, "search", "--json", input="Mehran border crossing\n\nKurdistan24 Russia\n", env=env).stdout
    queries = [json.loads(line)["query"] for line in lines.splitlines()]
    assert queries == ["Mehran border crossing", "Kurdistan24 Russia"]

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe broken")
    p = run(ASSISTANT, "ingest", str(bad), env=env, check=False)
    assert p.returncode == 1
    assert [line for line in p.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {bad.resolve()}: not valid UTF-8 (byte 0xff at offset 0)"]
    p = run(ASSISTANT, "search", "x", "--from", "02/2026", env=env, check=False)
    assert p.returncode == 2
    assert p.stderr.strip() == "error: date_from: not a date: '02/2026' (use YYYY-MM-DD, YYYY-MM or YYYY)"

    assert "removed" in run(ASSISTANT, "remove", "000_9b2a7a8087030aa2.txt", env=env).stderr
    assert len(json.loads(run(ASSISTANT, "list", "--json", env=env).stdout)) == 4
    p = run(ASSISTANT, "remove", "nope.txt", env=env, check=False)
    assert p.returncode == 2 and "not in the index: nope.txt" in p.stderr


def test_search_builds_an_empty_index_from_the_seeds_first(tmp_path):
    env = {"ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_SEEDS_DIR": str(SEEDS)}
    p = run(ASSISTANT, "search", DETAINEES, "--json", env=env)
    assert "is empty: building it from" in p.stderr
    assert json.loads(p.stdout)["results"][0]["doc_id"] in IRAQ_DOCS


def test_help_is_light():
    code = ("import sys; from assistant.apps.cli import build_parser; build_parser().format_help(); "
            "heavy = {'torch', 'sentence_transformers', 'chromadb', 'langchain_core', 'numpy', 'bm25s', 'tiktoken'}"
            " & set(sys.modules); assert not heavy, heavy")
    run(sys.executable, "-c", code)
    p = run(ASSISTANT, "--help")
    assert "ingest" in p.stdout and "search" in p.stdout


def _can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare() and os.environ.get("CI") != "true", reason="needs root for unshare -n")
def test_ingest_and_search_with_the_network_cut(tmp_path):
    home = tmp_path / "home"  # empty caches: tiktoken's file must come from the installed package
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "TRANSFORMERS_", "TIKTOKEN_", "ASSISTANT_", "XDG_"))}
    env.update(HOME=str(home), ASSISTANT_INDEX_DIR=str(tmp_path / "index"), ASSISTANT_SEEDS_DIR=str(SEEDS))
    script = (
        "ip link set lo up 2>/dev/null; "
        f"{sys.executable} -c \"import socket; socket.create_connection(('pypi.org', 443), timeout=5)\" "
        "2>/dev/null && { echo NETWORK-STILL-UP; exit 9; }; "
        f"{ASSISTANT} ingest && {ASSISTANT} search --json '{DETAINEES}'"
    )
    p = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "5 added" in p.stderr
    assert json.loads(p.stdout)["results"][0]["doc_id"] in IRAQ_DOCS
    assert any((home / ".cache" / "news-assistant" / "tiktoken").iterdir())  # seeded from the package




def test_chroma_server_backend(tmp_path):
    port = free_port()
    server = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(tmp_path / "server"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        settings = Settings.from_env(env={}, index_dir=tmp_path / "index", chroma_url=f"http://127.0.0.1:{port}")
        report = Indexer(settings).ingest([SEEDS])
        assert report.ok and report.total_chunks > 0
        assert not (tmp_path / "index" / "chroma").exists()  # vectors live on the server
        docs = NewsRetriever(settings=settings, k=3, mode="dense").invoke(DETAINEES)
        assert len(docs) == 3 and docs[0].metadata["doc_id"] in IRAQ_DOCS
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad = Settings.from_env(env={}, index_dir=tmp_path / "i2", chroma_url=f"http://127.0.0.1:{free_port()}")
    from assistant.errors import ChromaStoreError

    with pytest.raises(ChromaStoreError, match="cannot reach Chroma"):
        _ = Indexer(bad, embedder=None).store


def test_non_editable_install_ships_the_prompts(tmp_path):
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"),
        str(ROOT))
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"assistant/prompts/answer.txt", "assistant/prompts/condense.txt", "assistant/apps/ui/static/ui.css",
            "assistant/apps/ui/static/ui.js"} <= set(names)
    target = tmp_path / "site"
    run(sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel))
    code = ("import assistant.answering.prompts as p, pathlib; "
            f"assert pathlib.Path(p.__file__).is_relative_to(pathlib.Path(r'{target}')), p.__file__; "
            "print(p.prompts_dir()); assert 'Question: {question}' in p.load_prompt('answer'); "
            "from assistant.apps.ui import app; assert 'openCitation' in app.page_head() and app.page_css()")
    out = run(sys.executable, "-c", code, env={"PYTHONPATH": str(target)}, cwd=str(tmp_path)).stdout
    assert out.strip() == str(target / "assistant" / "prompts")
