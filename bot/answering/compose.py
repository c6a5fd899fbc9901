"""From chosen sentences to the answer a person reads on a phone.

A figure, date, name or document answer starts with one direct line — the figure (or date, name,
document number) picked out of the quoted sentence, with the place and period the fact table
knows for it: "300 đảng viên mới — huyện Quảng Trạch, năm 2016 [1]". The verbatim quotes follow,
each cited ``[n]``. A quote longer than a phone screen is cut to the clauses around what it
answers (the citation keeps the exact offsets of what is shown).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.answering.question import Query
from bot.answering.signals import person_names
from bot.types import Citation, Evidence
from ingest.facts import Fact
from ingest.lexicon import (
    ANY_PERSON_NOUNS,
    COUNTED_ALIKE,
    DOCUMENT_CODE_RE,
    DOCUMENT_NAME_RE,
    PERSON_NOUNS,
    YEAR_RE,
)
from ingest.numbers import Number, find_numbers
from ingest.vietnamese import fold, keys, with_bigrams

MAX_QUOTE_CHARS = 420  # a longer sentence is cut to the clauses around its answer
_DATE_RES = (
    re.compile(
        r"\btừ (?:ngày )?\d{1,2}(?:\s*[/.-]\s*\d{1,2})? (?:đến|tới|-) (?:ngày )?"
        r"\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*(?:19|20)\d\d)?",
        re.I,
    ),
    re.compile(r"\b\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*(?:19|20)\d\d\b"),
    re.compile(r"\bngày \d{1,2} tháng \d{1,2}(?: năm (?:19|20)\d\d)?", re.I),
    re.compile(r"\b(?:ngày )\d{1,2}\s*[/.-]\s*\d{1,2}\b", re.I),
    re.compile(r"\btháng \d{1,2}\s*[/.-]\s*(?:19|20)\d\d\b", re.I),
)  # fmt: skip
_CLAUSE_RE = re.compile(r"[,;:]\s+|\s+[-–]\s+")
_LINE_RE = re.compile(r"\n\s*")  # a list is cut between its items, so an item keeps its subject


@dataclass(frozen=True)
class Quote:
    """A span of an article to quote, and the evidence it came from."""

    evidence: Evidence
    start: int  # offsets in the article
    end: int
    text: str


@dataclass(frozen=True)
class Pick:
    """What answers the question inside a quote: ``quote.text[start:end]``."""

    kind: str  # "count", "share", "date", "year", "person", "document"
    text: str
    start: int
    end: int
    fact: Fact | None = None
    score: float = 0.0  # how well a figure fits the question (unit, words around it, fact)
    unit: str | None = None  # a figure's counting noun as the text has it ("công nhân")
    fits: bool = True  # its counting noun is what the question counts, or none is said


def same_people(unit: str, head: str) -> bool:
    """Whether two folded counting nouns count the same people: "em" and "hoc sinh" do."""
    return unit == head or any(unit in group and head in group for group in COUNTED_ALIKE)


def _slot_terms(query: Query) -> set[str]:
    return set(with_bigrams(list(query.slot)))


def _window_cover(text: str, start: int, end: int, slot: set[str]) -> float:
    if not slot:
        return 0.0
    window = text[max(0, start - 50) : end + 50]
    found = set(with_bigrams([fold(k) for k in keys(window)]))
    return len(found & slot) / len(slot)


def _stated(query: Query, number: Number) -> bool:
    digits = re.sub(r"\D", "", number.text)
    return any(re.sub(r"\D", "", s) == digits for s in query.stated)


def unit_fit(head: str | None, unit: str) -> float:
    """How a figure's counting noun (folded) fits the counted noun asked: below 0, it counts
    something else than asked."""
    if head and unit and unit.startswith(head.split()[0]):
        return 2
    if head and head.startswith("dang vien") and unit.startswith("quan chung"):
        return 1.5
    if head and same_people(unit, head):
        return 2  # "bao nhiêu học sinh": "12 em"
    if head in ANY_PERSON_NOUNS and unit in PERSON_NOUNS:
        return 1.5  # "bao nhiêu học viên": "285 sinh viên" answers it, "1 lớp" does not
    if head in PERSON_NOUNS and unit == "nguoi":
        return 0  # "300.000 người" are people, maybe those asked: nothing says they are others
    if head in PERSON_NOUNS and unit in PERSON_NOUNS:
        return -1  # "203 công nhân" are not the "đảng viên" asked, only some of them
    if head in PERSON_NOUNS and unit:
        return -2  # "1 lớp", "47 chi bộ" count things, not the people asked
    return 0


def pick_figures(query: Query, text: str, facts: Sequence[tuple[int, float]] = ()) -> list[Pick]:
    """The figures of ``text`` that answer a count and/or share question, in reading order.
    ``facts``: (offset in ``text``, how well the fact there matches the question) from the
    fact table, which knows a figure's kind, place and period."""
    asked = set(query.answer_types)
    want_share, want_count = "share" in asked, "count" in asked
    if not (want_share or want_count):
        return []
    head = query.head if query.head and query.head != "%" else None
    slot = _slot_terms(query)
    scored: list[tuple[float, Pick]] = []
    for number in find_numbers(text):
        if _stated(query, number):
            continue
        percent = number.measure == "percent"
        unit = fold(number.unit or "")
        fit = unit_fit(head, unit)
        score = 2.0 * _window_cover(text, number.start, number.unit_end or number.end, slot) + fit
        if percent:
            score += 2 if want_share else -1
        elif want_count:
            score += 1 if unit else 0.3
        score += max((m for at, m in facts if at == number.start), default=0.0) / 3
        end = number.unit_end or number.end
        kind = "share" if percent else "count"
        figure = text[number.start : end]
        fits = percent or fit >= 0  # a share is of what its sentence says, not a count of it
        pick = Pick(kind, figure, number.start, end, score=score, unit=number.unit, fits=fits)
        scored.append((score, pick))
    scored.sort(key=lambda item: (-item[0], item[1].start))
    picks: list[Pick] = []
    for kind, wanted in (("count", want_count), ("share", want_share)):
        of_kind = [p for _, p in scored if p.kind == kind]
        if picks:
            # Both asked of one unit ("kết nạp bao nhiêu …, đạt bao nhiêu %"): the share
            # stated with the count, in a list of units each with its two figures.
            of_kind = [p for p in of_kind if _same_clause(text, picks[0], p)] or of_kind
        if wanted and of_kind:
            picks.append(of_kind[0])
    if not picks and scored:
        picks.append(scored[0][1])
    return sorted(picks, key=lambda p: p.start)


