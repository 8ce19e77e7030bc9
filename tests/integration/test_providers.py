"""``openai:MODEL`` against an OpenAI-compatible server the test runs on loopback (the wire
format of OpenAI, vLLM, llama.cpp server, LM Studio): no remote service is ever called."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("langchain_openai")

from fakes import PASSAGES  # noqa: E402

from assistant.answering.engines import get_engine  # noqa: E402
from assistant.models.embedders import HashEmbedder, RememberingEmbedder  # noqa: E402
from assistant.pipeline import Assistant  # noqa: E402


class FakeOpenAI(BaseHTTPRequestHandler):
    requests: list = []
    reply = ""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        text = type(self).reply
        base = {"id": "x", "created": 0, "model": body["model"]}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in text.split(" "):
                chunk = {**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": {"role": "assistant", "content": word + " "},
                                      "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            end = {**base, "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
            return
        out = {**base, "object": "chat.completion",
               "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def openai_server(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeOpenAI.requests = []
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_port}/v1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    yield FakeOpenAI
    server.shutdown()


class Retriever:
    def invoke(self, query, **kw):
        return PASSAGES


def test_openai_compatible_server_answers_with_verified_citations(hash_settings, openai_server):
    openai_server.reply = "Iraq has taken in 450 ISIS detainees from Syria [1]."
    settings = hash_settings.with_overrides(llm="openai:my-model", support_threshold=0.4)
    engine = get_engine(settings.llm, settings)
    engine.embed = RememberingEmbedder("hash", HashEmbedder())
    ans = Assistant(settings, engine=engine, retriever=Retriever()).ask("How many ISIS detainees has Iraq received?")
    assert ans.engine == "openai" and ans.model == "openai:my-model"
    assert ans.answer.startswith("Iraq has taken in 450") and [c.doc_id for c in ans.citations] == ["a.txt"]
    assert ans.grounded and ans.invalid_citations == 0
    req = openai_server.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["model"] == "my-model" and req["stream"] is True
    assert req["messages"][0]["role"] == "system" and "[1]" in req["messages"][0]["content"]
    assert "[1] Iraq receives ISIS detainees (2026-02-02, MENAFN)" in req["messages"][1]["content"]
    assert req["temperature"] == 0.0
    assert req.get("max_completion_tokens", req.get("max_tokens")) == settings.max_answer_tokens


def test_follow_up_condensed_by_the_remote_model(hash_settings, openai_server):
    settings = hash_settings.with_overrides(llm="openai:my-model", support_threshold=0.4)
    engine = get_engine(settings.llm, settings)
    openai_server.reply = "How many more ISIS detainees will Iraq receive?"
    assert engine.condense("And how many more?", ["How many ISIS detainees has Iraq received?"]) == \
        "How many more ISIS detainees will Iraq receive?"
    req = openai_server.requests[-1]
    assert req["stop"] == ["\n"] and "And how many more?" in req["messages"][1]["content"]


def test_unreachable_server_is_one_line_error(hash_settings, monkeypatch, capsys):
    from assistant.apps.cli import main
    from assistant.ingest.indexer import Indexer

    Indexer(hash_settings).ingest([hash_settings.seeds_dir])
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(hash_settings.index_dir))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "hash")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: nothing listens
    assert main(["ask", "--llm", "openai:my-model", "How many detainees?"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the openai:my-model model could not answer: ")
    assert "ConnectionError" in err[-1]
