"""The answer-engine registry: an engine from its spec string (``ASSISTANT_LLM`` / ``--llm``).

    extractive        no model: the cited sentences' own words (``extractive.py``)
    local, local:PATH, openai:MODEL, ollama:MODEL
                      the LLM engine (``llm_engine.py``) around a LangChain chat model (``llm.py``)
    auto              ``local`` when the ``local-llm`` extra is installed, else ``extractive``

The only module that imports every engine; engines import the shared pieces (``question``,
``scoring``, ``compose``, ``verify``), never each other.
"""

from __future__ import annotations

from assistant.answering.types import AnswerEngine
from assistant.models.spec import parse_spec


def resolve_spec(spec: str | None) -> str:
    """``auto`` -> ``local`` when the local-llm extra is installed, else ``extractive``."""
    kind = parse_spec(spec, default="auto").text
    if kind == "auto":
        from assistant.models.local import is_installed

        return "local" if is_installed() else "extractive"
    return kind


def get_engine(spec: str, settings) -> AnswerEngine:
    """The engine for a spec string; an unknown one, or a missing extra, is a one-line ``EngineError``."""
    kind = resolve_spec(spec)
    if kind == "extractive":
        from assistant.answering.extractive import ExtractiveEngine

        return ExtractiveEngine(settings)
    from assistant.answering.llm_engine import LLMEngine
    from assistant.models.chat import get_chat_model, model_label

    model = get_chat_model(kind, settings)
    return LLMEngine(model, settings, name=parse_spec(kind).provider, model_name=model_label(model, kind))
