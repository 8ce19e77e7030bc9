"""The tree shows the pipeline, and dependencies point one way.

Every module's syntax tree is walked, imports inside functions included (the lazy ones that keep
`assistant --help` fast count like any other): no module imports a layer above its own, no part
imports a sibling part of its layer, and the module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "assistant"

# lower number = lower layer; a module may import its own part and any part of a lower layer
LAYERS = {
    "errors": 0,
    "rules": 1,  # the named, switchable hand rules (settings validates ASSISTANT_DISABLED_RULES against them)
    "settings": 2,
    "text": 3,  # words, sentences, tokens, figures: what every stage reads text with
    "models": 4,  # embedders and chat models
    "index": 5,  # the on-disk index
    "ingest": 6, "retrieval": 6,  # write the index / read it; neither imports the other
    "answering": 7,
    "pipeline": 8,
    "apps": 9, "__init__": 9,  # the front doors (and the package's lazy facade)
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The deepest known module that ``name`` (a dotted import path) names or lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, known: dict[str, Path], name: str = "") -> set[str]:
    """Every assistant module the file (module ``name``) imports, at any depth of its syntax tree."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names]  # a submodule, or a name in the module
        else:
            continue
        for n in names:
            if n == "assistant" or n.startswith("assistant."):
                target = resolve(n, known)
                if target and target != name:
                    out.add(target)
    return out


def part(module: str) -> str:
    """The layer part a module belongs to: ``assistant.answering.verify`` -> ``answering``."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, known, m) for m, p in known.items()}


def test_every_part_has_a_layer_and_a_one_line_docstring():
    for module, path in modules().items():
        assert part(module) in LAYERS, f"{module}: no layer assigned in tests/unit/test_layout.py"
        if path.name == "__init__.py" and module != "assistant":
            doc = (ast.get_docstring(ast.parse(path.read_text())) or "").strip()
            assert doc and "\n" not in doc and ("Imports:" in doc or "may import" in doc), \
                f"{module}: needs a one-line docstring saying what it owns and what it may import"


def test_no_upward_or_sideways_import():
    wrong = []
    for module, targets in graph().items():
        for target in targets:
            a, b = part(module), part(target)
            if a != b and LAYERS[b] >= LAYERS[a] and b != "__init__":
                wrong.append(f"{module} -> {target}")
            if b == "__init__" and a != "__init__":
                wrong.append(f"{module} -> {target} (the package facade)")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_import_cycle():
    g = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for t in sorted(g.get(m, ())):
            if state.get(t) == 1:
                return path[path.index(t):] + [t]
            if t not in state and (cycle := visit(t)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(g):
        if m not in state and (cycle := visit(m)):
            raise AssertionError("import cycle: " + " -> ".join(cycle))


def test_the_checks_catch_what_they_claim(tmp_path):
    """The walker sees imports inside functions, and the layering rejects an upward one."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from assistant.apps.cli import main\n    import assistant.text.words\n")
    known = modules()
    assert imports(src, known) == {"assistant.apps.cli", "assistant.text.words"}
    assert LAYERS[part("assistant.apps.cli")] > LAYERS[part("assistant.text.words")]