def _same_clause(text: str, a: Pick, b: Pick) -> bool:
    """Whether nothing ends a clause between two figures: no line break, ";" or sentence end."""
    between = text[min(a.end, b.end) : max(a.start, b.start)]
    return not re.search(r"[\n;]|[.!?]\s", between)


def pick_answer(query: Query, text: str, facts: Sequence[tuple[int, float]] = ()) -> list[Pick]:
    """What the question asks for, found in ``text`` (a quote): figures, a date, a year, a
    person's name or a document number."""
    asked = set(query.answer_types)
    picks = pick_figures(query, text, facts)
    if "date" in asked:
        stated = {
            re.sub(r"\D", "", d)
            for d in re.findall(r"\d{1,2}\s*/\s*\d{1,2}(?:/\d{4})?", query.text)
        }
        for pattern in _DATE_RES:
            found = [
                m for m in pattern.finditer(text) if re.sub(r"\D", "", m.group()) not in stated
            ]
            if found:
                m = found[0]
                picks.append(Pick("date", m.group(), m.start(), m.end()))
                break
    if "year" in asked and not picks:
        years = [m for m in YEAR_RE.finditer(text) if m.group() not in query.years]
        if years:
            picks.append(Pick("year", years[0].group(), years[0].start(), years[0].end()))
    if "person" in asked:
        names = person_names(text)
        if names:
            start, end = names[0]
            picks.append(Pick("person", text[start:end], start, end))
    if "document" in asked:
        # A document's own number ("722-CV/HU") before its name and number ("Công văn số 722").
        docs = [
            m
            for pattern in (DOCUMENT_CODE_RE, DOCUMENT_NAME_RE)
            for m in pattern.finditer(text)
            if m.group() not in query.text
        ]
        if docs:
            picks.append(Pick("document", docs[0].group(), docs[0].start(), docs[0].end()))
    return picks


def shorten(
    text: str, focus: tuple[int, int] | None, limit: int = MAX_QUOTE_CHARS, *, lines: bool = False
) -> tuple[int, int]:
    """The span of ``text`` to quote: all of it when short, else whole clauses (or, for a
    list, whole lines) around ``focus`` (or from the start) up to about ``limit`` characters."""
    if len(text) <= limit:
        return 0, len(text)
    cut_re = _LINE_RE if lines and "\n" in text else _CLAUSE_RE
    cuts = [0] + [m.end() for m in cut_re.finditer(text)] + [len(text)]
    center = focus[0] if focus else 0
    start = max((c for c in cuts if c <= center), default=0)
    end = start
    for c in cuts:
        if c > end and c - start <= limit:
            end = c
    if focus and end < focus[1]:
        end = min(len(text), max(focus[1], start + limit))
    if end <= start:
        end = min(len(text), start + limit)
    return start, end


def direct_line(picks: Sequence[Pick], n: int, fact: Fact | None, *, place: bool = True) -> str:
    """ "300 đảng viên mới — huyện Quảng Trạch, năm 2016 [1]"; ``place=False`` leaves the
    fact's place out."""
    what = "; ".join(dict.fromkeys(p.text for p in picks))
    where = []
    if fact is not None:
        if fact.place and place:
            where.append(fact.place)
        if fact.period and not fact.period.startswith("ngày đăng"):
            where.append(fact.period)
    return f"{what}{' — ' + ', '.join(where) if where else ''} [{n}]"


def citation_for(n: int, quote: Quote) -> Citation:
    return quote.evidence.citation(n, quote.start, quote.end)
