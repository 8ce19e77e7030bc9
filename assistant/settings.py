"""All configuration in one object.

Every field can be set by an environment variable ``ASSISTANT_<FIELD>`` (upper case);
CLI flags override the environment (see ``Settings.with_overrides``).
This module must stay cheap to import: ``assistant --help`` loads it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import SettingsError

ENV_PREFIX = "ASSISTANT_"
RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
# ingest batches (assistant/ingest/indexer.py): a batch grows while one commits faster than
# INGEST_BATCH_SECONDS, up to INGEST_BATCH_GROWTH times ASSISTANT_INGEST_BATCH chunks
INGEST_BATCH_SECONDS = 5.0
INGEST_BATCH_GROWTH = 4


def setting(default: Any = MISSING, help: str = "", *, factory: Any = MISSING, secret: bool = False) -> Any:
    """One settings field: its default (or default factory), the help line `assistant settings` and
    the README show, and whether its value is masked."""
    metadata = {"help": help, **({"secret": True} if secret else {})}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "news-assistant")


@dataclass(frozen=True)
class Settings:
    # where things live
    seeds_dir: Path = setting(Path("seeds"), "default corpus folder for ingest")
    index_dir: Path = setting(Path("index"), "on-disk store: Chroma, BM25, manifest, cleaned texts")
    cache_dir: Path = setting(help="tokenizer files and other caches", factory=lambda: Path(_default_cache_dir()))
    chroma_url: str = setting("", "use a Chroma server (http://host:port) instead of the embedded store: it then holds "
                                  "everything the index needs, and several app servers can share it")
    corpus: str = setting("news", "the corpus's name: its Chroma collections are <corpus>_chunks, _articles, _catalog "
                                  "(several corpora can share one Chroma server)")
    # embedding + chunking (their values are part of the index fingerprint)
    embedder: str = setting("minilm", "'minilm' (packaged all-MiniLM-L6-v2), 'minilm-int8' (the same, int8 ONNX on "
                                      "onnxruntime, exported once into the cache folder), "
                                      "'sentence-transformers:/path', or 'hash' (tests)")
    chunk_tokens: int = setting(160, "target chunk size in tiktoken (cl100k) tokens")
    chunk_overlap: int = setting(40, "overlap between neighbouring chunks, in tiktoken tokens (whole sentences)")
    ingest_batch: int = setting(512, "ingest commits articles in batches of at least this many chunks, grown "
                                     f"up to {INGEST_BATCH_GROWTH}x while a batch commits in under "
                                     f"{INGEST_BATCH_SECONDS:g} s (a kill loses at most the batch in flight; "
                                     "memory holds one batch)")
    # retrieval
    k: int = setting(4, "passages returned by retrieval")
    mode: str = setting("hybrid", "retrieval mode: hybrid, dense or bm25")
    rrf_k: int = setting(60, "reciprocal-rank-fusion constant")
    rerank_depth: int = setting(20, "hybrid mode: the fused candidates re-scored by their best sentence's similarity "
                                    "to the query (0: no re-scoring)")
    rerank_keyword_weight: float = setting(0.15, "hybrid re-scoring: weight of the candidate's BM25 score (scaled to "
                                                 "0..1 among the candidates) added to its best sentence's cosine")
    dedup_threshold: float = setting(0.8, "word-shingle Jaccard above which two passages count as near-duplicates")
    llm: str = setting("auto", "answer engine: auto (local if installed, else extractive), extractive, local, "
                               "local:/path/model.gguf, openai:MODEL, ollama:MODEL")
    abstain_threshold: float = setting(0.2, 'extractive engine: best sentence score below which it answers "The '
                                            'articles don\'t say."')
    dated_ratio: float = setting(0.7, "answer engines (rule dated-figures): another article's figure is listed with "
                                      "its date when its sentence scores at least this share of the best sentence's "
                                      "score")
    disabled_rules: str = setting("", "answer-engine rules to switch off, comma-separated (ablations; "
                                      "`assistant/rules.py` lists them)")
    max_per_doc: int = setting(2, "passages one article may take while other articles have candidates (0: no cap)")
    prompts_dir: str = setting("", "folder of prompt templates to use instead of the packaged prompts/")
    # LLM answers
    models_dir: str = setting("", "where the packaged local model is assembled (default: <cache_dir>/models)")
    n_ctx: int = setting(2048, "local model: context window in tokens")
    n_threads: int = setting(2, "local model: threads for generation (bench/llm_threads.py: 2 of 2 cores fastest)")
    n_threads_batch: int = setting(2, "local model: threads for reading the prompt")
    flash_attn: bool = setting(False, "local model: llama.cpp's flash attention (reads the prompt 7-15% faster on CPU; "
                                      "off by default: 3 and 8 points fewer in the two runs measured, README)")
    max_answer_tokens: int = setting(200, "LLM engines: longest answer, in tokens")
    temperature: float = setting(0.0, "LLM engines: sampling temperature (0: deterministic)")
    condense: bool = setting(False, "LLM engines: have the model rewrite a follow-up as a standalone question before "
                                    "answering (off: retrieval uses the earlier question without a model and the "
                                    "answer prompt lists the earlier questions; measured as good, and no wait)")
    compress: bool = setting(True, "LLM engines: give the model the passages' most relevant sentences instead of whole"
                                   " chunks")
    grammar: bool = setting(True, "local models: constrain the output to sentences that end in valid [n] citations, or"
                                  " the refusal (llama.cpp grammar)")
    quote_fallback: bool = setting(True, "LLM engines: when the model declines or its answer is withheld while the "
                                         "sentence scorer found sentences of the asked kind, answer by quoting them "
                                         "instead")
    context_tokens: int = setting(250, "LLM engines: tiktoken budget for the numbered sources in the prompt")
    context_floor: float = setting(0.4, "LLM engines, compressed sources: a sentence goes into the prompt only when "
                                        "it scores at least this share of the best sentence's score")
    support_threshold: float = setting(0.5, "LLM engines: embedding similarity below which a cited sentence is listed "
                                            "as unsupported")
    judge_threshold: float = setting(0.7, "LLM engines that expose token probabilities (the local model), rule "
                                          "withhold-judged: asked after answering whether the sources state the "
                                          "answer, a model whose log P(Yes) - log P(No) is below this withholds it")
    max_upload_mb: float = setting(10.0, "largest file accepted by ingest and by the UI's upload, in MiB")
    fetch_timeout: float = setting(20.0, "seconds to wait for a web page, a feed or a robots.txt (ingest URL, "
                                         "ingest --feed, the UI's URL box)")
    max_records_per_file: int = setting(1_000_000, "most JSON/JSONL records read from one file (the rest are refused "
                                                   "with one line)")
    max_question_chars: int = setting(4000, "longest question or search query accepted, in characters (longer ones "
                                            "are refused with one line before any work)")
    max_history_turns: int = setting(20, "most earlier questions a follow-up may carry")
    # the chat UI (`assistant serve`)
    ui_host: str = setting("127.0.0.1", "UI: address to listen on (loopback; 0.0.0.0 exposes it, then set "
                                        "ASSISTANT_UI_AUTH)")
    ui_port: int = setting(7860, "UI: port to listen on")
    ui_auth: str = setting("", "UI: require a login, 'user:password' (several: comma-separated); empty: no login",
                           secret=True)
    ui_login_delay: float = setting(0.5, "UI: seconds a login attempt waits after a failed one, doubling with every "
                                         "further failure (at most 30 s; failures are forgotten after 15 minutes)")
    ui_refusal_delay: float = setting(0.5, "API: seconds a refused /ask request (a wrong or oversized argument) waits "
                                           "after the same client's last refusal, doubling with each (at most 10 s; "
                                           "forgotten after a minute or an accepted request)")
    ui_concurrency: int = setting(4, "UI: requests worked on at once (Gradio queue); the local model still generates "
                                     "one answer at a time")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in env and env[name] != "":
                values[f.name] = _coerce(f, env[name], name)
        settings = cls(**values)
        return settings.with_overrides(**overrides)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a copy with the non-None overrides applied (CLI flags)."""
        clean = {}
        names = {f.name: f for f in dataclasses.fields(self)}
        for key, value in overrides.items():
            if value is None:
                continue
            if key not in names:
                raise SettingsError(f"unknown setting: {key}")
            clean[key] = _coerce(names[key], value, f"--{key.replace('_', '-')}") if isinstance(value, str) else value
        new = dataclasses.replace(self, **clean)
        new.validate()
        return new

    def validate(self) -> None:
        if self.mode not in RETRIEVAL_MODES:
            raise SettingsError(f"{ENV_PREFIX}MODE: unknown retrieval mode {self.mode!r} "
                                f"(choose from {', '.join(RETRIEVAL_MODES)})")
        if self.k < 1:
            raise SettingsError(f"{ENV_PREFIX}K: must be at least 1, got {self.k}")
        if self.chunk_tokens < 20:
            raise SettingsError(f"{ENV_PREFIX}CHUNK_TOKENS: must be at least 20, got {self.chunk_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise SettingsError(f"{ENV_PREFIX}CHUNK_OVERLAP: must be between 0 and CHUNK_TOKENS-1, "
                                f"got {self.chunk_overlap}")
        if self.n_ctx < 512:
            raise SettingsError(f"{ENV_PREFIX}N_CTX: must be at least 512, got {self.n_ctx}")
        if self.n_threads < 1 or self.n_threads_batch < 1:
            raise SettingsError(f"{ENV_PREFIX}N_THREADS / N_THREADS_BATCH: must be at least 1")
        if not 16 <= self.max_answer_tokens <= self.n_ctx // 2:
            raise SettingsError(f"{ENV_PREFIX}MAX_ANSWER_TOKENS: must be between 16 and N_CTX/2, "
                                f"got {self.max_answer_tokens}")
        if self.context_tokens < 50:
            raise SettingsError(f"{ENV_PREFIX}CONTEXT_TOKENS: must be at least 50, got {self.context_tokens}")
        if not 0 <= self.context_floor <= 1:
            raise SettingsError(f"{ENV_PREFIX}CONTEXT_FLOOR: must be in [0, 1], got {self.context_floor}")
        if not 0 <= self.support_threshold <= 1:
            raise SettingsError(f"{ENV_PREFIX}SUPPORT_THRESHOLD: must be in [0, 1], got {self.support_threshold}")
        if self.rerank_depth < 0 or self.rerank_keyword_weight < 0:
            raise SettingsError(f"{ENV_PREFIX}RERANK_DEPTH / RERANK_KEYWORD_WEIGHT: must not be negative")
        if not 0 < self.dedup_threshold <= 1:
            raise SettingsError(f"{ENV_PREFIX}DEDUP_THRESHOLD: must be in (0, 1], got {self.dedup_threshold}")
        if self.fetch_timeout <= 0:
            raise SettingsError(f"{ENV_PREFIX}FETCH_TIMEOUT: must be more than 0, got {self.fetch_timeout}")
        for name in ("max_records_per_file", "max_question_chars", "max_history_turns"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{ENV_PREFIX}{name.upper()}: must be at least 1, got {getattr(self, name)}")
        if self.ingest_batch < 1:
            raise SettingsError(f"{ENV_PREFIX}INGEST_BATCH: must be at least 1, got {self.ingest_batch}")
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,40}[A-Za-z0-9]", self.corpus):
            raise SettingsError(f"{ENV_PREFIX}CORPUS: 3 to 42 letters, digits, '.', '_' or '-', starting and ending "
                                f"with a letter or digit, got {self.corpus!r}")
        if self.max_upload_mb <= 0:
            raise SettingsError(f"{ENV_PREFIX}MAX_UPLOAD_MB: must be more than 0, got {self.max_upload_mb}")
        if not 1 <= self.ui_port <= 65535:
            raise SettingsError(f"{ENV_PREFIX}UI_PORT: must be between 1 and 65535, got {self.ui_port}")
        if self.ui_concurrency < 1:
            raise SettingsError(f"{ENV_PREFIX}UI_CONCURRENCY: must be at least 1, got {self.ui_concurrency}")
        for name in ("ui_login_delay", "ui_refusal_delay"):
            if not getattr(self, name) >= 0:  # a negative wait would make time.sleep raise mid-request
                raise SettingsError(f"{ENV_PREFIX}{name.upper()}: must not be negative, got {getattr(self, name)}")
        self.ui_logins()  # validates ui_auth
        from assistant.errors import RuleError
        from assistant.rules import Rules

        try:
            Rules(self.disabled_rules)
        except RuleError as exc:
            raise SettingsError(str(exc)) from None

    def ui_logins(self) -> list[tuple[str, str]]:
        """``ui_auth`` as (user, password) pairs for Gradio's ``auth``; empty: no login."""
        logins = []
        for item in (part.strip() for part in self.ui_auth.split(",")):
            if not item:
                continue
            user, sep, password = item.partition(":")
            if not sep or not user.strip() or not password:
                raise SettingsError(f"{ENV_PREFIX}UI_AUTH: expected 'user:password' (comma-separated for several), "
                                    f"got an entry without {'a password' if sep and user.strip() else 'a user name'}")
            logins.append((user.strip(), password))
        return logins

    @property
    def models_path(self) -> Path:
        return Path(self.models_dir).expanduser() if self.models_dir else self.cache_dir / "models"

    @classmethod
    def describe(cls) -> list[tuple[str, str, str]]:
        """(env var, default, help) rows for the README's settings table and `--help`."""
        rows = []
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            rows.append((ENV_PREFIX + f.name.upper(), str(default), f.metadata.get("help", "")))
        return rows

    def shown(self, name: str) -> str:
        """A setting's value for display (secrets masked)."""
        value = getattr(self, name)
        secret = next(f for f in dataclasses.fields(self) if f.name == name).metadata.get("secret")
        return "(set)" if secret and value else str(value)


def _coerce(f: dataclasses.Field, raw: str, name: str) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            word = raw.strip().lower()
            if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return word in ("1", "true", "yes", "on")
        if kind == "Path":
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise SettingsError(f"{name}: expected {kind}, got {raw!r}") from None
