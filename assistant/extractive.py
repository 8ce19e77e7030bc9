"""The extractive answer engine: no LLM, every sentence quoted from an article with ``[n]``.

1. Split the retrieved passages into sentences (with offsets into the cleaned article).
2. Score each sentence against the question: embedding similarity, IDF-weighted coverage of the
   question's words (in the sentence and in its passage), and whether it holds the kind of thing
   asked for (a number for "how many", a date for "when", a name for "who"/"which", ...) that the
   question itself does not already contain.
3. Abstain ("The articles don't say.") when no sentence of the asked kind is strong enough, when
   a name or figure the question hinges on appears in none of the passages, when an equally
   relevant sentence says it is unknown, or when the most relevant sentences lack the asked kind.
4. Compose: the best sentence (plus a close second); when articles of different dates give
   different figures, each new figure once with its date, newest first.

The constants below were tuned on seeds/questions.jsonl and checked on bench/paraphrase_questions.jsonl
(bench/abstention_sweep.py prints both).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

from langchain_core.documents import Document

from assistant.aliases import aliases, canonical, normalize_names, same_word
from assistant.answers import ABSTAIN_TEXT, Answer, Citation, StreamItem
from assistant.context import unique_sentences
from assistant.embeddings import RememberingEmbedder
from assistant.keyword_index import tokenize

_WH = {"how", "mani", "much", "what", "which", "who", "whom", "whose", "when", "where", "whi", "why", "doe", "did",
       "do", "is", "are", "was", "were", "name", "accord", "per", "roughli", "approxim", "exactli"}
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozen|dozens|hundred|hundreds|"
                 "thousand|thousands|million|millions")
_NAME_PARTICLES = {"al", "el", "bin", "ibn", "de", "van", "von", "da", "di", "abu", "bint"}


# sentence score = W_DENSE * cosine(question, sentence) + W_LEXICAL * IDF-weighted share of the
# question's words in the sentence + W_PASSAGE * the same share in its passage (tuned on seeds/questions.jsonl)
W_DENSE, W_LEXICAL, W_PASSAGE = 0.5, 0.35, 0.15
HISTORY_WEIGHT = 0.5  # weight of an earlier turn's words against the follow-up's own
MISSING_PENALTY = 0.3  # score factor for each name or figure of the question found in no passage
FIGURE_BONUS = 0.05  # "how many X": a figure followed by X ("450 ISIS detainees")
TYPED_RATIO = 0.75  # abstain when the most relevant sentence lacks the asked-for kind of answer by this much
DATED_RATIO = 0.7  # other articles' figures are given (dated) when their sentence scores this close to the best
SECOND_RATIO = 0.75  # a second sentence is added when it scores this close to the best
_UNCERTAIN = re.compile(r"\b(remains? unclear|(?:is|was|are|were|remains?) (?:not|un)known|did not (?:say|specify|disclose)|"
                        r"declined to (?:say|comment|specify)|not (?:yet )?(?:been )?(?:disclosed|confirmed|specified)|"
                        r"no details)\b", re.I)
_ASKS_FOR_MORE = re.compile(r"\b(more|else|other|another|besides|in addition)\b", re.I)


@dataclass
class Candidate:
    passage: int  # index into the passages
    text: str
    start: int  # in the article
    end: int
    score: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    typed: bool = True
    numbers: frozenset = frozenset()


# ---------------------------------------------------------------------------- question analysis
def question_type(question: str) -> str:
    q = question.lower()
    if re.search(r"\bhow old\b|\bwhat age\b|\bage of\b", q):
        return "age"
    if re.search(r"\bhow (many|much)\b|\bwhat (number|percentage|share|proportion)\b|\bhow large\b", q):
        return "number"
    if re.search(r"\bhow long\b|\bwithin what time\b|\bwhat time ?frame\b|\bhow soon\b", q):
        return "duration"
    if re.search(r"\bwhen\b|\b(what|which) (date|day|year|month)\b|\bon what day\b|\bday of the week\b", q):
        return "date"
    if re.match(r"^\W*(?:\w+\W+){0,2}(why|for what reason|what (?:was|is) the reason)\b", q):
        return "reason"
    if re.match(r"^\W*(?:\w+\W+){0,2}(who|whom|whose)\b", q):  # "Who ...", "And who ...", "To whom ..."
        return "person"
    if re.search(r"\b(which|what) (\w+[- ])?(outlet|agency|news|newspaper|wire|media|service|body|force|council|"
                 r"country|city|town|place|province|region|border|crossing|building|prison|organi[sz]ation|"
                 r"ministry|department|group|airline|company|nation|neighbou?ring|post|state|court)\b|\bwhere\b", q):
        return "name"
    return "other"


def _norm_word(w: str) -> str:
    return w.lower().replace(".", "").strip("'’")


def _related(a: str, b: str) -> bool:
    """Same word up to inflection ('Iran'/'Iranian', 'Iraq'/'Iraqi'), or an alias ('Washington'/'US')."""
    a, b = _norm_word(a), _norm_word(b)
    if not a or not b:
        return False
    return a == b or b in aliases(a) or a in aliases(b) or same_word(a, b)


def question_entities(question: str) -> list[str]:
    """Names, acronyms and figures the question hinges on: capitalised words after the first, numbers."""
    out = []
    for sentence in re.split(r"(?<=[.?!])\s+", normalize_names(question)):
        _sentence_entities(re.findall(r"[A-Za-z][\w'’.-]*|\d[\d,.]*", sentence), out)
    return out


def _sentence_entities(words: list[str], out: list[str]) -> None:
    for i, w in enumerate(words):
        w = w.rstrip(".,")
        if re.fullmatch(r"\d[\d,.]*", w):
            out.append(w)
        elif i > 0 and w[0].isupper():
            for part in re.split(r"[-–]", re.split(r"['’]", w)[0]):  # "Washington-Baghdad", "ISIS-linked"
                if part[:1].isupper() and len(part) > 1 and _norm_word(part) not in {"i", "isis"}:
                    out.append(part)


def missing_entities(question: str, passages: Sequence[Document]) -> list[str]:
    """Names and figures of the question found in no passage (text, title, outlet, dateline or date),
    aliases and word forms allowed ("Washington" ~ US, "Iraqi" ~ Iraq)."""
    all_text = " ".join(d.page_content for d in passages) + " " + " ".join(
        str(d.metadata.get(k) or "") for d in passages for k in ("title", "source", "dateline")) + " " + " ".join(
        _spelled_date(d.metadata.get("date")) for d in passages)
    words = re.findall(r"[\w'’.-]+", all_text)
    return [e for e in question_entities(question)
            if not any(_related(e, w) for w in words) and e.replace(",", "") not in all_text.replace(",", "")]


def _numbers(text: str) -> set[str]:
    """Figures in a sentence, years and days of dates left out."""
    t = re.sub(rf"\b(?:{_MONTHS})\.? \d{{1,2}}\b(?:, \d{{4}})?", " ", text, flags=re.I)
    t = re.sub(r"\b\d{4}-\d{2}-\d{2}\b", " ", t)
    nums = {n.replace(",", "") for n in re.findall(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+(?:\.\d+)?\b", t)}
    return {n for n in nums if not (len(n) == 4 and n.isdigit() and 1900 <= int(n) <= 2100)}


def _capitalised_sequences(text: str) -> list[list[str]]:
    """Runs of capitalised words ("Igor Nikolayevich Zubov", "Hisham al-Alawi"), broken by punctuation;
    a lone capitalised first word of the sentence does not count."""
    seqs, cur = [], []
    prev_end = None
    for i, m in enumerate(re.finditer(r"[\w'’.-]+", text)):
        bare = m.group(0).strip(".,'’")
        lead = bare.split("-")[0].lower()
        joined = prev_end is not None and text[prev_end:m.start()] == " " and not text[prev_end - 1] in ",;:"
        prev_end = m.end()
        if bare[:1].isupper() or (cur and lead in _NAME_PARTICLES):
            if cur and not joined:
                seqs.append(cur)
                cur = []
            cur.append((i, bare))
        else:
            if cur:
                seqs.append(cur)
            cur = []
    if cur:
        seqs.append(cur)
    return [[w for _, w in s] for s in seqs if not (len(s) == 1 and s[0][0] == 0)]


def _terms(text: str, keep_order: bool = False):
    """Stemmed words with synonyms folded together ('inmates' and 'detainees' count as one word)."""
    toks = [canonical(t) for t in tokenize(normalize_names(text))]
    return toks if keep_order else set(toks)


def _spelled_date(iso: str | None) -> str:
    """'2026-02-02' -> 'February 2026 Monday', so "in early February" finds the article's own date."""
    if not iso:
        return ""
    from datetime import date

    d = date.fromisoformat(iso)
    return d.strftime("%B %Y %A")


