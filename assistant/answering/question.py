"""What a question asks for, read from its grammar alone (wh-words and stop words, never topic words).

    kind      what kind of thing answers it: a figure ("how many", "how much", "how far"), an age
              ("how old"), a date ("when", "which day/month/year"), a person ("who"), a name
              ("which ...", "what is the name"), or anything ("other")
    terms     the question's content words (stemmed) with weights: 1 for its own, 0.5 for the words
              of the earlier turn a follow-up refers to
    focus     the words naming what is asked for ("how many Iranian prisoners" -> iranian, prison)
    given     the names and figures the question itself states (so they are not taken as the answer)

Both answer engines read the same analysis (``analyse``); ``has_kind`` tells whether a sentence
holds a thing of the asked kind. Each use is a named rule (``assistant/rules.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from assistant.retrieval.followup import looks_like_followup
from assistant.text import facts
from assistant.text.words import STOPWORDS, tokenize

KINDS = ("number", "age", "date", "person", "name", "other")

_DATE_UNITS = "date|day|year|month"  # calendar words: "which day", "what year"


def question_kind(question: str, enabled=None) -> str:
    """The kind of thing that answers the question (see the module docstring); ``enabled`` limits
    the kinds recognised (the others read as "other"), for ablations."""
    q = question.lower()
    opening = r"^\W*(?:[\w'’]+\W+){0,3}"  # the wh-word among the first words: "And who...", "In which..."
    checks = (
        ("age", r"\bhow old\b|\bwhat age\b"),
        ("number", r"\bhow (?:many|much|far)\b|\bwhat (?:percentage|proportion|number)\b"),
        # "what date", "which year", and with the copula between: "what was the date of the deal"
        ("date", rf"\bwhen\b|\b(?:what|which) (?:(?:is|was|are|were|will be) the )?(?:{_DATE_UNITS})\b"),
        ("person", opening + r"(?:who|whom|whose)\b"),
        ("name", opening + r"which\b|\bwhat is the name\b|^\W*name (?:a|an|one|the)\b"),
    )
    for kind, pattern in checks:
        if (enabled is None or kind in enabled) and re.search(pattern, q):
            return kind
    return "other"


def given_facts(question: str) -> list[str]:
    """Names and figures the question states: capitalised words after the first, and numbers."""
    out = []
    for sentence in re.split(r"(?<=[.?!])\s+", question):
        toks = re.findall(r"[A-Za-z][\w'’.-]*|\d[\d,.]*", sentence)
        for i, w in enumerate(toks):
            w = w.rstrip(".,")
            if re.fullmatch(r"\d[\d,.]*", w):
                out.append(w)
            elif i > 0 and w[:1].isupper():
                for part in re.split(r"[-–]", re.split(r"['’]", w)[0]):  # "Washington-Baghdad", "ISIS-linked"
                    if part[:1].isupper() and len(part) > 1:
                        out.append(part)
    return out


def focus_words(question: str) -> list[str]:
    """The words right after "how many / how much / which / what" up to the first stop word: what
    is asked for ("how many Russian citizens are..." -> Russian, citizens)."""
    m = re.search(r"\b(?:how (?:many|much)|which|what)\s+((?:[\w'’-]+\s+){0,3}[\w'’-]+)", question, re.I)
    if not m:
        return []
    out = []
    for w in m.group(1).split():
        if w.lower() in STOPWORDS:
            break
        out.append(w)
    return out


@dataclass(frozen=True)
class Asked:
    text: str
    kind: str
    terms: dict = field(default_factory=dict)  # stem -> weight
    focus: frozenset = frozenset()  # stems
    given: tuple = ()  # names and figures the question (and a follow-up's earlier turn) states
    followup: bool = False
    context: tuple = ()  # the earlier turn a follow-up refers to

    @property
    def given_figures(self) -> set[str]:
        return {g.replace(",", "") for g in self.given if g[:1].isdigit()}


def analyse(question: str, history: Sequence[str] = (), *, kinds=None, history_weight: float = 0.5,
            use_context: bool = True) -> Asked:
    """The question's kind, weighted terms, focus and given facts; a follow-up ("how old is he?")
    borrows the last earlier turn's words at ``history_weight``."""
    history = [h for h in history if h and h.strip()]
    followup = bool(history) and looks_like_followup(question)
    context = tuple(history[-1:]) if followup and use_context else ()
    terms: dict[str, float] = {}
    for t in tokenize(question):
        terms[t] = 1.0
    for h in context:
        for t in tokenize(h):
            terms.setdefault(t, history_weight)
    given = tuple(given_facts(question)) + tuple(w for h in context for w in re.findall(r"[\w'’.-]+", h))
    focus = frozenset(s for w in focus_words(question) for s in tokenize(w))
    return Asked(text=question, kind=question_kind(question, kinds), terms=terms, focus=focus,
                 given=given + tuple(re.findall(r"[\w'’.-]+", question)), followup=followup, context=context)


def _new(word: str, asked: Asked) -> bool:
    """A word the question (or the turn it follows) does not already say, up to word form."""
    w = word.lower().strip(".,'’")
    return not any(w == a.lower().strip(".,'’") or facts.same_word(w, a.lower().strip(".,'’")) for a in asked.given)


def has_kind(asked: Asked, sentence: str) -> bool:
    """Does the sentence hold a thing of the asked kind that the question does not already give?"""
    kind = asked.kind
    if kind == "number":
        return facts.states_quantity(sentence, besides=asked.given_figures)
    if kind == "age":
        return bool(re.search(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|, \d{1,3},", sentence, re.I))
    if kind == "date":
        return (any(_new(w, asked) for w in facts.date_words(sentence))
                or bool(re.search(r"\b\d{4}-\d{2}-\d{2}\b", sentence)))
    if kind == "person":
        return any(len(run) >= 2 and any(_new(w, asked) for w in run) for run in facts.capitalised_runs(sentence))
    if kind == "name":
        return any(_new(w, asked) for run in facts.capitalised_runs(sentence) for w in run)
    return True
