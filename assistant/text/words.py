"""Words as every stage counts them: lower-cased, stemmed (PyStemmer's English Snowball), stop words
removed, numbers kept by value. BM25 indexes these tokens; the question analysis, the sentence scorer
and the citation check compare them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
nor not now of off on once only or other our ours ourselves out over own same she should so some such than
that the their theirs them themselves then there these they this those through to too under until up very
was we were what when where which while who whom why will with would you your yours yourself yourselves
said says say according
""".split())

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words; numbers keep their value
    ("5,500" -> "5500"); scripts written without spaces give one token per character."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0].isdigit():
            out.append(tok.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", tok) else tok)
        elif _CJK.search(tok):
            out.extend(ch for ch in tok)
        elif tok not in STOPWORDS and len(tok) > 1:
            out.append(tok)
    words = [t for t in out if not t[0].isdigit() and not _CJK.match(t)]
    stems = dict(zip(words, _stemmer().stemWords(words), strict=False)) if words else {}
    return [stems.get(t, t) for t in out]
