"""No topic words in the package: the names the corpora use appear in no string the code works with.

Rules that hold only for one story (capitals read as countries, "detainees" = "prisoners") do not
carry over to the next corpus. This walks every module's syntax tree and collects its string
literals, docstrings and comments aside, and fails if any holds a name from the seed articles or the
development corpus (a capitalised word that is not an ordinary English word at a sentence start).
"""

from __future__ import annotations

import ast
import re

from support import AU_NEWS, ROOT, seed_files

PACKAGE = ROOT / "assistant"


def corpus_names() -> set[str]:
    texts = [p.read_text(encoding="utf-8") for p in seed_files()] + [p.read_text(encoding="utf-8")
                                                                    for p in sorted(AU_NEWS.glob("*.txt"))]
    lower = {w.lower() for t in texts for w in re.findall(r"\b[a-z][a-z'-]+\b", t)}
    names = set()
    for t in texts:
        for m in re.finditer(r"(?<![.!?]\s)(?<!^)\b[A-Z][A-Za-z-]{3,}\b", t, re.M):
            if m.group(0).lower() not in lower:  # "Iraq", "MENAFN", "Mugabe"; not "Officials", "Last"
                names.add(m.group(0))
    return names


def code_strings(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_the_corpora_have_names_to_look_for():
    names = corpus_names()
    assert {"Iraq", "Syria", "MENAFN", "Mugabe", "Tampa"} <= names and len(names) > 200


# English words that the corpora happen to capitalise only in names ("Associated Press", "Central
# Command", "United States"); the package may use them in lower case. Months come from `calendar`.
ORDINARY = {"press", "command", "service", "states", "sept", "january", "february", "march", "april", "june", "july",
            "august", "september", "october", "november", "december"}


def test_no_corpus_name_in_any_string_of_the_package():
    names = corpus_names()
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for s in code_strings(path):
            hits = {w for w in re.findall(r"[A-Za-z][A-Za-z-]+", s)
                    if w in names or (w.islower() and w.capitalize() in names and w not in ORDINARY)}
            if hits:
                found.setdefault(path.relative_to(ROOT).as_posix(), set()).update(hits)
    assert found == {}