def counted_thing(question: str) -> set[str]:
    """The words of what a "how many X" question counts ("how many Russian citizens" -> russian, citizens)."""
    m = re.search(r"\bhow (?:many|much)\s+((?:[\w'’-]+\s+){0,3}[\w'’-]+)", normalize_names(question), re.I)
    if not m:
        return set()
    words = []
    for w in m.group(1).split():
        if w.lower() in {"is", "are", "was", "were", "did", "do", "does", "has", "have", "had", "will", "would",
                         "can", "could", "of", "in", "from", "at", "more", "else"}:
            break
        words.append(w)
    return {w.lower() for w in words if _terms(w) and not (_terms(w) <= _WH)}


def _figure_near(sentence: str, focus: set[str]) -> bool:
    """The sentence that gives the figure also names what is counted ("Iran says 120 of its nationals" for
    "how many Iranians"); a figure about something else ("5,500 prisoners" for "how many Russian citizens") is no answer."""
    terms = _terms(sentence)
    words = re.findall(r"[\w'’.-]+", sentence.lower())
    singular = lambda w: re.sub(r"(?<=\w\w\w)(?:es|s)$", "", w)  # noqa: E731
    return any(_terms(f) & terms or any(_related(singular(f), singular(w)) for w in words) for f in focus)


