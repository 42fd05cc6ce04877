"""Offline sentence embeddings: WordLlama's static token-embedding table, mean-pooled.

The `wordllama` wheel ships the model files inside the package (`weights/l2_supercat_256
.safetensors`: 32,000 tokens × 256 float16; `tokenizers/l2_supercat_tokenizer_config.json`), so
nothing is downloaded. Its own `WordLlama.load()` looks for the tokenizer under `tokenizer/`
and then tries Hugging Face, so the two files are read here directly: the package's inference
is a mean of token rows, L2-normalised, which is what `embed` does (CPU, numpy, no torch).
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
DIM = 256


@lru_cache(maxsize=1)
def _model() -> tuple[Tokenizer, np.ndarray]:
    root = resources.files("wordllama")
    tokenizer = Tokenizer.from_file(str(root.joinpath(TOKENIZER)))
    table = load_file(str(root.joinpath(WEIGHTS)))["embedding.weight"].astype(np.float32)
    return tokenizer, table


def embed(texts: list[str]) -> np.ndarray:
    """One unit-length float32 row per text (a zero row for a text with no known token)."""
    tokenizer, table = _model()
    out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
    for i, enc in enumerate(tokenizer.encode_batch(texts, add_special_tokens=False)):
        if enc.ids:
            out[i] = table[enc.ids].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return out / norms
