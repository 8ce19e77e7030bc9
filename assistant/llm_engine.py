"""Answers written by a chat model, from numbered sources, with verified citations.

    condense:  history + follow-up -> prompts/condense.txt | model -> standalone question
    answer:    passages -> numbered sources (compressed, budgeted) -> prompts/answer.txt | model
               -> streamed text -> verify.verify_answer -> Answer
               (the model declined, was withheld, or did not cite the source holding the extractive
               scorer's best sentence -> the scorer's sentences quoted instead: the quoted fallback)

The model is any LangChain ``BaseChatModel``: the packaged local GGUF, an OpenAI-compatible
server, Ollama, or a fake one in tests. The system message (instructions and a worked example)
never changes, so llama.cpp reuses its cache for it and reads only the sources and the question.
"""

from __future__ import annotations

import re
import time
from typing import Iterator, Sequence

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser

from assistant.answers import ABSTAIN_TEXT, Answer, StreamItem
from assistant.context import Ranked, Sentence, Source, build_sources, render_sources
from assistant.embeddings import RememberingEmbedder
from assistant.verify import MARKER, Verified, verify_answer

PROMPT_MARGIN = 32  # tokens kept free for the chat template's own markup


def citation_grammar(n_sources: int) -> str:
    """GBNF for the answer shape the prompt asks for: the exact refusal, or one to four sentences
    each ending in one to three citations of sources 1..n_sources (so none can be invalid)."""
    nums = " | ".join(f'"{i}"' for i in range(1, n_sources + 1))
    return "\n".join([
        'root ::= abstain | answer',
        f'abstain ::= "{ABSTAIN_TEXT}"',
        'answer ::= sentence (" " sentence){0,3}',
        'sentence ::= body cites "."?',
        'body ::= [^\\[\\]\\n] [^\\[\\]\\n]*',
        'cites ::= " [" num "]" ("[" num "]"){0,2}',
        f'num ::= {nums}',
    ]) + "\n"


_KINDS = {"number": "figure", "age": "age", "date": "date", "person": "person's name", "name": "name"}


def lacks_asked_kind(question: str, answer: str) -> str | None:
    """The kind of thing the question asks for (a figure for "how many", a date for "when", a name
    for "who / which outlet"), if the answer holds none beyond what the question says; else None."""
    from assistant.extractive import has_answer_type, question_entities, question_type

    qtype = question_type(question)
    if qtype not in _KINDS:
        return None
    from assistant.keyword_index import STOPWORDS

    asked = question_entities(question) + re.findall(r"[\w'’.-]+", question)
    text = MARKER.sub("", answer).strip()
    first = re.match(r"[\w'’.-]+", text)
    if first and first.group(0).casefold() not in STOPWORDS:
        text = "so " + text  # an opening name ("MENAFN reported…") counts like any other
    return None if has_answer_type(qtype, text, asked) else _KINDS[qtype]


def source_number(sources: Sequence[Source], passage: Document, start: int) -> int | None:
    """The number of the source that holds the sentence starting at ``start`` of ``passage``."""
    for s in sources:
        if s.doc.metadata.get("doc_id") == passage.metadata.get("doc_id") and any(x.start == start for x in s.sentences):
            return s.n
    return None


def fallback_reason(v: Verified, lacking: str | None, sources: Sequence[Source], passages: Sequence[Document],
                    best) -> str | None:
    """Why the model's verified answer gives way to the extractive scorer's quoted sentences (``best``
    is the sentence it ranks first), or None when the model's answer stands."""
    if v.abstained:
        if lacking:
            return f"the model's answer gives no {lacking}"
        return "the model's answer was withheld" if v.withheld else "the model declined"
    n = source_number(sources, passages[best.passage], best.start)
    if n is not None and n not in {c.n for c in v.citations}:
        return f"the model's answer does not cite [{n}], the source holding the best-scoring sentence"
    return None


