"""Chat models resolved from one string (``ASSISTANT_LLM`` / ``--llm``), like ``provider:model``.

    local                  the packaged Qwen2.5-Coder-1.5B-Instruct GGUF (extra ``local-llm``)
    local:/path/model.gguf any GGUF file, run by llama-cpp-python
    openai:MODEL           any OpenAI-compatible server (OpenAI, vLLM, llama.cpp server, LM Studio);
                           base URL and key from OPENAI_BASE_URL / OPENAI_API_KEY (extra ``openai``)
    ollama:MODEL           a model served by Ollama (OLLAMA_HOST; extra ``ollama``)

``auto`` and ``extractive`` are answer engines without a chat model (see ``engines.get_engine``).
Every model returned is a LangChain ``BaseChatModel``; tests pass LangChain's fake chat models
straight to ``LLMEngine`` and never reach this resolver's network providers.
"""

from __future__ import annotations

import importlib.util

from assistant.errors import EngineError
from assistant.models.spec import parse_spec

EXTRAS = {"openai": ("langchain_openai", "openai", "langchain-openai"),
          "ollama": ("langchain_ollama", "ollama", "langchain-ollama")}


def _require(provider: str, spec: str) -> None:
    module, extra, package = EXTRAS[provider]
    if importlib.util.find_spec(module) is None:
        raise EngineError(f"ASSISTANT_LLM={spec}: the {provider} provider needs the '{extra}' extra: "
                          f"pip install 'news-assistant[{extra}]' (or pip install {package})")


def get_chat_model(spec: str, settings):
    """The LangChain chat model for ``spec``; a one-line ``EngineError`` says what is missing."""
    provider, arg = (parsed := parse_spec(spec)).provider, parsed.arg
    if provider == "local":
        from assistant.models.local import (
            INSTALL_HINT,
            MODEL_NAME,
            LlamaCppChatModel,
            LocalModelError,
            check_gguf,
            llama_cpp_installed,
            packaged_model_path,
        )

        if not llama_cpp_installed():
            raise EngineError(f"ASSISTANT_LLM={spec}: llama-cpp-python is not installed: {INSTALL_HINT}")
        try:
            path = check_gguf(arg) if arg else packaged_model_path(settings.models_path)
        except LocalModelError as exc:
            raise EngineError(str(exc)) from None
        name = MODEL_NAME if not arg else path.name.removesuffix(".gguf")
        return LlamaCppChatModel(model_path=str(path), model_name=name, n_ctx=settings.n_ctx,
                                 n_threads=settings.n_threads, n_threads_batch=settings.n_threads_batch,
                                 flash_attn=settings.flash_attn, max_tokens=settings.max_answer_tokens,
                                 temperature=settings.temperature)
    if provider in EXTRAS and not arg:
        raise EngineError(f"ASSISTANT_LLM={spec}: name the model, e.g. {provider}:"
                          f"{'gpt-4o-mini' if provider == 'openai' else 'llama3.2'}")
    if provider == "openai":
        _require("openai", spec)
        import os

        from langchain_openai import ChatOpenAI

        base_url = os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or None
        key = os.environ.get("OPENAI_API_KEY")
        if not key and not base_url:
            raise EngineError(f"ASSISTANT_LLM={spec}: set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server)")
        return ChatOpenAI(model=arg, base_url=base_url, api_key=key or "not-needed", temperature=settings.temperature,
                          max_tokens=settings.max_answer_tokens, max_retries=1, timeout=120)
    if provider == "ollama":
        _require("ollama", spec)
        from langchain_ollama import ChatOllama

        return ChatOllama(model=arg, temperature=settings.temperature, num_predict=settings.max_answer_tokens)
    raise EngineError(f"ASSISTANT_LLM: unknown answer engine {spec!r} (available: auto, extractive, local, "
                      "local:/path/model.gguf, openai:MODEL, ollama:MODEL)")


def model_label(model, spec: str) -> str:
    """What answered, for the JSON's ``model`` field: ``qwen2.5-…`` or ``openai:gpt-4o-mini``."""
    provider, arg = (parsed := parse_spec(spec)).provider, parsed.arg
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    if provider == "local":
        return str(name or arg)
    if provider in EXTRAS:
        return f"{provider}:{arg}"
    return str(name or type(model).__name__)