def _figure_names_asked_thing(sentence: str, weights: dict[str, float]) -> bool:
    for m in re.finditer(r"\b\d[\d,.]*\b", sentence):
        after = _terms(" ".join(sentence[m.end():].split()[:3]))
        if any(t in weights for t in after):
            return True
    return False


def has_answer_type(qtype: str, sentence: str, asked: Sequence[str]) -> bool:
    """Does the sentence hold the kind of thing asked for, beyond what the question already says?"""
    s = sentence
    new = lambda w: not any(_related(w, a) for a in asked)  # noqa: E731
    if qtype == "number":
        nums = _numbers(s)
        asked_nums = {a.replace(",", "") for a in asked if a[:1].isdigit()}
        return bool(nums - asked_nums) or bool(re.search(rf"\b({_NUMBER_WORDS})\b", s, re.I))
    if qtype == "age":
        return bool(re.search(r"\b\d{1,3}[- ]years?[- ]old\b|\baged? \d{1,3}\b|, \d{2},", s, re.I))
    if qtype == "duration":
        return bool(re.search(r"\b(for|since|over|within|in|next|past|after)\b[\w\s-]{0,24}?\b(hours?|days?|weeks?|"
                              r"months?|years?|decades?)\b|\b\d+-(hour|day|week|month|year)\b", s, re.I))
    if qtype == "date":
        found = re.findall(rf"\b(?:{_MONTHS}|{_WEEKDAYS})\b\.?|\b(?:19|20)\d{{2}}\b|\b(?:today|yesterday|"
                           r"tomorrow|last (?:week|month|year)|next (?:week|month|year))\b", s, re.I)
        return any(new(f.strip(".")) for f in found)
    if qtype == "reason":
        return bool(re.search(r"\b(because|due to|as a result|in order to|so that|so as to|necessitat\w*|"
                              r"aim(?:s|ed|ing)? to|to (?:ensure|prevent|avoid|allow|protect|preserve|help)|"
                              r"amid|following|after|reason|prompt\w*|lead(?:s|ing)? to|led to|since)\b", s, re.I))
    if qtype == "person":
        return any(len(seq) >= 2 and any(new(w) for w in seq) for seq in _capitalised_sequences(s))
    if qtype == "name":
        return any(new(w) for seq in _capitalised_sequences(s) for w in seq)
    return True


