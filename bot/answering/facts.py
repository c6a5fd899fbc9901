"""Answering with facts: comparisons, lists and totals computed from the fact table.

A comparison ("so sánh Tuần Giáo và Lai Châu"), a list ("địa phương nào vượt chỉ tiêu", "liệt kê
… từng bài viết") or a total ("… cộng lại") is computed from facts across articles, every figure
cited ``[n]`` to its own sentence; a total states its parts. Figures from different periods are
stated as such, not silently compared. Where an article's own figures contradict each other (a
share that does not match its parts), the answer says so. A single-figure question picks the fact
whose kind, place and period all match (``figures=True``; the service leaves those to the ranker).

``FactsAnswerer.answer`` returns ``None`` when the facts cannot answer, so the caller falls back to
the extractive answerer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.answering.fact_format import capitalised, describe, period_of, reading_order
from bot.answering.fact_question import (
    COMPARE_RE,
    FIGURE_CUE_RE,
    LIST_RE,
    PART_SPLIT_RE,
    STOCK_KINDS,
    SUPERLATIVE_RE,
    TOTAL_RE,
    Spec,
    clause_of,
    exact_match,
    folded_text,
    name_of,
    other_period,
    question_spec,
    score_fact,
    years_overlap,
)
from bot.answering.question import Query, analyse
from bot.types import Answer, Citation
from index.facts import FactStore
from index.store import ArticleStore
from ingest.facts import Fact
from ingest.numbers import format_number, format_percent
from ingest.vietnamese import fold

QuestionType = Literal["figure", "compare", "list", "total", "parts"]


def _without_qualifiers(places: list[str], question: str) -> list[str]:
    """The places a question asks about, without those it names only in parentheses after
    another: "huyện Sơn Động (Bắc Giang)" asks about Sơn Động; Bắc Giang says where it is."""
    inside = " ".join(re.findall(r"\(([^)]*)\)", question))
    if not inside or len(places) < 2:
        return places
    outside = folded_text(re.sub(r"\([^)]*\)", " ", question))
    inner = folded_text(inside)
    kept = [p for p in places if (name := f" {fold(name_of(p))} ") in outside or name not in inner]
    return kept or places


@dataclass
class _Composer:
    """Numbers sentences as they are first cited and collects the citations."""

    store: ArticleStore
    citations: list[Citation] = field(default_factory=list)
    figures: list[Fact] = field(default_factory=list)  # every fact the answer states
    _numbers: dict[tuple[str, int], int] = field(default_factory=dict)

    def cite(self, fact: Fact) -> int:
        if fact not in self.figures:
            self.figures.append(fact)
        key = (fact.article_id, fact.start)
        if key not in self._numbers:
            n = len(self._numbers) + 1
            self._numbers[key] = n
            article = self.store.get(fact.article_id)
            self.citations.append(
                Citation(
                    n,
                    fact.article_id,
                    article.title if article else "",
                    article.date if article else None,
                    article.origin if article else "",
                    fact.sentence,
                    fact.start,
                    fact.end,
                    article.extra.get("url") if article else None,
                    article.extra.get("publisher") if article else None,
                )
            )
        return self._numbers[key]

    def quotes(self) -> list[str]:
        return [f"“{c.quote}” [{c.n}]" for c in self.citations]


class FactsAnswerer:
    """Answers figure, comparison, list and total questions from the fact table."""

    def __init__(self, facts: FactStore, store: ArticleStore) -> None:
        self.facts = facts
        self.store = store
        self._names: dict[str, list[tuple[str, str]]] = {}
        self._longest = 0
        self._known = ""
        self._names_for: list[str] | None = None

    # --- the question -------------------------------------------------------------------------
    def _place_names(self) -> dict[str, list[tuple[str, str]]]:
        """Folded name → (folded level word, place) of every known place, computed once per
        list of places: per question, splitting thousands of names cost 45 ms at 100k."""
        places = self.facts.places()
        if self._names_for is not places:
            names: dict[str, list[tuple[str, str]]] = {}
            for p in places:
                own = name_of(p)
                level = fold(p[: len(p) - len(own)]).strip()
                names.setdefault(fold(own).strip(), []).append((level, p))
            self._names = names
            self._longest = max((len(n.split()) for n in names), default=0)
            self._known = f" {' | '.join(fold(p) for p in places)} "
            self._names_for = places
        return self._names

    def places_in(self, folded_question: str) -> list[str]:
        """Known places named in the question, in the order the question names them."""
        names = self._place_names()
        found: list[tuple[float, str]] = []
        seen: set[str] = set()
        words = [(m.start(), m.group()) for m in re.finditer(r"\S+", folded_question)]
        for i, (at, _) in enumerate(words):
            for size in range(1, self._longest + 1):
                if i + size > len(words):
                    break
                name = " ".join(w for _, w in words[i : i + size])
                if name in seen:
                    continue  # a name counts where the question first names it
                for level, place in names.get(name, ()):
                    # "thành phố Kon Tum" and "tỉnh Kon Tum": the level word the question uses
                    # decides.
                    before = folded_question[max(0, at - 1 - 12) : at - 1]
                    found.append((at - (0.5 if level and level in before else 0), place))
                if name in names:
                    seen.add(name)
        found.sort()
        chosen: list[str] = []
        for _, place in found:
            name = fold(name_of(place))
            if any(fold(name_of(p)) == name for p in chosen):
                continue
            chosen.append(place)
        return chosen

    def _unknown_entity(self, query: Query) -> bool:
        """A name in the question that no fact is about ("Hà Nội"): the facts cannot answer."""
        if not query.entities:
            return False
        self._place_names()  # folds the known places once per list of places
        return any(f" {entity} " not in self._known for entity in query.entities)

    @staticmethod
    def question_type(query: Query, folded: str, places: Sequence[str]) -> QuestionType | None:
        if TOTAL_RE.search(folded) and len(places) >= 2:
            return "total"
        if len(places) >= 2 and (COMPARE_RE.search(folded) or " va " in folded):
            return "compare"
        if LIST_RE.search(folded) and len(places) < 2:
            return "list"
        parts = [p for p in PART_SPLIT_RE.split(query.text) if FIGURE_CUE_RE.search(folded_text(p))]
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
        folded = folded_text(query.search_text)
        if self.facts.is_empty() or self._unknown_entity(query):
            return None
        places = _without_qualifiers(self.places_in(folded), query.text)
        qtype = self.question_type(query, folded, places)
        if qtype is None or (qtype == "figure" and not figures):
            return None
        spec = question_spec(query)
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
            figures=composer.figures,
        )

    def best(self, spec: Spec, place: str | None) -> Fact | None:
        scored = [
            (s, f)
            for f in self.facts.query(exact_place=place)
            if (place is None or self._same_place(f, place))
            and not other_period(f, spec)
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
        return [f"{describe(fact)} [{composer.cite(fact)}]"]

    def _parts(self, query: Query, places: Sequence[str], composer: _Composer) -> list[str]:
        """ "kết nạp bao nhiêu năm 2022 và đặt mục tiêu bao nhiêu cho năm 2023": each part is
        answered on its own, a part without a kind or place borrowing the first part's."""
        if not places:
            return []
        parts = [p for p in PART_SPLIT_RE.split(query.text) if FIGURE_CUE_RE.search(folded_text(p))]
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
            lines.append(f"- {describe(fact)} [{composer.cite(fact)}]")
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
        lines = [f"- {describe(f)} [{composer.cite(f)}]" for f in chosen]
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
                    f"{capitalised(more.place)} {word}: {more.figure} so với {less.figure} "
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
        for fact in reading_order(by_place.values()):
            lines.append(f"- {describe(fact)} [{composer.cite(fact)}]")
        superlative = SUPERLATIVE_RE.search(folded)
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
        for fact in reading_order(self.facts.query(kind="ty_le_dat_chi_tieu")):
            if spec.years and years_overlap(fact, spec.years) is False:
                continue
            n = composer.cite(fact)
            clause = clause_of(fact)
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
                over.append(
                    f"- {capitalised(fact.place)}: {by}{extra} ({period_of(fact)}) [{n}]{check}"
                )
            else:
                place = capitalised(fact.place)
                under.append(f"- {place}: đạt {fact.figure} chỉ tiêu ({period_of(fact)}) [{n}]")
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
            article_facts = self.facts.of_article(citation.article_id)
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
