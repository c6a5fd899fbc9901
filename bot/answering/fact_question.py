"""What a figure question asks of the fact table, and how well a fact answers it.

``question_spec`` reads the kind of figure, the part of those counted, share or count, plan or
result, yearly or not, the years and the words near the figure from a question (cue tables in
``ingest/lexicon.py``); ``score_fact`` weighs a fact against that spec and ``exact_match`` says
whether it is exactly what was asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.answering.question import Query
from index.lexical import STOPWORDS
from ingest.facts import STOCK_BEFORE_RE, Fact
from ingest.lexicon import (
    ACHIEVED_ACCENTED_RE,
    ACHIEVED_FOLDED_RE,
    COMPARE_CUES,
    KIND_CUES,
    LEVEL_WORDS,
    LIST_CUES,
    PER_YEAR_CUES,
    PERSON_NOUNS,
    RECRUIT_NOUNS,
    SEGMENT_CUES,
    TARGET_CUES,
    TOTAL_CUES,
    TOTAL_OF_BOTH_RE,
    phrase_re,
)
from ingest.numbers import find_numbers
from ingest.vietnamese import fold, nfc, words

# Kinds counted as people: a question's segment ("nữ", "có đạo") must match for these.
PEOPLE_KINDS = frozenset({"ket_nap", "tong_dang_vien", "xuat_sac", "hoan_thanh_tot"})
# Kinds that count things, never the people a question counts.
THING_KINDS = frozenset({"to_chuc_dang", "chi_bo", "lop_boi_duong", "thon_ban"})
# Stocks at a date can be compared across dates with a caveat; flows over different periods not.
STOCK_KINDS = frozenset({"tong_dang_vien", "to_chuc_dang", "chi_bo"})

_KIND_CUES = [(re.compile(cue), kind) for cue, kind in KIND_CUES]
_SEGMENT_CUES = [(re.compile(cue), segment) for cue, segment in SEGMENT_CUES]
_TARGET_CUES = phrase_re(TARGET_CUES)
_ACHIEVED_ACCENTED = ACHIEVED_ACCENTED_RE
_ACHIEVED_FOLDED = ACHIEVED_FOLDED_RE
_PER_YEAR_CUES = phrase_re(PER_YEAR_CUES)
COMPARE_RE = phrase_re(COMPARE_CUES)
TOTAL_RE = re.compile(f"{phrase_re(TOTAL_CUES).pattern}|{TOTAL_OF_BOTH_RE.pattern}")
LIST_RE = phrase_re(LIST_CUES)
SUPERLATIVE_RE = re.compile(r"\b(?:nhieu|cao|lon|it|thap|nho)(?: \w+){0,3} nhat\b|\bmost\b")
_FROM_VALUE_RE = re.compile(r"\s*(?:\w+\s+){0,3}?(?:xuong con|xuong|len|con)\s+\d")
PART_SPLIT_RE = re.compile(r",?\s+(?:và|va|and)\s+")
FIGURE_CUE_RE = re.compile(r"\b(?:bao nhieu|may|how many|how much|phan tram)\b")
# The level words a place's name may start with (villages included), folded, longest first.
NAME_LEVELS_FOLDED = sorted({fold(w) for w in LEVEL_WORDS}, key=len, reverse=True)
# Words that make an asked year one end of a stretch of years.
_STRETCH_RE = re.compile(
    r"\b(?:tu|den|toi|sau|truoc|giai doan|nhiem ky|since|from|until|between|after|before|term"
    r"|period)\b"
)


@dataclass(frozen=True)
class Spec:
    """What a question asks for, in terms of facts."""

    kind: str | None
    segments: tuple[str, ...]
    percent: bool
    target: bool
    per_year: bool
    years: tuple[int, ...]
    stated: frozenset[float]  # figures the question itself gives ("Trong số 215 đảng viên …")
    terms: frozenset[str]  # folded content words and pairs, to tell close facts apart
    unit: str | None  # the counted noun asked ("nhiem vu", "lop")
    stock: bool = False  # "có bao nhiêu …": what there is, not what was added
    # One year asked as such ("năm 2023"), not as the start or end of a stretch ("từ năm 2021
    # đến nay"): a figure added up over several years is not that year's.
    one_year: bool = False


def folded_text(text: str) -> str:
    return " " + " ".join(fold(w) for w in words(text)) + " "


def name_of(place: str) -> str:
    """A place's name without its level word, as written: "huyện Thới Lai" → "Thới Lai". The
    level is found in any case, with or without accents ("Huyen Thoi Lai"), villages included."""
    place = nfc(place).strip()
    folded = fold(place)  # one letter for one letter, so offsets carry over
    for level in NAME_LEVELS_FOLDED:
        if folded.startswith(level + " "):
            return place[len(level) + 1 :].strip()
    return place


def folded_name(place: str) -> str:
    """ "Huyện Thới Lai" → "thoi lai": a place's name without its level, folded."""
    return fold(name_of(place))