# ---------------------------------------------------------------------------- the engine
def quoted_answer(picked: Sequence["Candidate"], dated: bool,
                  passages: Sequence[Document]) -> tuple[list[str], list[Citation]]:
    """The picked sentences as an answer: each quoted whole with its citation [n]; dated figures
    that differ are led by their article's date (and outlet), newest first."""
    citations: list[Citation] = []
    parts: list[str] = []
    for c in picked:
        meta = passages[c.passage].metadata
        n = len(citations) + 1
        citations.append(Citation(n=n, doc_id=meta["doc_id"], title=meta.get("title") or "",
                                  date=meta.get("date") or None, source=meta.get("source") or "",
                                  url=meta.get("url") or "", quote=c.text, start=c.start, end=c.end))
        lead = ""
        if dated:
            when = meta.get("date") or "undated"
            outlet = meta.get("source") or ""
            named = outlet and outlet.casefold() in c.text[:60].casefold()  # "(MENAFN) Iraq has ..."
            lead = f"{when}{' (' + outlet + ')' if outlet and not named else ''}: "
        parts.append(f"{lead}{c.text} [{n}]")
    return parts, citations


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, settings, embedder=None, *, embed: RememberingEmbedder | None = None):
        self.settings = settings
        self.threshold = settings.abstain_threshold
        self._embed = embed or RememberingEmbedder(settings.embedder, embedder)

    @property
    def embedder(self):
        return self._embed.embedder

    def condense(self, question: str, history: Sequence[str]) -> str:
        """No model to rewrite follow-ups: retrieval and scoring read the earlier turn instead."""
        return question

    def answer(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Answer:
        from assistant.answers import final_answer

        return final_answer(self.stream(question, history, passages))

    def stream(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Iterator[StreamItem]:
        t0 = time.perf_counter()
        picked, dated = self.select(question, history, passages)
        if not picked:
            yield ABSTAIN_TEXT
            yield Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, engine=self.name,
                         timings_ms={"answer": (time.perf_counter() - t0) * 1000})
            return
        parts, citations = quoted_answer(picked, dated, passages)
        text = " ".join(parts)
        for i, part in enumerate(parts):  # stream sentence by sentence
            yield (" " if i else "") + part
        yield Answer(question=question, answer=text, abstained=False, citations=citations, engine=self.name,
                     timings_ms={"answer": (time.perf_counter() - t0) * 1000},
                     extra={"confidence": round(picked[0].score, 4)})

    # ------------------------------------------------------------------ scoring
    def candidates(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> list[Candidate]:
        from assistant.followup import looks_like_followup

        cands = [Candidate(pi, s.text, s.start, s.end) for pi, s in unique_sentences(passages)]
        if not cands:
            return []
        is_followup = bool(history) and looks_like_followup(question)
        context = [h for h in history[-1:]] if is_followup else []
        qtype = question_type(question)
        asked = question_entities(question) + [w for h in context for w in re.findall(r"[\w'’.-]+", h)] + \
            re.findall(r"[\w'’.-]+", question)

        # IDF over the candidate sentences; question words found nowhere weigh the most
        sent_tokens = [_terms(c.text) for c in cands]
        passage_tokens = [_terms(d.page_content) for d in passages]
        n = len(cands)
        df: dict[str, int] = {}
        for toks in sent_tokens:
            for t in toks:
                df[t] = df.get(t, 0) + 1
        idf = lambda t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5))  # noqa: E731
        weights: dict[str, float] = {}
        for t in _terms(question, keep_order=True):
            if t not in _WH:
                weights[t] = max(weights.get(t, 0.0), 1.0)
        for h in context:  # a follow-up's earlier turn names what "he"/"they" refers to, at a lower weight
            for t in _terms(h, keep_order=True):
                if t not in _WH:
                    weights[t] = max(weights.get(t, 0.0), HISTORY_WEIGHT)
        total = sum(w * idf(t) for t, w in weights.items()) or 1.0

        def coverage(toks: set[str]) -> float:
            return sum(w * idf(t) for t, w in weights.items() if t in toks or any(_related(t, x) for x in toks)) / total

        focus = counted_thing(question) if qtype == "number" else set()
        qv = self._embed([" ".join([*context, question])])[0]
        svs = self._embed([c.text for c in cands])
        passage_cov = [coverage(p) for p in passage_tokens]
        for c, toks, sv in zip(cands, sent_tokens, svs):
            c.dense = sum(a * b for a, b in zip(qv, sv))
            c.lexical = coverage(toks)
            c.typed = has_answer_type(qtype, c.text, asked) and (not focus or _figure_near(c.text, focus))
            c.numbers = frozenset(_numbers(c.text))
            c.score = W_DENSE * c.dense + W_LEXICAL * c.lexical + W_PASSAGE * passage_cov[c.passage]
            if qtype == "number" and _figure_names_asked_thing(c.text, weights):
                c.score += FIGURE_BONUS

        # names and figures the question hinges on, found in no passage: a strong sign the articles don't say
        missing = missing_entities(question, passages)
        if missing:
            for c in cands:
                c.score *= MISSING_PENALTY ** len(missing)
        return sorted(cands, key=lambda c: -c.score)

    def select(self, question: str, history: Sequence[str],
               passages: Sequence[Document]) -> tuple[list[Candidate], bool]:
        """The sentences to quote (none: abstain), and whether they are dated figures that differ."""
        everything = self.candidates(question, history, passages)
        if history and _ASKS_FOR_MORE.search(question):
            # "and how many more?": what answered the earlier turn is not the answer now
            earlier, _ = self.select(history[-1], history[:-1], passages)
            taken = {(c.passage, c.start) for c in earlier[:1]}
            everything = [c for c in everything if (c.passage, c.start) not in taken]
        ranked = [c for c in everything if c.typed]
        if not ranked or ranked[0].score < self.threshold:
            return [], False
        top = everything[0]
        if any(_UNCERTAIN.search(c.text) and c.score >= ranked[0].score for c in everything[:3]):
            return [], False  # a sentence at least as relevant as any answer says it is not known
        if not top.typed and ranked[0].score < TYPED_RATIO * top.score:
            return [], False  # the sentences about exactly this do not hold what was asked
        best = ranked[0]
        qtype = question_type(question)
        if qtype == "number":
            dated = self._dated_figures(ranked, passages, max(self.threshold, DATED_RATIO * best.score))
            if dated:
                return dated, True
        picked = [best]
        for c in ranked[1:3]:
            if c.score >= SECOND_RATIO * best.score and c.text != best.text:
                picked.append(c)
                break
        return picked, False

    @staticmethod
    def _dated_figures(ranked: Sequence[Candidate], passages: Sequence[Document], floor: float) -> list[Candidate]:
        """When articles of different dates give different figures: each new figure once (best sentence
        first, at most 2 an article, 3 in all), newest article first. Empty when they agree."""
        chosen: list[Candidate] = []
        shown: set[str] = set()
        per_doc: dict[str, int] = {}
        for c in ranked:
            if c.score < floor or len(chosen) == 3:
                break
            doc = passages[c.passage].metadata.get("doc_id", "")
            if not c.numbers or c.numbers <= shown or per_doc.get(doc, 0) >= 2:
                continue
            chosen.append(c)
            shown |= c.numbers
            per_doc[doc] = per_doc.get(doc, 0) + 1
        dated_docs = {passages[c.passage].metadata.get("doc_id") for c in chosen if passages[c.passage].metadata.get("date")}
        if len(dated_docs) < 2:
            return []
        order = {id(c): i for i, c in enumerate(chosen)}
        return sorted(chosen, key=lambda c: (passages[c.passage].metadata.get("date") or "", -order[id(c)]), reverse=True)
