"""Other words news writing uses for the same thing.

* capitals for their countries ("Washington said" = the US government), lower-case, no dots;
* one spelling per name ("U.S."/"United States" -> "US", "Islamic State"/"ISIL" -> "ISIS");
* classes of interchangeable words (detainees/prisoners/inmates, deal/agreement, ...).

Used to match question words against article words (extractive engine) and to widen the
keyword side of a retrieval query.
"""

from __future__ import annotations

import re

ALIASES: dict[str, set[str]] = {
    "washington": {"us", "united states", "america", "american"}, "moscow": {"russia", "russian", "kremlin"},
    "kremlin": {"russia", "russian", "moscow"},
    "tehran": {"iran", "iranian"}, "baghdad": {"iraq", "iraqi"}, "damascus": {"syria", "syrian"},
    "beijing": {"china", "chinese"}, "london": {"uk", "britain", "british"}, "paris": {"france", "french"},
    "berlin": {"germany", "german"}, "ankara": {"turkey", "turkish"}, "erbil": {"kurdistan", "kurdish"},
    "america": {"us", "united states"}, "american": {"us", "united states"}, "us": {"america", "american"},
}


def aliases(word: str) -> set[str]:
    return ALIASES.get(word.lower().replace(".", ""), set())


def same_word(a: str, b: str) -> bool:
    """Word forms of one name, lower-cased: 'iraq'/'iraqi', 'russia'/'russian' (a shared prefix of at
    least 5 letters, or of 4 with at most 3 letters more)."""
    n = min(len(a), len(b))
    return n >= 4 and a[:n] == b[:n] and (n >= 5 or max(len(a), len(b)) - n <= 3)


def expand(text: str) -> str:
    """The text plus the country names of the capitals it mentions (for keyword search)."""
    extra = []
    normalized = normalize_names(text)
    if normalized != text:
        extra.extend(w for w in re.findall(r"\b[A-Z]{2,}\b", normalized) if w not in text)
    for w in re.findall(r"[A-Za-z][\w.]*", text):
        if w[0].isupper() and w.lower() not in ("us", "america", "american"):
            extra.extend(sorted(aliases(w)))
    return text if not extra else f"{text} ({' '.join(dict.fromkeys(extra))})"


# Words news reports use interchangeably. The extractive engine counts a question word as present
# when a sentence has one of its class (stemmed), so "How many inmates..." finds "450 detainees".
SYNONYM_CLASSES = [
    "prisoner detainee inmate convict captive internee",
    "prison jail lockup detention",
    "country nation state",
    "deport expel remove",
    "repatriate return",
    "ambassador envoy diplomat",
    "agreement deal accord pact protocol treaty",
    "transfer move relocate shift",
    "minister secretary",
    "militant fighter member",
    "say state announce declare tell",
    "meet met",
]


def _build_synonyms() -> dict[str, str]:
    from assistant.keyword_index import tokenize

    table: dict[str, str] = {}
    for line in SYNONYM_CLASSES:
        stems = [s for w in line.split() for s in tokenize(w)]
        for s in stems:
            table.setdefault(s, stems[0])
    return table


_SYNONYMS: dict[str, str] | None = None


def canonical(stem: str) -> str:
    """The class representative of a stemmed word ('inmat' -> 'prison'), else the stem itself."""
    global _SYNONYMS
    if _SYNONYMS is None:
        _SYNONYMS = _build_synonyms()
    return _SYNONYMS.get(stem, stem)


_NAME_FORMS = [
    (re.compile(r"\bUnited States\b|\bU\.S\.(?=\s|$)|\bU\.S\b"), "US"),
    (re.compile(r"\b(?:the )?Islamic State\b|\bISIL\b|\bDaesh\b", re.I), "ISIS"),
]


def normalize_names(text: str) -> str:
    """One spelling per name: 'United States' / 'U.S.' -> 'US', 'Islamic State' / 'ISIL' / 'Daesh' -> 'ISIS'."""
    for pattern, name in _NAME_FORMS:
        text = pattern.sub(name, text)
    return text
