"""Near-duplicate detection: the same story syndicated with small edits.

MinHash over word shingles estimates the Jaccard similarity of two articles' shingle sets from
fixed-size signatures, so a new article is compared with every stored one without keeping their
shingles. Words are folded first: one site's "hoà" and another's "hòa", or a copy that lost its
diacritics, still match.
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from ingest.vietnamese import folded_keys

SHINGLE_WORDS = 4
PERMUTATIONS = 128
_PRIME = np.uint64(4294967311)  # smallest prime above 2**32
_rng = np.random.default_rng(20240601)  # fixed: signatures must agree across processes
_A = _rng.integers(1, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)

Signature = npt.NDArray[np.uint32]


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[int]:
    words = folded_keys(text)
    if len(words) < size:
        return {zlib.crc32(" ".join(words).encode())} if words else set()
    return {
        zlib.crc32(" ".join(words[i : i + size]).encode()) for i in range(len(words) - size + 1)
    }


def signature(text: str) -> Signature:
    values = np.fromiter(shingles(text), dtype=np.uint64)
    if values.size == 0:
        return np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
    # (a·x mod p + b) mod p for every permutation and shingle; a, x < 2**32 keeps a·x in uint64.
    hashed = ((np.outer(_A, values) % _PRIME) + _B[:, None]) % _PRIME
    return hashed.min(axis=1).astype(np.uint32)


def similarity(a: Signature, b: Signature) -> float:
    return float(np.mean(a == b))


def most_similar(sig: Signature, others: npt.NDArray[np.uint32]) -> tuple[int, float] | None:
    """Index and estimated similarity of the closest row of ``others`` (shape n × PERMUTATIONS)."""
    if others.size == 0:
        return None
    scores = (others == sig).mean(axis=1)
    best = int(scores.argmax())
    return best, float(scores[best])
