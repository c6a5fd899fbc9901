"""Answering with facts: figures, comparisons, lists and totals computed from the fact table.

A figure question ("Tuần Giáo kết nạp bao nhiêu đảng viên?") picks the fact whose place, period and
kind match and quotes its sentence. A comparison ("so sánh Tuần Giáo và Lai Châu"), a list ("địa
phương nào vượt chỉ tiêu", "liệt kê … từng bài viết") or a total ("… cộng lại") is computed from
facts across articles, every figure cited ``[n]`` to its own sentence; a total states its parts.
Figures from different periods are stated as such, not silently compared. Where an article's own
figures contradict each other (a share that does not match its parts), the answer says so.

``FactsAnswerer.answer`` returns ``None`` when the facts cannot answer, so the caller falls back to
the extractive answerer.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from bot.query import Query, analyse
from bot.types import Answer, Citation
from index.facts import FactStore
from index.lexical import STOPWORDS
from ingest.facts import KINDS, STOCK_BEFORE_RE, Fact
from ingest.lexicon import (
    ACHIEVED_ACCENTED_RE,
    ACHIEVED_FOLDED_RE,
    COMPARE_CUES,
    FACT_PLACE_LEVELS,
    KIND_CUES,
    LIST_CUES,
    PER_YEAR_CUES,
    SEGMENT_CUES,
    TARGET_CUES,
    TOTAL_CUES,
    TOTAL_OF_BOTH_RE,
    phrase_re,
)
from ingest.numbers import find_numbers, format_number, format_percent
from ingest.vietnamese import fold, words

if TYPE_CHECKING:
    from bot.settings import Settings
    from index.store import ArticleStore

QuestionType = Literal["figure", "compare", "list", "total", "parts"]

# Kinds counted as people: a question's segment ("nữ", "có đạo") must match for these.
PEOPLE_KINDS = frozenset({"ket_nap", "tong_dang_vien", "xuat_sac", "hoan_thanh_tot"})
# Stocks at a date can be compared across dates with a caveat; flows over different periods not.
STOCK_KINDS = frozenset({"tong_dang_vien", "to_chuc_dang", "chi_bo"})

_KIND_CUES = [(re.compile(cue), kind) for cue, kind in KIND_CUES]
_SEGMENT_CUES = [(re.compile(cue), segment) for cue, segment in SEGMENT_CUES]
_TARGET_CUES = phrase_re(TARGET_CUES)
_ACHIEVED_ACCENTED = ACHIEVED_ACCENTED_RE
_ACHIEVED_FOLDED = ACHIEVED_FOLDED_RE
_PER_YEAR_CUES = phrase_re(PER_YEAR_CUES)
_COMPARE_CUES = phrase_re(COMPARE_CUES)
_TOTAL_CUES = re.compile(f"{phrase_re(TOTAL_CUES).pattern}|{TOTAL_OF_BOTH_RE.pattern}")
_LIST_CUES = phrase_re(LIST_CUES)
_SUPERLATIVE_RE = re.compile(r"\b(?:nhieu|cao|lon|it|thap|nho)(?: \w+){0,3} nhat\b|\bmost\b")
_FROM_VALUE_RE = re.compile(r"\s*(?:\w+\s+){0,3}?(?:xuong con|xuong|len|con)\s+\d")
_PART_SPLIT_RE = re.compile(r",?\s+(?:và|va|and)\s+")
_FIGURE_CUE = re.compile(r"\b(?:bao nhieu|may|how many|how much|phan tram)\b")
_LEVEL_WORDS = FACT_PLACE_LEVELS


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


@dataclass
class _Composer:
    """Numbers sentences as they are first cited and collects the citations."""

    store: ArticleStore
    citations: list[Citation] = field(default_factory=list)
    _numbers: dict[tuple[str, int], int] = field(default_factory=dict)

    def cite(self, fact: Fact) -> int:
        key = (fact.article_id, fact.start)
        if key not in self._numbers:
            n = len(self._numbers) + 1
            self._numbers[key] = n
            row = self.store.conn.execute(
                "SELECT title, date, origin FROM articles WHERE article_id = ?", (fact.article_id,)
            ).fetchone()
            title, date, origin = (row[0], row[1], row[2]) if row else ("", None, "")
            self.citations.append(
                Citation(
                    n, fact.article_id, title, date, origin, fact.sentence, fact.start, fact.end
                )
            )
        return self._numbers[key]

    def quotes(self) -> list[str]:
        return [f"“{c.quote}” [{c.n}]" for c in self.citations]


def _folded(text: str) -> str:
    return " " + " ".join(fold(w) for w in words(text)) + " "


def _name_of(place: str) -> str:
    for level in _LEVEL_WORDS:
        if place.startswith(level + " "):
            return place[len(level) + 1 :]
    return place


def _terms(folded: str) -> frozenset[str]:
    tokens = [t for t in folded.split() if t not in STOPWORDS and not t.isdigit()]
    return frozenset(tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)])


def question_spec(query: Query, folded: str | None = None) -> Spec:
    folded = folded if folded is not None else _folded(query.search_text)
    kind = next((k for cue, k in _KIND_CUES if cue.search(folded)), None)
    segments = tuple(s for cue, s in _SEGMENT_CUES if cue.search(folded))
    achieved = (
        _ACHIEVED_ACCENTED.search(query.search_text.lower())
        if query.accented
        else _ACHIEVED_FOLDED.search(folded)
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
    )


def _years_overlap(fact: Fact, years: Sequence[int]) -> bool | None:
    """Whether the fact's period overlaps the asked years; None when the fact's is unknown."""
    if fact.year_from is None and fact.year_to is None:
        return None
    low = fact.year_from if fact.year_from is not None else -10_000
    high = fact.year_to if fact.year_to is not None else 10_000
    return low <= max(years) and high >= min(years)


@lru_cache(maxsize=4096)
def _figure_spans(sentence: str) -> tuple[tuple[int, int], ...]:
    return tuple((n.start, n.unit_end or n.end) for n in find_numbers(sentence))


def _clause(fact: Fact) -> str:
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
    return _folded(sentence[max(left, rel_start - 90) : min(right, rel_end + 40)])


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
        overlap = _years_overlap(fact, spec.years)
        if overlap is False:
            score -= 3
        elif overlap:
            score += 1.5
    clause = _clause(fact)
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
    if fact.per_year != spec.per_year:
        return False
    return not spec.years or _years_overlap(fact, spec.years) is True


class FactsAnswerer:
    """Answers figure, comparison, list and total questions from the fact table."""

    def __init__(self, facts: FactStore, store: ArticleStore) -> None:
        self.facts = facts
        self.store = store
        self._names: list[tuple[str, str, str]] = []
        self._names_for: list[str] | None = None

    # --- the question -------------------------------------------------------------------------
    def _place_names(self) -> list[tuple[str, str, str]]:
        """(folded name, folded level word, place) of every known place, computed once per
        list of places: per question, splitting thousands of names cost 45 ms at 100k."""
        places = self.facts.places()
        if self._names_for is not places:
            self._names = [
                (
                    f" {fold(_name_of(p))} ",
                    fold(p[: len(p) - len(_name_of(p))]).strip(),
                    p,
                )
                for p in places
            ]
            self._names_for = places
        return self._names

    def places_in(self, folded_question: str) -> list[str]:
        """Known places named in the question, in the order the question names them."""
        found: list[tuple[float, str]] = []
        for name, level, place in self._place_names():
            at = folded_question.find(name)
            if at == -1:
                continue
            # "thành phố Kon Tum" and "tỉnh Kon Tum": the level word the question uses decides.
            before = folded_question[max(0, at - 12) : at]
            found.append((at - (0.5 if level and level in before else 0), place))
        found.sort()
        chosen: list[str] = []
        for _, place in found:
            name = fold(_name_of(place))
            if any(fold(_name_of(p)) == name for p in chosen):
                continue
            chosen.append(place)
        return chosen

    def _unknown_entity(self, query: Query) -> bool:
        """A name in the question that no fact is about ("Hà Nội"): the facts cannot answer."""
        if not query.entities:
            return False
        known = f" {' | '.join(fold(p) for p in self.facts.places())} "
        return any(f" {entity} " not in known for entity in query.entities)

    @staticmethod
    def question_type(query: Query, folded: str, places: Sequence[str]) -> QuestionType | None:
        if _TOTAL_CUES.search(folded) and len(places) >= 2:
            return "total"
        if len(places) >= 2 and (_COMPARE_CUES.search(folded) or " va " in folded):
            return "compare"
        if _LIST_CUES.search(folded) and len(places) < 2:
            return "list"
        parts = [p for p in _PART_SPLIT_RE.split(query.text) if _FIGURE_CUE.search(_folded(p))]
        if len(parts) >= 2 and len(places) <= 1:
            return "parts"
        if query.wants_figure and len(places) == 1:
            return "figure"
        return None

    # --- answering ----------------------------------------------------------------------------
    def answer(
        self, question: str, query: Query | None = None, *, figures: bool = True
    ) -> Answer | None:
        """The fact table's answer, or None. ``figures=False`` leaves single-figure questions
        to the sentence ranker (the service does: on articles its rules were not written on,
        a matching fact is better used as one feature among others)."""
        query = query or analyse(question)
        folded = _folded(query.search_text)
        if self.facts.count() == 0 or self._unknown_entity(query):
            return None
        places = self.places_in(folded)
        qtype = self.question_type(query, folded, places)
        if qtype is None or (qtype == "figure" and not figures):
            return None
        spec = question_spec(query, folded)
        if spec.kind is None and spec.unit is None:
            return None
        composer = _Composer(self.store)
        if qtype == "figure":
            lines = self._figure(spec, places[0], composer)
        elif qtype == "parts":
            lines = self._parts(query, places, composer)
        elif qtype == "list":
            lines = self._list(spec, composer, folded)
        else:
            lines = self._across(spec, places, composer, total=qtype == "total")
        if not lines:
            return None
        lead = (
            "From the articles (figures quoted in Vietnamese):"
            if query.language == "en"
            else "Theo các bài viết đã nạp:"
        )
        notes = self._notes(composer)
        text = "\n".join([lead, *lines, "", *composer.quotes(), *notes])
        return Answer(
            question=question,
            text=text.rstrip(),
            refused=False,
            citations=composer.citations,
            language=query.language,
            answerer=f"facts:{qtype}",
            notes=[n.removeprefix("Lưu ý: ") for n in notes],
        )

    def best(self, spec: Spec, place: str | None) -> Fact | None:
        scored = [
            (s, f)
            for f in self.facts.query(exact_place=place)
            if (place is None or self._same_place(f, place))
            and (s := score_fact(f, spec)) is not None
        ]
        if not scored:
            return None
        scored.sort(key=lambda pair: (-pair[0], pair[1].article_id, pair[1].figure_start))
        best_score, fact = scored[0]
        return fact if best_score >= 2.5 else None

    @staticmethod
    def _same_place(fact: Fact, place: str) -> bool:
        return fact.place is not None and fold(fact.place) == fold(place)

    def _figure(self, spec: Spec, place: str, composer: _Composer) -> list[str]:
        fact = self.best(spec, place)
        if fact is None or not exact_match(fact, spec):
            return []
        return [f"{_describe(fact)} [{composer.cite(fact)}]"]

    def _parts(self, query: Query, places: Sequence[str], composer: _Composer) -> list[str]:
        """ "kết nạp bao nhiêu năm 2022 và đặt mục tiêu bao nhiêu cho năm 2023": each part is
        answered on its own, a part without a kind or place borrowing the first part's."""
        if not places:
            return []
        parts = [p for p in _PART_SPLIT_RE.split(query.text) if _FIGURE_CUE.search(_folded(p))]
        lines: list[str] = []
        first: Spec | None = None
        for part in parts:
            part_query = analyse(part)
            spec = question_spec(part_query)
            if first is not None and spec.kind is None:
                spec = replace(
                    spec,
                    kind=first.kind,
                    segments=spec.segments or first.segments,
                    terms=spec.terms | first.terms,
                    unit=spec.unit or first.unit,
                )
            first = first or spec
            fact = self.best(spec, places[0])
            if fact is None:
                return []
            lines.append(f"- {_describe(fact)} [{composer.cite(fact)}]")
        return lines

    def _across(
        self, spec: Spec, places: Sequence[str], composer: _Composer, *, total: bool
    ) -> list[str]:
        """A comparison or a total of one kind of figure across places."""
        chosen: list[Fact] = []
        for place in places:
            fact = self.best(spec, place)
            if fact is None:
                return []
            chosen.append(fact)
        lines = [f"- {_describe(f)} [{composer.cite(f)}]" for f in chosen]
        periods = {f.period for f in chosen}
        different = len(periods) > 1
        counts = all(f.measure != "percent" and f.high is None for f in chosen)
        if total and counts:
            parts = " + ".join(format_number(f.value) for f in chosen)
            lines.append(f"Cộng lại: {parts} = {format_number(sum(f.value for f in chosen))}.")
        elif not total and len(chosen) == 2:
            a, b = chosen
            if a.value != b.value and (not different or a.kind in STOCK_KINDS):
                more, less = (a, b) if a.value > b.value else (b, a)
                word = "cao hơn" if more.measure == "percent" else "nhiều hơn"
                lines.append(
                    f"{_cap(more.place)} {word}: {more.figure} so với {less.figure} "
                    f"của {less.place}."
                )
        if different:
            stated = "; ".join(f"{f.place}: {f.period or 'không rõ'}" for f in chosen)
            flows = any(f.kind not in STOCK_KINDS for f in chosen)
            if total:
                what = "khoảng thời gian" if flows else "thời điểm"
                lines.append(f"Lưu ý: tổng này cộng số liệu của những {what} khác nhau ({stated}).")
            elif flows:
                lines.append(
                    f"Lưu ý: các số liệu thuộc những khoảng thời gian khác nhau ({stated}), nên "
                    "không so sánh trực tiếp được."
                )
            else:
                lines.append(f"Lưu ý: các số liệu ở những thời điểm khác nhau ({stated}).")
        return lines

    def _list(self, spec: Spec, composer: _Composer, folded: str) -> list[str]:
        """Every place (or article) with a figure of the asked kind."""
        if spec.kind == "ty_le_dat_chi_tieu":
            return self._exceeded(spec, composer)
        by_place: dict[tuple[str, str | None], Fact] = {}
        for fact in self.facts.query(kind=spec.kind):
            scored = score_fact(fact, spec)
            if scored is None:
                continue
            key = (fact.article_id, fact.place)
            current = by_place.get(key)
            if current is None or scored > (score_fact(current, spec) or 0):
                by_place[key] = fact
        # Figures about one segment ("20 quần chúng có đạo") count only where an article gives
        # nothing more general.
        lines: list[str] = []
        for fact in _reading_order(by_place.values()):
            lines.append(f"- {_describe(fact)} [{composer.cite(fact)}]")
        superlative = _SUPERLATIVE_RE.search(folded)
        counts = [
            f
            for f in by_place.values()
            if f.measure != "percent" and f.high is None and f.segment is None
        ]
        if superlative and len(counts) >= 2:
            periods_differ = len({f.period for f in counts}) > 1
            if periods_differ and any(f.kind not in STOCK_KINDS for f in counts):
                lines.append(
                    "Lưu ý: các số liệu thuộc những khoảng thời gian khác nhau, nên không xếp hạng "
                    "được."
                )
                return lines
            fewest = superlative.group().split()[0] in ("it", "thap", "nho")
            pick = (min if fewest else max)(counts, key=lambda f: f.value)
            word = "thấp nhất" if fewest else "cao nhất"
            lines.append(f"{word.capitalize()}: {pick.place} với {pick.figure}.")
            if periods_differ:
                lines.append("Lưu ý: các số liệu ở những thời điểm khác nhau.")
        return lines

    def _exceeded(self, spec: Spec, composer: _Composer) -> list[str]:
        """Places over their target, by how much; those under it are named too."""
        over: list[str] = []
        under: list[str] = []
        for fact in _reading_order(self.facts.query(kind="ty_le_dat_chi_tieu")):
            if spec.years and _years_overlap(fact, spec.years) is False:
                continue
            n = composer.cite(fact)
            clause = _clause(fact)
            excess_stated = " vuot " in clause and fact.value < 100
            if excess_stated or fact.value > 100:
                if excess_stated:
                    by = f"vượt {fact.figure} kế hoạch"
                elif " vuot " in clause:
                    by = f"vượt {fact.figure} so với chỉ tiêu"
                else:
                    by = f"đạt {fact.figure} chỉ tiêu, tức vượt {format_percent(fact.value - 100)}"
                extra = " mỗi năm" if fact.per_year and fact.period != "hằng năm" else ""
                check = self._target_check(fact, composer)
                over.append(f"- {_cap(fact.place)}: {by}{extra} ({_period(fact)}) [{n}]{check}")
            else:
                under.append(
                    f"- {_cap(fact.place)}: đạt {fact.figure} chỉ tiêu ({_period(fact)}) [{n}]"
                )
        if not over and not under:
            return []
        lines = ["Vượt chỉ tiêu:", *over] if over else ["Không bài viết nào nêu việc vượt."]
        if under:
            lines += ["Chưa đạt chỉ tiêu:", *under]
        return lines

    def _target_check(self, share: Fact, composer: _Composer) -> str:
        """ "37 đảng viên so với chỉ tiêu 20: 185%" when the article gives both counts."""
        same = [
            f
            for f in self.facts.query(kind="ket_nap", article_id=share.article_id)
            if f.place == share.place and f.segment is None and f.measure == "count"
        ]
        results = [f for f in same if not f.target and not f.per_year]
        targets = [f for f in same if f.target]
        for result in results:
            for target in targets:
                if target.value and abs(result.value / target.value * 100 - share.value) < 1:
                    return (
                        f"; kết nạp {result.figure} [{composer.cite(result)}] so với chỉ tiêu "
                        f"{target.figure} [{composer.cite(target)}], tức đạt "
                        f"{format_percent(result.value / target.value * 100)}"
                    )
        return ""

    def _notes(self, composer: _Composer) -> list[str]:
        """Consistency notes of every fact in a quoted sentence; the whole a share was checked
        against is cited too when another sentence gives it."""
        notes: list[str] = []
        for citation in list(composer.citations):
            article_facts = self.facts.query(article_id=citation.article_id)
            for fact in article_facts:
                if fact.start != citation.start or not fact.note:
                    continue
                note = f"Lưu ý: số liệu trong bài không khớp nhau: {fact.note} [{citation.n}]"
                whole = next(
                    (
                        f
                        for f in article_facts
                        if f.value == fact.whole and f.measure == "count" and f.start != fact.start
                    ),
                    None,
                )
                if whole is not None:
                    note += f"; {whole.figure} [{composer.cite(whole)}]"
                if note + "." not in notes:
                    notes.append(note + ".")
        return notes


