"""The ``minilm-int8`` embedder without its model: the spec, its name and cache path, the export's
error and lock path, and tokenizing, pooling and normalising around a fake onnxruntime session
(tests/integration/test_onnx_int8.py exports and runs the real graph)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import EmbedderError
from assistant.ingest.indexer import fingerprint
from assistant.models import onnx_int8
from assistant.models.embedders import get_embedder, packaged_model_path
from assistant.models.onnx_int8 import OnnxInt8Embedder, export_int8, onnx_cache_dir


def test_the_spec_names_an_int8_embedder_of_its_own():
    int8 = get_embedder("minilm-int8")
    assert isinstance(int8, OnnxInt8Embedder) and get_embedder(" MiniLM-INT8 ").name == int8.name
    assert (int8.name, int8.spec, int8.dimension, int8.counter.limit) == ("all-MiniLM-L6-v2-int8", "minilm-int8",
                                                                         384, 254)
    assert int8._session is None  # nothing loaded (nor exported) until the first text
    fp32_name = "all-MiniLM-L6-v2"  # get_embedder("minilm").name, without loading torch
    assert fingerprint(int8.name, 160, 40, 254) != fingerprint(fp32_name, 160, 40, 254)


@pytest.mark.parametrize("spec", ["minilm-int8:/somewhere", "minilm-int4", "onnx"])
def test_a_bad_spec_is_one_clear_line(spec):
    with pytest.raises(EmbedderError, match=r"unknown embedder .*'minilm-int8'") as info:
        get_embedder(spec)
    assert "\n" not in str(info.value)


def test_the_export_goes_to_the_settings_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(tmp_path / "c"))
    assert onnx_cache_dir() == tmp_path / "c"
    e = OnnxInt8Embedder(packaged_model_path(), "all-MiniLM-L6-v2-int8", "minilm-int8")
    assert e.onnx_path == tmp_path / "c" / "onnx" / "all-MiniLM-L6-v2" / "model_qint8.onnx"
    monkeypatch.delenv("ASSISTANT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert onnx_cache_dir() == tmp_path / "xdg" / "news-assistant"


def test_a_failed_export_is_an_embedder_error_and_leaves_nothing(monkeypatch, tmp_path):
    def fail(model_path, out):
        out.write_bytes(b"half a graph")
        raise RuntimeError("exporter exploded\nwith a long traceback-ish tail")

    monkeypatch.setattr(onnx_int8, "_export_fp32", fail)
    target = tmp_path / "onnx" / "m" / "model_qint8.onnx"
    with pytest.raises(EmbedderError, match="minilm-int8: exporting .* failed: RuntimeError: exporter explo") as info:
        export_int8(packaged_model_path(), target)
    assert "\n" not in str(info.value)
    assert not target.exists() and [p.name for p in target.parent.iterdir()] == ["model_qint8.onnx.lock"]


def test_an_exported_graph_is_reused(monkeypatch, tmp_path):
    monkeypatch.setattr(onnx_int8, "_export_fp32", lambda *a: pytest.fail("exported again"))
    target = tmp_path / "model_qint8.onnx"
    target.write_bytes(b"graph")
    assert export_int8(packaged_model_path(), target) == target


class FakeSession:
    """Hidden states that depend on each token alone (as padding must leave them), records the shapes."""

    def __init__(self):
        self.shapes = []

    def run(self, outputs, feeds):
        ids, mask = feeds["input_ids"], feeds["attention_mask"]
        assert ids.shape == mask.shape == feeds["token_type_ids"].shape and not feeds["token_type_ids"].any()
        self.shapes.append(ids.shape)
        dims = np.arange(384)
        hidden = np.cos(ids[:, :, None] * 0.37 + dims) + np.where(ids[:, :, None] == 0, 50.0, 0.0)  # pads: far off
        return [hidden.astype(np.float32)]


def fake_embedder(tmp_path):
    e = OnnxInt8Embedder(packaged_model_path(), "all-MiniLM-L6-v2-int8", "minilm-int8", cache_dir=tmp_path)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(e.model_path / "tokenizer.json"))
    tok.enable_truncation(e.max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    session = FakeSession()
    e._load = lambda: (session, tok)  # the real tokenizer, a fake graph
    return e, session


def test_mean_pooling_over_the_mask_gives_unit_vectors_unmoved_by_padding(tmp_path):
    e, session = fake_embedder(tmp_path)
    short, long = "Iraq received detainees.", "The Reserve Bank kept the cash rate on hold " * 3
    texts = [short, long, "word " * 400, short]
    vectors = e.encode(texts, 3)  # padded batches; embed_array runs one text at a time
    assert vectors.dtype == np.float32 and vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = e.embed_array([short])[0]
    assert np.allclose(vectors[0], alone, atol=1e-5) and np.allclose(vectors[3], alone, atol=1e-5)  # order kept
    assert max(s[1] for s in session.shapes) == 256  # truncated at max_seq_length, special tokens included
    assert e.embed_documents([]) == [] and e.embed_array([]).shape == (0, 384)
    assert np.allclose(e.embed_query(long), vectors[1], atol=1e-5)
    assert np.allclose(e.embed_array(texts), vectors, atol=1e-5)


def test_a_missing_package_is_named(monkeypatch, tmp_path):
    def missing(model_path, out):
        raise ModuleNotFoundError("No module named 'onnx'", name="onnx")

    monkeypatch.setattr(onnx_int8, "_export_fp32", missing)
    with pytest.raises(EmbedderError, match=r"ModuleNotFoundError: No module named 'onnx' \(pip install onnx\)"):
        export_int8(packaged_model_path(), tmp_path / "model_qint8.onnx")
