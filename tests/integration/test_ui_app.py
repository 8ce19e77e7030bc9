"""The chat UI as a server: `assistant serve`'s refusals, and the app in-process with a stand-in
engine (the API endpoint, concurrency under the queue limit, the login). These open loopback sockets,
so they are integration tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from fakes import SlowEngine, free_port
from support import ROOT


def test_serve_warns_when_exposed_without_login_and_refuses_a_busy_port(tmp_path):
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    env.pop("ASSISTANT_UI_AUTH", None)
    p = subprocess.run([sys.executable, "-m", "assistant.apps.cli", "serve", "--host", "0.0.0.0",
                        "--port", str(free_port()), "--llm", "nonsense"],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 2
    assert "warning: serving on 0.0.0.0 without a login" in p.stderr and "ASSISTANT_UI_AUTH" in p.stderr
    assert "error: ASSISTANT_LLM: unknown answer engine 'nonsense'" in p.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "assistant.apps.cli", "serve", "--port", str(port)],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        assert p.returncode == 2 and time.perf_counter() - t0 < 20
        assert p.stderr.strip() == (f"error: cannot listen on 127.0.0.1:{port}: Address already in use "
                                    "(choose another with --port)")


# ---------------------------------------------------------------------------- the app in-process
@pytest.fixture
def hash_index(hash_settings):
    from assistant.ingest.indexer import Indexer

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    return hash_settings


def _launch(settings, engine):
    from assistant.apps.ui.app import serve
    from assistant.pipeline import Assistant

    settings = settings.with_overrides(ui_port=free_port())
    demo = serve(settings, Assistant(settings, engine=engine), block=False)
    return demo, f"http://127.0.0.1:{settings.ui_port}/"


def test_api_endpoint_and_concurrent_requests(hash_index):
    from gradio_client import Client

    demo, url = _launch(hash_index.with_overrides(ui_concurrency=3), SlowEngine(pause=0.4))
    try:
        client = Client(url, verbose=False)
        assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {"/ask"}
        out = client.predict(question="How many ISIS detainees has Iraq received?", api_name="/ask")
        assert out["engine"] == "slow-test" and out["model"] == "stand-in" and out["citations"][0]["n"] == 1
        assert out["answer"] == "Part one, part two, part three [1]" and len(out["retrieved"]) == hash_index.k
        t0 = time.perf_counter()
        jobs = [client.submit(question=f"Question {i} about Iraq?", api_name="/ask") for i in range(3)]
        results = [j.result(timeout=60) for j in jobs]
        elapsed = time.perf_counter() - t0
        assert all(r["engine"] == "slow-test" for r in results)
        assert elapsed < 2 * 1.2, f"3 requests of 1.2 s each took {elapsed:.1f}s: not concurrent"
        with pytest.raises(Exception, match="date_from: not a date"):
            client.predict(question="x?", date_from="02/2026", api_name="/ask")
    finally:
        demo.close()


def test_queue_limit_serialises_when_set_to_one(hash_index):
    from gradio_client import Client

    demo, url = _launch(hash_index.with_overrides(ui_concurrency=1), SlowEngine(pause=0.3))
    try:
        client = Client(url, verbose=False)
        t0 = time.perf_counter()
        jobs = [client.submit(question=f"Question {i}?", api_name="/ask") for i in range(2)]
        [j.result(timeout=60) for j in jobs]
        assert time.perf_counter() - t0 >= 2 * 0.9
    finally:
        demo.close()


def test_login_is_required_when_set(hash_index):
    import httpx
    from gradio_client import Client

    demo, url = _launch(hash_index.with_overrides(ui_auth="reader:s3cret"), SlowEngine(pause=0))
    try:
        assert httpx.get(url + "config").status_code == 401
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises whatever its HTTP layer does)
            Client(url, verbose=False)
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        assert client.predict(question="Iraq?", api_name="/ask")["engine"] == "slow-test"
    finally:
        demo.close()
