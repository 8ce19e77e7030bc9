"""``minilm-int8`` for real: exported once into a fresh cache folder (two threads racing for it), its
vectors next to the fp32 model's, the same ranking of a few passages, and queries without torch."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from assistant.models import onnx_int8
from assistant.models.embedders import get_embedder, packaged_model_path
from assistant.models.onnx_int8 import OnnxInt8Embedder

SENTENCES = [
    "Iraq has received 1,500 ISIS detainees from Syria since the start of the year.",
    "The Reserve Bank of Australia kept the cash rate at 4.35 per cent on Tuesday.",
    "Hi",
    "Bushfires forced thousands of residents to evacuate towns along the New South Wales coast.",
    "The Greens leader said the party would block the bill in the Senate unless it was amended. " * 12,  # > 256
]
QUERIES = ["How many ISIS detainees has Iraq received?", "What is the cash rate?", "Which towns were evacuated?"]


@pytest.fixture(scope="module")
def int8(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    embedder = OnnxInt8Embedder(packaged_model_path(), "all-MiniLM-L6-v2-int8", "minilm-int8", cache_dir=cache)
    exports = []
    real = onnx_int8._export_fp32

    def counted(*args):
        exports.append(args)
        real(*args)

    onnx_int8._export_fp32 = counted
    try:  # two first uses at once: the file lock lets one export, the other waits and reuses it
        threads = [threading.Thread(target=onnx_int8.export_int8, args=(embedder.model_path, embedder.onnx_path))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        onnx_int8._export_fp32 = real
    assert len(exports) == 1 and embedder.onnx_path.is_file()
    assert sorted(p.name for p in embedder.onnx_path.parent.iterdir()) == ["model_qint8.onnx", "model_qint8.onnx.lock"]
    return embedder


def test_int8_vectors_are_close_to_fp32(int8):
    fp32 = get_embedder("minilm")
    texts = SENTENCES + QUERIES
    batched, ref = int8.embed_array(texts), fp32.embed_array(texts)
    alone = np.array([int8.embed_query(t) for t in texts])
    assert batched.shape == (len(texts), 384) and batched.dtype == np.float32 and int8.dimension == 384
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert (batched * ref).sum(axis=1).min() >= 0.98  # measured: 0.985 ("Hi") to 0.996
    assert np.allclose(alone, batched, atol=1e-6)  # one vector a text, whatever it is embedded with
    padded = int8.encode(texts, 8)  # in one padded batch, activations quantized over all of them: close, not equal
    assert (padded * batched).sum(axis=1).min() >= 0.97  # measured: 0.976 ("Hi" beside a 256-token text)


def test_int8_ranks_passages_as_fp32_does(int8):
    fp32 = get_embedder("minilm")
    scores = {e.name: np.array([e.embed_query(q) for q in QUERIES]) @ np.array(e.embed_documents(SENTENCES)).T
              for e in (int8, fp32)}
    a, b = scores[int8.name], scores[fp32.name]
    assert list(a.argmax(axis=1)) == list(b.argmax(axis=1)) == [0, 1, 3]
    # every pair of passages fp32 tells apart by more than 0.03 comes in the same order (near-ties may swap)
    for q in range(len(QUERIES)):
        for i in range(len(SENTENCES)):
            for j in range(len(SENTENCES)):
                if b[q, i] > b[q, j] + 0.03:
                    assert a[q, i] > a[q, j], (QUERIES[q], i, j)


def test_queries_need_no_torch(int8):
    code = ("import sys; from assistant.models.embedders import get_embedder; "
            "v = get_embedder('minilm-int8').embed_query('How many detainees?'); "
            "assert len(v) == 384 and 'torch' not in sys.modules, sorted(sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ASSISTANT_CACHE_DIR": str(int8.onnx_path.parents[2])})
    assert proc.returncode == 0, proc.stderr[-2000:]