class LLMEngine:
    def __init__(self, model, settings, *, name: str = "llm", model_name: str | None = None, embedder=None):
        from assistant.prompts import chat_prompt

        self.model = model
        self.settings = settings
        self.name = name
        self.model_name = model_name or getattr(model, "model_name", None) or type(model).__name__
        self.answer_prompt = chat_prompt("answer", ("sources", "question"))
        self.condense_prompt = chat_prompt("condense", ("history", "question"))
        self.condense_chain = self.condense_prompt | model.bind(stop=["\n"]) | StrOutputParser()
        self.embed = RememberingEmbedder(settings.embedder, embedder)  # texts -> vectors, remembered
        from assistant.extractive import ExtractiveEngine

        self.ranker = ExtractiveEngine(settings, embed=self.embed)  # picks the sentences the model reads first

    # ------------------------------------------------------------------ helpers
    @property
    def embedder(self):
        return self.embed.embedder

    @staticmethod
    def count(text: str) -> int:
        from assistant.tokens import count_tiktoken

        return count_tiktoken(text)

    def source_budget(self, question: str) -> int:
        """Tokens the numbered sources may take: the context window minus the fixed prompt, the
        question and room for the answer; with compression, at most ``context_tokens``."""
        empty = self.answer_prompt.format_messages(sources="", question=question)
        fixed = sum(self.count(m.text) for m in empty) + PROMPT_MARGIN
        room = self.settings.n_ctx - self.settings.max_answer_tokens - fixed
        if room < 50:
            raise ValueError(f"question: too long for the model's context ({self.settings.n_ctx} tokens)")
        return min(room, self.settings.context_tokens) if self.settings.compress else room

    def rank_sentences(self, question: str, passages: Sequence[Document], picks: Sequence = ()) -> Ranked:
        """The passages' sentences best-first for compression, as the extractive engine scores them
        (similarity, weighted keyword coverage); ``picks`` (the sentences it would quote) first, so
        source [1] holds the likeliest answer."""
        cands = self.ranker.candidates(question, [], passages)
        if not cands:
            return []
        top = max(cands[0].score, *(c.score for c in picks)) if picks else cands[0].score
        first = {(c.passage, c.start) for c in picks}
        ranked = [(top, c.passage, Sentence(c.start, c.end, c.text)) for c in picks]
        ranked += [(c.score, c.passage, Sentence(c.start, c.end, c.text)) for c in cands
                   if (c.passage, c.start) not in first]
        return ranked

    def _generate(self, messages, n_sources: int, *, hold_refusal: bool, out: list[str]) -> Iterator[str]:
        """Stream the model's answer (into ``out``). With ``hold_refusal``, text that is still the
        start of the refusal is held back: a refusal that quoted sentences will replace is not shown."""
        kwargs = {}
        if self.settings.grammar and getattr(self.model, "supports_grammar", False):
            kwargs["grammar"] = citation_grammar(n_sources)
        held = hold_refusal
        for chunk in self.model.stream(messages, **kwargs):
            delta = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
            if not delta:
                continue
            out.append(delta)
            if held:
                so_far = "".join(out)
                if ABSTAIN_TEXT.startswith(so_far.lstrip()):
                    continue
                held = False
                delta = so_far
            yield delta
        if held and "".join(out).strip() != ABSTAIN_TEXT:
            yield "".join(out)

    def _verify(self, raw: str, sources, question: str) -> tuple[Verified, str | None]:
        v = verify_answer(raw, sources, embed=self.embed, threshold=self.settings.support_threshold, question=question)
        lacking = None if v.abstained else lacks_asked_kind(question, v.text)
        if lacking:  # "Which prison?" -> "the secure location mentioned in [1]": not an answer
            v = Verified(ABSTAIN_TEXT, True, [], v.invalid_citations, v.unsupported, withheld=v.text)
        return v, lacking

    def warm(self) -> None:
        """Have a local model read the fixed system prefix now (llama.cpp keeps it cached), so the
        first question reads only its sources; other models need nothing."""
        if not getattr(self.model, "supports_grammar", False):
            return
        messages = self.answer_prompt.format_messages(sources="[1] Untitled article (undated, outlet unknown)\n-",
                                                      question="-")
        for _ in self.model.stream(messages, max_tokens=1):
            pass

    # ------------------------------------------------------------------ the engine seam
    def condense(self, question: str, history: Sequence[str]) -> str:
        """A follow-up rewritten as a standalone question by the model; the question itself when
        there is no history or the model's rewrite is unusable."""
        history = [h for h in history if h and h.strip()]
        if not history:
            return question
        text = self.condense_chain.invoke({"history": "\n".join(f"- {h}" for h in history[-3:]),
                                           "question": question})
        text = text.strip().strip('"').strip()
        for prefix in ("standalone question:", "question:", "rewritten question:"):
            if text.casefold().startswith(prefix):
                text = text[len(prefix):].strip()
        if not text or len(text) > 3 * (len(question) + len(history[-1])) or "[" in text:
            return question
        return text

    def stream(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Iterator[StreamItem]:
        from assistant.extractive import missing_entities, quoted_answer

        t0 = time.perf_counter()
        missing = missing_entities(question, passages) if passages else []
        picks, dated = self.ranker.select(question, [], passages) if passages and not missing else ([], False)
        sources = [] if missing else build_sources(
            question, passages, budget=self.source_budget(question), compress=self.settings.compress,
            count=self.count, rank=lambda q, ps: self.rank_sentences(q, ps, picks))
        if not sources:  # nothing to answer from, or the question hinges on what no passage names
            yield ABSTAIN_TEXT
            reason = f"no passage mentions {', '.join(missing)}" if missing else "no passage text to answer from"
            yield Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, engine=self.name,
                         model=self.model_name, timings_ms={"generate": 0.0}, extra={"abstain_reason": reason})
            return
        messages = self.answer_prompt.format_messages(sources=render_sources(sources), question=question)
        prompt_tokens = sum(self.count(m.text) for m in messages)
        t_prompt = time.perf_counter()
        fallback = self.settings.quote_fallback and bool(picks)
        parts: list[str] = []
        yield from self._generate(messages, len(sources), hold_refusal=fallback, out=parts)
        raw = "".join(parts)
        v, lacking = self._verify(raw, sources, question)
        extra = {}
        reason = fallback_reason(v, lacking, sources, passages, picks[0]) if fallback else None
        if reason:
            # The 1.5B model declines questions whose answer is in front of it, and picks the wrong
            # figure or name where the extractive scorer measured right (README, "Quoted fallback"):
            # when they disagree, the scorer's sentences are quoted, each with its citation.
            quoted, citations = quoted_answer(picks, dated, passages)
            if parts and raw.strip() != ABSTAIN_TEXT:
                yield "\n\n"  # what the model wrote was shown; the quoted answer replaces it
            for i, part in enumerate(quoted):
                yield (" " if i else "") + part
            extra = {"answered_by": "quote", "fallback_reason": reason, "model_answer": v.withheld or v.text}
            v, lacking = Verified(" ".join(quoted), False, citations, v.invalid_citations), None
        t_generated = time.perf_counter()
        yield Answer(question=question, answer=v.text, abstained=v.abstained, citations=v.citations, engine=self.name,
                     model=self.model_name, grounded=v.grounded, invalid_citations=v.invalid_citations,
                     unsupported_sentences=v.unsupported, corrected_citations=v.corrected,
                     timings_ms={"build_prompt": (t_prompt - t0) * 1000, "generate": (t_generated - t_prompt) * 1000,
                                 "verify": (time.perf_counter() - t_generated) * 1000},
                     extra={"prompt_tokens": prompt_tokens, "sources": len(sources),
                            "raw_answer": raw, **({"withheld_answer": v.withheld} if v.withheld else {}),
                            **({"abstain_reason": f"the answer gives no {lacking}"} if lacking else {}), **extra})
