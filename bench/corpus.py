"""Synthetic corpora for the benchmark, built from the five sample articles.

A *variant* of a sample article renames the place the article is about (each variant takes its own
name from a pool of generated Vietnamese place names), shifts every year by one to eight years and
perturbs every figure of 10 or more, so passages differ while staying the same kind of text.
Question templates are written against the original article; a variant's questions are rendered
the same way (place and years), and the expected answer is the variant's own rendering of the
sentence span that answers the original, so every answer is known. The five originals are always
included, which keeps the dev questions (``eval/dev.jsonl``) answerable at every size. The
embedders the corpora are run with are in ``bench.embedders``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from ingest.chunking import chunk_spans
from ingest.vietnamese import fold

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "corpus"
DEV_QUESTIONS = REPO / "eval" / "dev.jsonl"
CORPUS_VERSION = 1
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
LETTERS_RE = re.compile(r"[^\W\d_]+")


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
    if passages >= 1_000_000 and passages % 1_000_000 == 0:
        return f"{passages // 1_000_000}M"
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
    corpus = " " + " ".join(fold(w) for w in LETTERS_RE.findall(all_samples())) + " "
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


def all_samples() -> str:
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


def corpus_places(passages: int) -> set[str]:
    """The place names a corpus of about ``passages`` passages uses."""
    return {p for v in corpus_variants(passages) for p in v.places}


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
