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


def _hidden_event(url: str, elem_id: str) -> int:
    """The fn_index of the page's (private) event triggered by the element ``elem_id``."""
    import httpx

    config = httpx.get(url + "config").json()
    comp = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(i for i, d in enumerate(config["dependencies"]) if any(t[0] == comp for t in d["targets"]))


def _call(url: str, fn_index: int, data: list, headers: dict | None = None) -> list:
    """Call a page event the way the page's script does (queue join, then the event stream)."""
    import json

    import httpx

    session = "test-session"
    r = httpx.post(url + "gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                         "event_data": None, "trigger_id": None},
                   headers=headers or {}, timeout=30)
    r.raise_for_status()
    with httpx.stream("GET", url + f"gradio_api/queue/data?session_hash={session}", headers=headers or {},
                      timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg["output"]["data"]
    raise AssertionError("no result")


def test_a_program_calling_the_hidden_remove_event_is_refused(hash_index):
    from assistant.index.catalog import Catalog

    demo, url = _launch(hash_index, SlowEngine(pause=0))
    try:
        remove = _hidden_event(url, "remove")
        out = _call(url, remove, [["000_9b2a7a8087030aa2.txt"]])  # no Origin: not the page
        assert "accepted only from this server" in str(out)
        assert "000_9b2a7a8087030aa2.txt" in Catalog.open(hash_index).load().docs
        out = _call(url, remove, [["000_9b2a7a8087030aa2.txt"]], headers={"Origin": "http://evil.example"})
        assert "accepted only from this server" in str(out)
        host = url.rstrip("/").split("//")[1]
        out = _call(url, remove, [["000_9b2a7a8087030aa2.txt"]], headers={"Origin": f"http://{host}"})
        assert "removed 000_9b2a7a8087030aa2.txt" in str(out)  # the page itself may
    finally:
        demo.close()


def test_the_api_names_the_argument_of_the_wrong_type(hash_index):
    from gradio_client import Client

    demo, url = _launch(hash_index.with_overrides(ui_refusal_delay=0.01), SlowEngine(pause=0))
    try:
        client = Client(url, verbose=False)
        for kwargs, message in [
            ({"question": "Iraq?", "history": "How many?"}, "history: expected a list of earlier questions, got str"),
            ({"question": "Iraq?", "sources": "MENAFN"}, "sources: expected a list of outlets, got one string"),
            ({"question": "x" * 5000}, "question: 5,000 characters; the limit is 4,000"),
            ({"question": "   "}, "question: empty"),
            ({"question": "Iraq?", "date_from": "2026-03", "date_to": "2026-01"}, "date_from 2026-03 is after"),
        ]:
            with pytest.raises(Exception, match=message):  # noqa: B017 - gradio_client's own error class
                client.predict(api_name="/ask", **kwargs)
        assert client.predict(question="Iraq?", history=["How many?"], api_name="/ask")["engine"] == "slow-test"
    finally:
        demo.close()


def test_refusals_slow_their_sender_without_holding_a_slot(hash_index):
    from gradio_client import Client

    # one question answered at a time, and refusals that soon wait a second or more
    demo, url = _launch(hash_index.with_overrides(ui_concurrency=1, ui_refusal_delay=1.0), SlowEngine(pause=0.3))
    try:
        client, other = Client(url, verbose=False), Client(url, verbose=False)
        t0 = time.perf_counter()
        assert other.predict(question="Iraq?", api_name="/ask")["engine"] == "slow-test"
        alone = time.perf_counter() - t0
        t0 = time.perf_counter()
        with pytest.raises(Exception, match="the limit is 4,000"):  # noqa: B017
            client.predict(question="x" * 5000, api_name="/ask")
        assert time.perf_counter() - t0 < 1.0  # a first mistake: refused at once
        waiting = [client.submit(question="x" * 5000, api_name="/ask") for _ in range(4)]  # 1, 2, 4, 8 s
        time.sleep(0.2)
        t0 = time.perf_counter()
        assert other.predict(question="Iraq?", api_name="/ask")["engine"] == "slow-test"
        assert time.perf_counter() - t0 < alone + 0.5  # not queued behind the waiting refusals
        deadline = time.monotonic() + 30
        while not any(job.done() for job in waiting) and time.monotonic() < deadline:
            time.sleep(0.05)  # the first refusal back (the jobs reach the server in any order) ...
        assert not all(job.done() for job in waiting)  # ... while the later ones still wait their turn
        for job in waiting:
            with pytest.raises(Exception, match="the limit is 4,000"):  # noqa: B017
                job.result(timeout=30)
    finally:
        demo.close()


def test_login_attempts_slow_down_after_failures(hash_index):
    import httpx

    demo, url = _launch(hash_index.with_overrides(ui_auth="reader:s3cret", ui_login_delay=0.2), SlowEngine(pause=0))
    try:
        times = []
        for guess in ("a", "b", "c", "d"):
            t0 = time.perf_counter()
            r = httpx.post(url + "login", data={"username": "reader", "password": guess}, timeout=60)
            times.append(time.perf_counter() - t0)
            assert r.status_code in (400, 401)
        # waits of 0, 0.2, 0.4, 0.8 s: the fourth guess takes at least 0.8 s, four take at least 1.4 s
        assert times[3] >= 0.8 and sum(times) >= 1.4 and times[0] < 0.5
        t0 = time.perf_counter()
        r = httpx.post(url + "login", data={"username": "reader", "password": "s3cret"}, timeout=60)
        assert r.status_code == 200 and time.perf_counter() - t0 >= 1.6  # the right one waits its turn too
    finally:
        demo.close()