def _reading_order(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda f: (f.article_id, f.figure_start))


def _cap(text: str | None) -> str:
    if not text:
        return "(không rõ nơi)"
    return text[:1].upper() + text[1:]


def _period(fact: Fact) -> str:
    period = fact.period or "không rõ thời gian"
    if fact.per_year and not re.search(r"\b(?:hằng|hàng|mỗi) năm\b", period):
        return f"{period}, mỗi năm"
    return period


def _describe(fact: Fact) -> str:
    """ "Huyện Tuần Giáo — đảng viên mới kết nạp: 470 đảng viên (từ năm 2016 đến 31-3-2018)"."""
    figure = fact.figure
    if fact.measure == "ratio" and fact.denominator:
        figure += f" ({format_percent(fact.value / fact.denominator * 100)})"
    return f"{_cap(fact.place)} — {fact.label}: {figure} ({_period(fact)})"


# --- `tinbot facts` -------------------------------------------------------------------------


def format_facts(facts: Sequence[Fact], titles: dict[str, str] | None = None) -> str:
    """Facts as text, each sentence quoted once after the facts it gives: for the CLI and
    ``/stats``."""
    lines: list[str] = []
    for i, fact in enumerate(facts):
        lines.append(_describe(fact))
        if fact.note:
            lines.append(f"    Lưu ý: {fact.note}.")
        following = facts[i + 1] if i + 1 < len(facts) else None
        if following is None or (following.article_id, following.start) != (
            fact.article_id,
            fact.start,
        ):
            source = f" — {titles[fact.article_id]}" if titles and fact.article_id in titles else ""
            lines.append(f"    “{fact.sentence}”{source}")
    return "\n".join(lines)


