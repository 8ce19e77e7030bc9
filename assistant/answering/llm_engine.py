"""Answers written by a chat model, from numbered sources, with verified citations.

    condense:  history + follow-up -> prompts/condense.txt | model -> standalone question
    answer:    passages -> sentences scored (scoring.SentenceScorer, shared with the extractive engine)
               -> numbered sources (compressed, budgeted, best sentence in [1]) -> prompts/answer.txt
               | model (a direct first sentence of at most 18 words, then up to three more)
               -> streamed text -> verify.verify_answer -> Answer
               (the model declined or disagreed while the scorer is confident: the scorer's
               sentences quoted instead, composed as the extractive engine composes them)

The model is any LangChain ``BaseChatModel``: the packaged local GGUF, an OpenAI-compatible
server, Ollama, or a fake one in tests. The system message (instructions and a worked example)
never changes, so llama.cpp reuses its cache for it and reads only the sources and the question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence

from langchain_core.documents import Document
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.output_parsers import StrOutputParser

from assistant.answering.compose import Choice, choose, compose, shorten_first_sentence
from assistant.answering.context import Ranked, Sentence, Source, build_sources, render_sources
from assistant.answering.question import Asked, analyse, has_kind
from assistant.answering.scoring import Candidate, SentenceScorer
from assistant.answering.types import ABSTAIN_TEXT, Answer, StreamItem
from assistant.answering.verify import MARKER, Verified, verify_answer
from assistant.models.embedders import RememberingEmbedder
from assistant.rules import Rules

PROMPT_MARGIN = 32  # tokens kept free for the chat template's own markup


def citation_grammar(n_sources: int) -> str:
    """GBNF for the answer shape the prompt asks for: the exact refusal, or one to four sentences
    each ending in one to three citations of sources 1..n_sources (so none can be invalid). The
    first sentence's length is asked for in the prompt, not forced here: a word limit in the
    grammar makes the model glue words together when it reaches it."""
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


def lacks_asked_kind(asked: Asked, answer: str) -> str | None:
    """The kind of thing the question asks for (a figure for "how many", a date for "when", a name
    for "who / which outlet"), if the answer holds none beyond what the question says; else None."""
    if asked.kind not in _KINDS:
        return None
    from assistant.text.words import STOPWORDS

    text = MARKER.sub("", answer).strip()
    first = re.match(r"[\w'’.-]+", text)
    if first and first.group(0).casefold() not in STOPWORDS:
        text = "so " + text  # an opening name ("MENAFN reported…") counts like any other
    return None if has_kind(asked, text) else _KINDS[asked.kind]


class LLMEngine:
    def __init__(self, model, settings, *, name: str = "llm", model_name: str | None = None, embedder=None):
        from assistant.answering.prompts import chat_prompt, load_sections

        self.model = model
        self.settings = settings
        self.name = name
        self.model_name = model_name or getattr(model, "model_name", None) or type(model).__name__
        self.answer_prompt = chat_prompt("answer", ("sources", "earlier", "question"))
        self.condense_prompt = chat_prompt("condense", ("history", "question"), system_from="answer")
        self.condense_chain = self.condense_prompt | model.bind(stop=["\n"]) | StrOutputParser()
        self.judge_text = load_sections("judge", ("question",), system_from="answer")[1]
        self.embed = RememberingEmbedder(settings.embedder, embedder)  # texts -> vectors, remembered
        self.rules = Rules(settings.disabled_rules)
        self.scorer = SentenceScorer(self.embed, self.rules)  # ranks the sentences the model reads

    # ------------------------------------------------------------------ helpers
    @property
    def embedder(self):
        return self.embed.embedder

    @staticmethod
    def count(text: str) -> int:
        from assistant.text.tokens import count_tiktoken

        return count_tiktoken(text)

    def source_budget(self, question: str) -> int:
        """Tokens the numbered sources may take: the context window minus the fixed prompt, the
        question and room for the answer; with compression, at most ``context_tokens``."""
        empty = self.answer_prompt.format_messages(sources="", earlier="", question=question)
        fixed = sum(self.count(m.text) for m in empty) + PROMPT_MARGIN
        room = self.settings.n_ctx - self.settings.max_answer_tokens - fixed
        if room < 50:
            raise ValueError(f"question: too long for the model's context ({self.settings.n_ctx} tokens)")
        return min(room, self.settings.context_tokens) if self.settings.compress else room

    def rank_sentences(self, cands: Sequence[Candidate], picks: Sequence[Candidate] = ()) -> Ranked:
        """The scored sentences best-first for compression: with rule "lead-passage" the top
        retrieved passage whole (in its own order: retrieval puts the answering passage first most
        of the time), then ``picks`` (the sentences the scorer would quote), then the rest."""
        if not cands:
            return []
        top = max(c.score for c in cands)
        lead = sorted((c for c in cands if c.passage == 0), key=lambda c: c.start) \
            if self.rules.on("lead-passage") else []
        first = [*lead, *(c for c in picks if c not in lead)]
        seen = {(c.passage, c.start) for c in first}
        ranked = [(top, c.passage, Sentence(c.start, c.end, c.text)) for c in first]
        ranked += [(c.score, c.passage, Sentence(c.start, c.end, c.text)) for c in cands
                   if (c.passage, c.start) not in seen]
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

    def _verify(self, raw: str, sources, asked: Asked) -> tuple[Verified, str | None]:
        v = verify_answer(raw, sources, embed=self.embed, threshold=self.settings.support_threshold,
                          question=asked.text, rules=self.rules)
        lacking = None if v.abstained or not self.rules.on("withhold-off-kind") else lacks_asked_kind(asked, v.text)
        if lacking:  # "Which prison?" -> "the secure location mentioned in [1]": not an answer
            v = Verified(ABSTAIN_TEXT, True, [], v.invalid_citations, v.unsupported, withheld=v.text)
        return v, lacking

    def _judge(self, v: Verified, said: str, messages, question: str, extra: dict) -> Verified:
        """Rule "withhold-judged": the model, asked right after its answer (so llama.cpp reads only the
        new turn, about 40 tokens) whether the sources state the answer to the question, gives
        log P(Yes) - log P(No); below ``judge_threshold`` the answer is withheld. The 1.5B model answers
        most unanswerable questions with a related fact, and is less sure of those when asked
        (README, "What each rule is worth": swept on every set)."""
        margin = self.model.yes_no_margin([*messages, AIMessage(content=said),
                                           HumanMessage(content=self.judge_text.format(question=question))])
        extra["judge_margin"] = round(margin, 3)
        if margin >= self.settings.judge_threshold:
            return v
        extra["abstain_reason"] = f"the model was not sure the sources state it (judge margin {margin:.2f})"
        return Verified(ABSTAIN_TEXT, True, [], v.invalid_citations, v.unsupported, withheld=v.text)

    def fallback_reason(self, v: Verified, lacking: str | None, choice: Choice) -> str | None:
        """Why the model's declined or withheld answer gives way to the scorer's quoted sentences
        (rule "quote-declined"), or None when it stands. No confidence threshold: swept on every
        question set, none beat quoting whenever the scorer found a sentence of the asked kind."""
        if not (self.settings.quote_fallback and self.rules.on("quote-declined") and v.abstained and choice.picked):
            return None
        if lacking:
            return f"the model's answer gives no {lacking}"
        return "the model's answer was withheld" if v.withheld else "the model declined"

    def warm(self) -> None:
        """Have a local model read the fixed system prefix now (llama.cpp keeps it cached), so the
        first question reads only its sources; other models need nothing."""
        if not getattr(self.model, "supports_grammar", False):
            return
        blank = Source(n=1, doc=Document(page_content="-"), sentences=[Sentence(0, 1, "-")])  # headed as any source
        messages = self.answer_prompt.format_messages(sources=render_sources([blank]), earlier="", question="-")
        for _ in self.model.stream(messages, max_tokens=1):
            pass

    def earlier(self, history: Sequence[str]) -> str:
        """The earlier questions, for the answer prompt of a follow-up that was not condensed (the
        model resolves "he", "that", "more" itself): nothing for a first question."""
        history = [h.strip() for h in history if h and h.strip()]
        if not history or self.settings.condense:
            return ""
        listed = "\n".join(f"- {h}" for h in history[-3:])
        return ("Earlier questions, already answered (the question may refer to them; answer only the question "
                f"below):\n{listed}\n\n")

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
        t0 = time.perf_counter()
        asked = analyse(question, history, kinds=self.rules.kinds, use_context=self.rules.on("followup-context"))
        cands = self.scorer.candidates(asked, passages) if passages else []
        choice = choose(asked, cands, passages, threshold=self.settings.abstain_threshold, rules=self.rules,
                        dated_ratio=self.settings.dated_ratio) \
            if cands else Choice([])
        sources = [] if not cands else build_sources(
            question, passages, budget=self.source_budget(question), compress=self.settings.compress,
            count=self.count, rank=lambda q, ps: self.rank_sentences(cands, choice.picked),
            floor=self.settings.context_floor)
        if not sources:  # nothing to answer from; otherwise the model always reads the passages
            yield ABSTAIN_TEXT
            yield Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, engine=self.name,
                         model=self.model_name, timings_ms={"generate": 0.0},
                         extra={"abstain_reason": "no passage text to answer from"})
            return
        messages = self.answer_prompt.format_messages(sources=render_sources(sources), question=question,
                                                      earlier=self.earlier(history))
        prompt_tokens = sum(self.count(m.text) for m in messages)
        t_prompt = time.perf_counter()
        quotable = self.settings.quote_fallback and bool(choice.picked) and self.rules.on("quote-declined")
        parts: list[str] = []
        yield from self._generate(messages, len(sources), hold_refusal=quotable, out=parts)
        t_streamed = time.perf_counter()
        raw = "".join(parts)
        v, lacking = self._verify(raw, sources, asked)
        extra = {}
        reason = self.fallback_reason(v, lacking, choice)
        if reason:
            # The 1.5B model declines questions whose answer is in front of it, and picks the wrong
            # figure or name where the scorer is confident (README, "Quoted fallback"): then the
            # scorer's sentences are quoted, composed as the extractive engine composes them.
            quoted, citations = compose(choice, asked, passages, answer_weight=0.0)  # no answer-words: README
            if parts and raw.strip() != ABSTAIN_TEXT:
                yield "\n\n"  # what the model wrote was shown; the quoted answer replaces it
            for i, part in enumerate(quoted):
                yield (" " if i else "") + part
            extra = {"answered_by": "quote", "fallback_reason": reason, "model_answer": v.withheld or v.text}
            v, lacking = Verified(" ".join(quoted), False, citations, v.invalid_citations), None
        if not v.abstained and not extra:
            short = shorten_first_sentence(v.text, asked)
            if short != v.text:  # the reader gets the direct answer first (README, "A direct answer first")
                extra["long_first_sentence"] = v.text
                v = Verified(short, False, v.citations, v.invalid_citations, v.unsupported, corrected=v.corrected)
        t_verified = time.perf_counter()  # verification, the quoted fallback, the shortened first sentence
        if not v.abstained and self.rules.on("withhold-judged") and hasattr(self.model, "yes_no_margin"):
            v = self._judge(v, raw if extra.get("answered_by") != "quote" else v.text, messages, question, extra)
        t_judged = time.perf_counter()
        yield Answer(question=question, answer=v.text, abstained=v.abstained, citations=v.citations, engine=self.name,
                     model=self.model_name, grounded=v.grounded, invalid_citations=v.invalid_citations,
                     unsupported_sentences=v.unsupported, corrected_citations=v.corrected,
                     timings_ms={"build_prompt": (t_prompt - t0) * 1000, "generate": (t_streamed - t_prompt) * 1000,
                                 "verify": (t_verified - t_streamed) * 1000, "judge": (t_judged - t_verified) * 1000},
                     extra={"prompt_tokens": prompt_tokens, "sources": len(sources),
                            "confidence": round(choice.picked[0].score, 4) if choice.picked else None,
                            "raw_answer": raw, **({"withheld_answer": v.withheld} if v.withheld else {}),
                            **({"abstain_reason": f"the answer gives no {lacking}"} if lacking else {}), **extra})
