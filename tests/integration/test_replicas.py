"""Several app servers, one corpus: a `chroma run` server and two `assistant serve` processes with their own
local folders and no shared files. An article uploaded through one is answerable through the other
within 5 s, and a removal likewise; the local folders hold only each process's keyword cache."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from fakes import free_port
from test_ui_browser import CHROMIUM, CHROMIUM_ARGS, ZORBA, Page, Server, needs_chromium, playwright_api

QUESTION = "How many flamingos were counted at Lake Zorba?"


@pytest.fixture
def chroma_server(tmp_path):
    from support import VENV_BIN

    port = free_port()
    proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(tmp_path / "chroma-data"), "--host",
                             "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    deadline = time.time() + 60
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise AssertionError("chroma run did not start")
        time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def answer_through(url: str) -> dict:
    from gradio_client import Client

    return Client(url, verbose=False).predict(question=QUESTION, api_name="/ask")


def wait_for(check, seconds: float) -> float:
    """Seconds until ``check()`` holds (fails after ``seconds``)."""
    t0 = time.perf_counter()
    while not check():
        if time.perf_counter() - t0 > seconds:
            raise AssertionError(f"not within {seconds} s")
        time.sleep(0.25)
    return time.perf_counter() - t0


@needs_chromium
def test_two_app_servers_share_one_chroma_server(chroma_server, tmp_path):
    env = {"ASSISTANT_CHROMA_URL": chroma_server, "ASSISTANT_CORPUS": "replicated", "ASSISTANT_EMBEDDER": "hash"}
    a = Server(tmp_path / "a" / "index", tmp_path / "a.log", "--llm", "extractive", env=env)
    try:
        b = Server(tmp_path / "b" / "index", tmp_path / "b.log", "--llm", "extractive", env=env)
        try:
            # a built the corpus from the seeds in the server; b found it there (and built its keyword index from it)
            assert "building it from" in a.log.read_text() and "building it from" not in b.log.read_text()
            first = answer_through(b.url)
            assert not any(c["doc_id"] == "zorba.txt" for c in first["citations"])
            files = tmp_path / "files"
            files.mkdir()
            (files / "zorba.txt").write_text(ZORBA)
            with playwright_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = Page(browser, a.url).page
                page.get_by_role("tab", name="Corpus").click()
                page.locator("#upload input[type=file]").set_input_files([str(files / "zorba.txt")])
                page.locator("#corpus-status .upload-report").wait_for(timeout=120_000)
                assert "added: zorba.txt" in page.locator("#corpus-status").inner_text()
                seen = wait_for(lambda: "7,412" in answer_through(b.url)["answer"], 5.0)
                out = answer_through(b.url)
                assert any(c["doc_id"] == "zorba.txt" for c in out["citations"])

                chooser = page.locator("#to-remove input")
                chooser.click()
                chooser.fill("zorba")
                page.get_by_role("option", name="zorba.txt").click()
                page.locator("#remove").click()
                page.wait_for_function("!document.querySelector('#corpus').innerText.includes('Lake Zorba')",
                                       timeout=60_000)
                gone = wait_for(lambda: not any(c["doc_id"] == "zorba.txt"
                                                for c in answer_through(b.url)["citations"]), 5.0)
                browser.close()
            print(f"upload seen through the other server after {seen:.1f} s, removal after {gone:.1f} s")
        finally:
            b.stop()
    finally:
        a.stop()
    # nothing of the corpus lives in the local folders: only each process's keyword cache (and a's uploads folder)
    assert set(os.listdir(tmp_path / "a" / "index")) == {"keyword", "uploads"}
    assert set(os.listdir(tmp_path / "b" / "index")) == {"keyword"}
    assert (tmp_path / "b" / "index" / "keyword" / "synced.json").exists()


def test_the_lease_is_taken_over_once_its_writer_is_dead(chroma_server, tmp_path, monkeypatch):
    """A writer that died holding the lease blocks others only until the lease expires."""
    from assistant.errors import IndexStateError
    from assistant.index import catalog as catalog_module
    from assistant.ingest.indexer import Indexer
    from assistant.settings import Settings

    settings = Settings.from_env(env={}, index_dir=tmp_path / "w", chroma_url=chroma_server, corpus="leased",
                                 embedder="hash")
    indexer = Indexer(settings, lock_timeout=0.5)
    indexer.store.put_record("lock", {"owner": "another-host:1:dead", "expires": time.time() + 3})
    with pytest.raises(IndexStateError, match="another writer"):
        indexer.ingest([Path(__file__)])  # any path: it never gets that far
    monkeypatch.setattr(catalog_module, "LEASE_SECONDS", 5.0)
    time.sleep(3.2)
    report = Indexer(settings, lock_timeout=5).ingest([tmp_path / "nothing-here"])
    assert [str(e) for e in report.errors] == [f"{tmp_path / 'nothing-here'}: no such file or folder"]
    assert indexer.store.get_record("lock") is None  # released at the end
