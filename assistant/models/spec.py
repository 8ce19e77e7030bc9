"""The one parser of model spec strings, ``provider[:argument]``, for every setting that names a model:

    ASSISTANT_LLM       auto | extractive | local | local:/path.gguf | openai:MODEL | ollama:MODEL
    ASSISTANT_EMBEDDER  minilm | minilm-int8 | sentence-transformers:/path | hash | hash:DIM

The provider is compared case-insensitively; the argument (a path, a model name) is kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    provider: str  # lower case: "local", "openai", "minilm", "hash"
    arg: str  # what follows the first colon, stripped: "/models/x.gguf", "gpt-4o-mini", "512"; "" when none
    text: str  # the spec as given, stripped

    def __str__(self) -> str:
        return self.text


def parse_spec(spec: str | None, default: str = "") -> Spec:
    """``"openai:gpt-4o-mini"`` -> ``Spec("openai", "gpt-4o-mini", ...)``; empty -> ``default``."""
    text = (spec or "").strip() or default
    provider, _, arg = text.partition(":")
    return Spec(provider.strip().lower(), arg.strip(), text)
