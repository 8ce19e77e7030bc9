"""``minilm-int8``: the packaged all-MiniLM-L6-v2 as a dynamically quantized int8 ONNX graph on onnxruntime.

The graph is exported once, on first use, into ``<cache>/onnx/all-MiniLM-L6-v2/model_qint8.onnx``, where
``<cache>`` is ``ASSISTANT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/news-assistant``, as in the settings):
``torch.onnx.export`` of the fp32 encoder, then ``onnxruntime.quantization.quantize_dynamic`` (int8
MatMul weights, per output channel), written to a temporary file and moved into place under a file lock, so
concurrent first uses export it once. Queries then need onnxruntime and ``tokenizers``, not torch.
(Not sentence-transformers' ``backend="onnx"``: it needs optimum, whose install would take transformers
back to 4.x.)

Same output contract as ``SentenceTransformerEmbedder``: the model's tokenizer.json (truncated at its
max_seq_length, padded per batch), mean pooling over the attention mask, unit float32 vectors. Its
name differs (``all-MiniLM-L6-v2-int8``), so an index built with one is never queried with the other.
Activations are quantized per run of the graph (min and max over the whole input), so texts run one at
a time: a text has one vector, whatever it is embedded with.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import EmbedderError
from assistant.text.tokens import WordPieceCounter, model_max_length

ONNX_FILE = "model_qint8.onnx"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# int8 weights with one scale per output channel, for the MatMuls only (the embedding tables stay fp32).
# Tried (README, "Scale"): per-tensor scales, cosine to fp32 0.87-0.97; per channel with the embeddings
# quantized too, au-news hit@5 0.976; the FFN output MatMuls kept fp32, closer vectors but a third slower
# (another recipe gives other vectors: it then needs another embedder name and file)
QUANTIZE = {"per_channel": True, "op_types_to_quantize": ["MatMul"]}
# texts per run of the graph: one, so nothing is padded and a text's vector does not depend on the texts run
# beside it (activations are quantized per run). bench/int8_embedder.py, alternated: ingest 2.10-2.34x fp32
# with 1, 2, 4 or 8 alike; chunk texts 3.4-3.6x with 1 or 2, 3.2x with 4, 2.9-3.0x with 8 (16 and 32 slower)
BATCH_SIZE = 1
# runs side by side, one core each (onnxruntime releases the GIL): on 2 cores 1.3-1.6x the sentences/s of
# one run at a time on two threads, whose hand-offs at every operator cost more than such small runs gain
WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def onnx_cache_dir() -> Path:
    """The settings' cache folder as the environment gives it (``get_embedder`` sees only the spec string)."""
    from assistant.settings import Settings

    return Path(Settings.from_env().cache_dir).expanduser()


def _export_fp32(model_path: Path, out: Path) -> None:
    """The encoder's last hidden state as an fp32 ONNX graph (batch and sequence dynamic). The
    TorchScript exporter (``dynamo=False``): the dynamo one needs onnxscript, which we do not install."""
    for key, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
        os.environ.setdefault(key, value)
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):  # keyword arguments: BertModel's positional order is not stable
        def __init__(self):
            super().__init__()
            self.bert = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {n: {0: "batch", 1: "sequence"} for n in (*INPUTS, "last_hidden_state")}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on the mask code, checked by the tests instead
        torch.onnx.export(Encoder(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(out),
                          input_names=list(INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


def export_int8(model_path: Path, target: Path) -> Path:
    """``target``, exported from ``model_path`` and quantized unless it exists (once, under a file lock)."""
    if target.is_file():
        return target
    from filelock import FileLock

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target) + ".lock"):
            if target.is_file():
                return target  # another process exported it while we waited
            from onnxruntime.quantization import QuantType, quantize_dynamic

            with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
                fp32, int8 = Path(tmp) / "model_fp32.onnx", Path(tmp) / ONNX_FILE
                _export_fp32(model_path, fp32)
                logging.disable(logging.WARNING)  # its advice to pre-process (shape inference fails on this graph)
                try:
                    quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, **QUANTIZE)
                finally:
                    logging.disable(logging.NOTSET)
                os.replace(int8, target)
    except Exception as exc:  # one line for the user, whatever the exporter or quantizer raised
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        hint = f"pip install {exc.name}" if isinstance(exc, ModuleNotFoundError) else "or use ASSISTANT_EMBEDDER=minilm"
        raise EmbedderError(f"ASSISTANT_EMBEDDER=minilm-int8: exporting {model_path.name} to {target} failed: "
                            f"{type(exc).__name__}: {detail} ({hint})") from exc
    return target


class OnnxInt8Embedder(Embeddings):
    def __init__(self, model_path: Path, name: str, spec: str, cache_dir: Path | None = None):
        self.model_path = model_path
        self.name = name
        self.spec = spec
        self.max_length = model_max_length(model_path)
        self.dimension = int(json.loads((model_path / "config.json").read_text())["hidden_size"])
        self.counter = WordPieceCounter(model_path / "tokenizer.json", self.max_length)
        self.onnx_path = Path(cache_dir or onnx_cache_dir()) / "onnx" / name.removesuffix("-int8") / ONNX_FILE
        self._session = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="minilm-int8")

    def _load(self):
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                path = export_int8(self.model_path, self.onnx_path)
                tok = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
                tok.enable_truncation(self.max_length)  # the file says 128, fixed padding: not what ST does
                tok.enable_padding(pad_id=tok.token_to_id("[PAD]") or 0, pad_token="[PAD]")
                options = ort.SessionOptions()
                options.log_severity_level = 3
                options.intra_op_num_threads = options.inter_op_num_threads = 1  # parallel by batch instead
                self._tokenizer = tok
                self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            return self._session, self._tokenizer

    def _batch(self, texts: list[str]) -> np.ndarray:
        session, tok = self._load()
        encodings = tok.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit float32 vectors, in batches of texts of similar length (longest first, as
        sentence-transformers orders them) run in parallel, returned in the given order."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        groups = [order[start:start + batch_size] for start in range(0, len(texts), batch_size)]
        vectors = (self._pool.map(lambda rows: self._batch([texts[i] for i in rows]), groups) if len(groups) > 1
                   else [self._batch([texts[i] for i in rows]) for rows in groups])
        for rows, batch in zip(groups, vectors, strict=True):
            out[rows] = batch
        return out

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts), BATCH_SIZE).tolist() if texts else []

    def embed_array(self, texts: list[str]) -> np.ndarray:
        return self.encode(list(texts), BATCH_SIZE)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