def place_name(fact: Fact) -> str | None:
    """The folded name of a fact's place, without its level: "huyện Thới Lai" → "thoi lai"."""
    return folded_name(fact.place) if fact.place else None


def _terms(folded: str) -> frozenset[str]:
    tokens = [t for t in folded.split() if t not in STOPWORDS and not t.isdigit()]
    return frozenset(tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)])


@lru_cache(maxsize=512)
def question_spec(query: Query) -> Spec:
    """What ``query`` asks in terms of facts; the extractive answerer's steps and the fact
    answerer each ask for it, so it is worked out once per question."""
    folded = folded_text(query.search_text)
    # People counted ("bao nhiêu đảng viên") are not the organisations, cells, classes or
    # villages the question also names ("các tổ chức đảng … kết nạp bao nhiêu đảng viên").
    people = query.head in PERSON_NOUNS
    kind = next(
        (k for cue, k in _KIND_CUES if not (people and k in THING_KINDS) and cue.search(folded)),
        None,
    )
    segments = tuple(s for cue, s in _SEGMENT_CUES if cue.search(folded))
    achieved = (
        _ACHIEVED_ACCENTED.search(query.search_text.lower())
        if query.accented
        else _ACHIEVED_FOLDED.search(folded_text(query.search_text.replace("%", " phần trăm ")))
    )
    target = bool(_TARGET_CUES.search(folded)) and not achieved
    if kind == "ty_le_dat_chi_tieu":
        target = False
    stated = frozenset(
        float(m.replace(".", "").replace(",", "."))
        for m in re.findall(r"(?<![\d/.-])\d+(?:[.,]\d+)?(?![\d/.-])", query.text)
        if not re.fullmatch(r"(?:19|20)\d\d", m)
    )
    unit = None
    if query.head and query.head not in ("%", "dang vien", "nguoi"):
        unit = query.head
    return Spec(
        kind=kind,
        segments=segments,
        percent=query.wants_percent or kind == "ty_le_dat_chi_tieu",
        target=target,
        per_year=bool(_PER_YEAR_CUES.search(folded)),
        years=tuple(sorted(int(y) for y in query.years)),
        stated=stated,
        terms=_terms(folded),
        unit=unit,
        stock=query.wants_total,
        one_year=len(query.years) == 1 and not _STRETCH_RE.search(folded),
    )


def wider_than_asked(fact: Fact, spec: Spec) -> bool:
    """A flow over several years, asked for one of them ("giai đoạn 2020-2023" for "năm 2023",
    "từ khi thành lập đến nay" for "năm 2019"); a yearly figure of a term ("mỗi năm kết nạp
    150") holds in each of its years."""
    return (
        spec.one_year
        and fact.kind not in STOCK_KINDS
        and not fact.per_year
        and fact.year_to is not None
        and fact.year_from != fact.year_to
    )


def other_period(fact: Fact, spec: Spec) -> bool:
    """The fact is about another period than the one asked."""
    return bool(spec.years) and (
        years_overlap(fact, spec.years) is False or wider_than_asked(fact, spec)
    )


def years_overlap(fact: Fact, years: Sequence[int]) -> bool | None:
    """Whether the fact's period overlaps the asked years; None when the fact's is unknown."""
    if fact.year_from is None and fact.year_to is None:
        return None
    low = fact.year_from if fact.year_from is not None else -10_000
    high = fact.year_to if fact.year_to is not None else 10_000
    # Spans that only meet at an end are consecutive terms or school years ("2021-2022" and
    # "2022-2023", "2015-2020" and "2020-2025"), not the same period.
    if (
        min(years) < max(years)
        and fact.year_from is not None
        and fact.year_to is not None
        and low < high
        and (high == min(years) or low == max(years))
    ):
        return False
    return low <= max(years) and high >= min(years)


@lru_cache(maxsize=4096)
def _figure_spans(sentence: str) -> tuple[tuple[int, int], ...]:
    return tuple((n.start, n.unit_end or n.end) for n in find_numbers(sentence))


