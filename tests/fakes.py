"""The test doubles every test file shares: a chat model with queued replies that records its calls,
answer engines that stream on cue, and a free loopback port. No model, no network."""

from __future__ import annotations

import socket
import threading
import time

from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from assistant.answering.types import Answer, Citation


class RecordingChat(GenericFakeChatModel):
    """GenericFakeChatModel that remembers the messages of every call (its stream goes through _generate)."""

    calls: list = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.calls.append(messages)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake_chat(*replies: str) -> RecordingChat:
    """A chat model that answers with ``replies`` in turn and records what it was sent (``.calls``)."""
    return RecordingChat(messages=iter([AIMessage(content=r) for r in replies]), calls=[])


class JudgingChat(RecordingChat):
    """A fake chat model with token probabilities, like the local one: ``yes_no_margin`` answers the
    queued ``margins`` in turn and records the messages it was asked (``.judged``)."""

    margins: list = []
    judged: list = []

    def yes_no_margin(self, messages):
        self.judged.append(messages)
        return self.margins.pop(0)


def judging_chat(replies, margins) -> JudgingChat:
    return JudgingChat(messages=iter([AIMessage(content=r) for r in replies]), calls=[], margins=list(margins),
                       judged=[])


class SlowEngine:
    """A stand-in answer engine: cites the first passage's opening words, streaming three pieces
    with pauses, so streaming and concurrency can be measured."""

    name = "slow-test"

    def __init__(self, pause: float = 0.3):
        self.pause = pause

    def condense(self, question, history):
        return question

    def stream(self, question, history, passages):
        d = passages[0]
        quote = d.page_content[:30]
        start = int(d.metadata["start"])
        for part in ("Part one, ", "part two, ", "part three [1]"):
            time.sleep(self.pause)
            yield part
        yield Answer(question=question, answer="Part one, part two, part three [1]", abstained=False,
                     citations=[Citation(1, d.metadata["doc_id"], "", None, "", "", quote, start, start + len(quote))],
                     engine=self.name, model="stand-in")


class HeldEngine:
    """Streams 40 words slowly while holding a lock, as the local model holds its generation lock;
    ``closed`` is set when the stream is let go of."""

    name = "held-test"

    def __init__(self):
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def condense(self, question, history):
        return question

    def stream(self, question, history, passages):
        with self.lock:
            try:
                for i in range(40):
                    time.sleep(0.25)
                    yield f"word{i} "
            finally:
                self.closed.set()
        yield Answer(question=question, answer="never verified", abstained=False, engine=self.name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- two passages to answer from
A = ("(MENAFN) Iraq has taken in 450 ISIS detainees from Syria, the deputy foreign minister said on Sunday. "
     "The talks were held in Baghdad. Officials praised the weather.")
B = ("The weather was mild. The Iraqi side announced the transfer of about 5,500 ISIS detainees "
     "from Syria to Iraq. Some will be returned to more than 60 countries.")
Q = "How many ISIS detainees has Iraq received from Syria?"


def passage(doc_id, text, date, source, title, start=0):
    return Document(id=f"{doc_id}-0", page_content=text,
                    metadata={"doc_id": doc_id, "date": date, "source": source, "title": title, "url": "",
                              "start": start, "end": start + len(text), "chunk_id": f"{doc_id}-0", "score": 0.5})


PASSAGES = [passage("a.txt", A, "2026-02-02", "MENAFN", "Iraq receives ISIS detainees", start=100),
            passage("b.txt", B, "2026-01-21", "Kurdistan24", "Transfer of detainees announced")]