def fact_to_json(fact: Fact, origin: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        name: getattr(fact, name)
        for name in (
            "article_id kind segment measure value high denominator bound unit figure target "
            "per_year place period year_from year_to sentence start end note"
        ).split()
    }
    data["origin"] = origin
    return data


def cmd_facts(args: argparse.Namespace, settings: Settings) -> int:
    from bot.errors import TinbotError
    from index.store import ArticleStore

    path = settings.data_dir / "tinbot.sqlite3"
    if not path.exists():
        raise TinbotError(f"no articles ingested in {settings.data_dir}; run `tinbot ingest` first")
    store = ArticleStore(path)
    try:
        facts = FactStore(store.conn)
        facts.refresh(store)
        found = facts.query(place=args.place, year=args.year, kind=args.kind)
        articles = {a.article_id: a for a in store.articles()}
    finally:
        store.close()
    if args.json:
        rows = [fact_to_json(f, getattr(articles.get(f.article_id), "origin", None)) for f in found]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not found:
        print("Không có số liệu nào khớp.")
        return 0
    print(format_facts(found, {k: a.title for k, a in articles.items()}))
    return 0


def add_facts_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("facts", help="list the figures extracted from the articles")
    p.add_argument("--place", help='a place, any part of its name ("Tuần Giáo", "tuan giao")')
    p.add_argument("--year", type=int, help="figures whose period covers this year")
    p.add_argument(
        "--kind",
        choices=sorted(KINDS),
        metavar="KIND",
        help="one kind: " + ", ".join(sorted(KINDS)),
    )
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=cmd_facts)