def clause_of(fact: Fact) -> str:
    """The words that belong to a figure, folded, for telling close facts apart: from the figure
    before it (or its clause's start) to its unit, and a little after, up to the next figure."""
    sentence = fact.sentence
    rel_start, rel_end = fact.figure_start - fact.start, fact.figure_end - fact.start
    left = max(sentence.rfind(";", 0, rel_start), sentence.rfind("(", 0, rel_start)) + 1
    right = sentence.find(";", rel_end)
    right = len(sentence) if right == -1 else right
    for start, end in _figure_spans(sentence):
        if end <= rel_start:
            left = max(left, end)
        elif start >= rel_end:
            right = min(right, start)
            break
    return folded_text(sentence[max(left, rel_start - 90) : min(right, rel_end + 40)])


def score_fact(fact: Fact, spec: Spec) -> float | None:
    """How well a fact answers the spec; None when it cannot."""
    if fact.value in spec.stated and fact.measure != "percent":
        return None  # the question gives this figure; it asks for another
    score = 0.0
    if spec.kind is not None:
        if fact.kind == spec.kind:
            score += 3
        elif {fact.kind, spec.kind} <= {"ket_nap", "tong_dang_vien"} and spec.segments:
            score += 1  # "tỷ lệ đảng viên nữ" may be asked of the new members
        elif spec.unit and fact.unit and fold(fact.unit).startswith(spec.unit.split()[0]):
            score += 1
        else:
            return None
    elif spec.unit and fact.unit and fold(fact.unit).startswith(spec.unit):
        score += 2
    else:
        return None
    recruits = _recruits_asked(fact, spec)
    if recruits is not None:
        score += 1 if recruits else -1
    if fact.kind in PEOPLE_KINDS or fact.kind == spec.kind:
        if spec.segments and fact.kind in PEOPLE_KINDS:
            if fact.segment not in spec.segments:
                return None
            score += 2
        elif fact.segment is not None:
            score -= 1.5
    if spec.percent:
        score += 2 if fact.measure == "percent" else -2
    elif fact.measure == "percent":
        score -= 2
    if spec.target != fact.target:
        return None  # a plan does not answer what was done, nor a result what was planned
    if spec.target:
        score += 1
    if spec.per_year != fact.per_year:
        score -= 1
    if spec.years:
        overlap = years_overlap(fact, spec.years)
        if overlap is False:
            score -= 3
        elif wider_than_asked(fact, spec):
            score -= 1.5
        elif overlap:
            score += 1.5
    clause = clause_of(fact)
    shared = sum(1 for term in spec.terms if f" {term} " in clause)
    score += min(2.0, 0.25 * shared)
    if _FROM_VALUE_RE.match(fold(fact.sentence[fact.figure_end - fact.start :])) and fold(
        fact.sentence[max(0, fact.figure_start - fact.start - 4) : fact.figure_start - fact.start]
    ).endswith("tu "):
        # "từ 56 bản xuống còn 20 bản": the figure a change started from is not its result.
        score -= 1.5
    if spec.stock and STOCK_BEFORE_RE.search(
        fold(
            fact.sentence[
                max(0, fact.figure_start - fact.start - 16) : fact.figure_start - fact.start
            ]
        )
    ):
        score += 0.75  # "có 319 chi bộ", not "thành lập mới 54 chi bộ"
    return score


def _recruits_asked(fact: Fact, spec: Spec) -> bool | None:
    """For a figure of new members counted by what they were ("kết nạp 5 học sinh"): whether
    the question counts them so ("bao nhiêu học sinh"), not as members ("bao nhiêu đảng
    viên"). None for other figures, and for "em", which stands for whoever the text means."""
    unit = fold(fact.unit or "")
    if unit not in RECRUIT_NOUNS or unit == "em":
        return None
    return spec.unit is not None and unit.startswith(spec.unit.split()[0])


def exact_match(fact: Fact, spec: Spec) -> bool:
    """Whether a fact is what a single-figure question asks, on every count: its kind, the part
    of those counted, a share or a count, plan or result, yearly or not, and a period that
    covers the asked years. Anything less is left to the sentence ranker, where the fact's
    match is one feature among others."""
    if spec.kind is None or fact.kind != spec.kind:
        return False
    if spec.segments and fact.segment not in spec.segments:
        return False
    if not spec.segments and fact.segment is not None:
        return False
    if (fact.measure == "percent") != spec.percent or fact.target != spec.target:
        return False
    if fact.per_year != spec.per_year or _recruits_asked(fact, spec) is False:
        return False
    if wider_than_asked(fact, spec):
        return False
    return not spec.years or years_overlap(fact, spec.years) is True
