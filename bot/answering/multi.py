"""Questions about several places at once: a comparison ("nơi nào nhiều hơn") or a total ("cộng
lại"). The question is split into one sub-question per place, each answered on its own by the
extractive answerer (so each figure is found the way any single figure is), then compared or
added, every figure cited to its own sentence.

"Huyện Sơn Động năm 2017 và Khối các cơ quan tỉnh Hải Dương năm 2022, nơi nào kết nạp được nhiều
đảng viên hơn?" → "Huyện Sơn Động năm 2017 kết nạp được bao nhiêu đảng viên?" and "Khối các cơ
quan tỉnh Hải Dương năm 2022 kết nạp được bao nhiêu đảng viên?".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.answering.compose import Pick, pick_figures, same_people
from bot.answering.fact_question import NAME_LEVELS_FOLDED, folded_name, folded_text
from bot.answering.question import (
    Query,
    analyse,
    entity_spans,
    folded_question,
    typed_places,
)
from bot.types import Answer, Citation
from ingest.lexicon import (
    ANY_PERSON_NOUNS,
    CLOSING_WORDS,
    COMPARATIVES,
    COMPARE_CUES,
    FIGURE_WORDS,
    LEVEL_WORDS,
    LOCATIVES,
    MEASURE_WORDS,
    MEMBER_NOUNS,
    MULTI_LEADS,
    PARTY_UNITS,
    PERSON_NOUNS,
    PLACE_JOINS,
    TOTAL_CUES,
    WHICH_PLACE,
    YEAR_RE,
    alternation,
)
from ingest.numbers import format_number, parse_number
from ingest.vietnamese import fold, is_accented


def _alternatives(phrases: Sequence[str], form: Callable[[str], str]) -> str:
    return alternation(form(p) for p in phrases)


@dataclass(frozen=True)
class _Wording:
    """How a comparison or a total is worded, as patterns over the question as typed: one set
    for a question with accents, one for the folded forms people type without them."""

    join: re.Pattern[str]  # "A và B", "A, còn B", "A; B"
    lead: re.Pattern[str]  # "So sánh …", "Cộng lại, …"
    more: re.Pattern[str]  # "nhiều đảng viên hơn"
    measure: re.Pattern[str]
    asks_figure: re.Pattern[str]
    closing: re.Pattern[str]  # "…, nơi nào …", "… thì …": the clause asking of all places
    which: re.Pattern[str]
    closing_word: re.Pattern[str]
    level_tail: re.Pattern[str]  # level words and locatives just before the first place
    how_many: str  # "bao nhiêu" as this question would write it
    is_word: str  # "là"

    @classmethod
    def of(cls, form: Callable[[str], str]) -> _Wording:
        joins = _alternatives([j for j in PLACE_JOINS if form(j) != "con"], form)
        # Folded, "còn" is "con" (a child, "con em"): a join only after a comma.
        join = rf",?\s+(?:{joins})\s+|,\s+{re.escape(form('còn'))}\s+|;\s+"
        closing_words = _alternatives(CLOSING_WORDS, form)
        if form("thì") == "thi":
            # Folded, "thì" is also the "thị" of "thị xã", "thị trấn", "thị ủy".
            closing_words = closing_words.replace(r"thi", r"thi(?!\s+(?:xa|tran|uy)\b)")
        which = _alternatives(WHICH_PLACE, form)
        units = (*LEVEL_WORDS, *PARTY_UNITS, *LOCATIVES)
        return cls(
            join=re.compile(join, re.IGNORECASE),
            lead=re.compile(rf"^\s*(?:{_alternatives(MULTI_LEADS, form)})\s*,?\s*", re.I),
            more=re.compile(
                rf"\b(?:{_alternatives(COMPARATIVES, form)})\s+(?P<noun>(?:\w+\s+){{0,3}}?)"
                rf"{re.escape(form('hơn'))}\b",
                re.IGNORECASE,
            ),
            measure=re.compile(rf"\b(?:{_alternatives(MEASURE_WORDS, form)})\b", re.I),
            asks_figure=re.compile(rf"\b(?:{_alternatives(FIGURE_WORDS, form)})\b", re.I),
            closing=re.compile(rf"(?:,\s*|\?\s*|\s+)(?:{which}|{closing_words})\b.*$", re.I),
            which=re.compile(rf"^[\s,?]*(?:{which})\s*", re.IGNORECASE),
            closing_word=re.compile(
                rf"^\s*(?:{closing_words})\s*(?:{form('là')}|{form('được')})?\s*", re.I
            ),
            level_tail=re.compile(rf"(?:\b(?:{_alternatives(units, form)})\s*)+$", re.I),
            how_many=form("bao nhiêu"),
            is_word=form("là"),
        )


_ACCENTED = _Wording.of(lambda word: word)
_FOLDED = _Wording.of(fold)


def _wording(text: str) -> _Wording:
    return _ACCENTED if is_accented(text) else _FOLDED


def place_spans(text: str) -> list[tuple[int, int]]:
    """Where the question names places: capitalised names, and for a question typed in lower
    case without accents the names after its level words ("huyen tuan giao")."""
    spans = entity_spans(text)
    if is_accented(text):
        return spans
    lowered = text.lower()
    for name, level in typed_places(folded_question(text)):
        for match in re.finditer(rf"\b{re.escape(level)}\s+({re.escape(name)})\b", lowered):
            span = match.span(1)
            if not any(s < span[1] and span[0] < e for s, e in spans):
                spans.append(span)
    return sorted(spans)


@dataclass(frozen=True)
class Part:
    question: str  # the sub-question asked of the extractive answerer
    label: str  # how the question names the place


def is_multi(query: Query) -> str | None:
    """ "compare" or "total" when the question asks that of several places."""
    folded = folded_question(query.text)
    if len(query.entities) < 2:
        return None
    if any(c in folded for c in TOTAL_CUES):
        return "total"
    if any(c in folded for c in COMPARE_CUES) or _wording(query.text).more.search(query.text):
        return "compare"
    return None


def _measure(tail: str, wording: _Wording) -> str:
    """ "nơi nào kết nạp được nhiều đảng viên hơn?" → "kết nạp được bao nhiêu đảng viên"."""
    tail = wording.which.sub("", tail)
    tail = wording.closing_word.sub("", tail)
    more = wording.more.search(tail)
    if more:
        noun = more.group("noun").strip()
        tail = tail[: more.start()] + f"{wording.how_many} {noun}".strip() + tail[more.end() :]
    tail = tail.strip(" ?.,")
    if wording.measure.search(tail):
        return tail
    return f"{tail} {wording.is_word} {wording.how_many}".strip()


def split_parts(query: Query) -> list[Part]:
    """One sub-question per place, each with the measure the question asks of all."""
    wording = _wording(query.text)
    text = wording.lead.sub("", query.text.strip())
    tail_match = wording.closing.search(text)
    tail = ""
    if tail_match:
        tail = text[tail_match.start() :]
        text = text[: tail_match.start()]
    spans = place_spans(text)
    joins = [m for m in wording.join.finditer(text) if not _inside_parens(text, m.start())]
    split = next(
        (
            m
            for m in joins
            if any(e <= m.start() for _, e in spans) and any(s >= m.end() for s, _ in spans)
        ),
        None,
    )
    if split is None:
        return []
    left, right = text[: split.start()].strip(" ,"), text[split.end() :].strip(" ,?")
    first_place = next((s for s, _ in spans), 0)
    prefix = wording.level_tail.sub("", text[:first_place]).strip()
    if prefix and (
        (wording.measure.search(prefix) and not wording.measure.search(right))
        or (YEAR_RE.search(prefix) and not YEAR_RE.search(right))
    ):
        # "số đảng viên mới … ở huyện A và ở thành phố B", "Năm 2023, huyện A và huyện B …":
        # B is asked the same measure, of the same year.
        right = f"{prefix} {right}"
    parts = [left, right]
    measure = _measure(tail, wording) if tail else ""
    if not measure:
        # "huyện A và huyện B kết nạp được bao nhiêu đảng viên?": the measure follows the last
        # place; the first part borrows it.
        last = max((e for s, e in place_spans(right)), default=0)
        after = right[last:]
        after = after[after.find(")") + 1 :] if ")" in after else after
        if wording.measure.search(after) or wording.more.search(after):
            # "… hay huyện B kết nạp được nhiều đảng viên hơn?" asks B "bao nhiêu đảng viên".
            measure = _measure(after, wording)
            right = right[: len(right) - len(after)].strip(" ,")
            parts = [left, right]
    questions = []
    for part in parts:
        part = part.strip(" .?")
        if measure and not wording.asks_figure.search(part):
            part = f"{part} {measure}"
        if not wording.asks_figure.search(part):
            part = f"{part} {wording.is_word} {wording.how_many}"
        questions.append(Part(question=part + "?", label=_label(part)))
    return questions


def _inside_parens(text: str, pos: int) -> bool:
    return text.count("(", 0, pos) > text.count(")", 0, pos)


def _label(part: str) -> str:
    """How the part names its place: the first name after a level word ("huyện Thống Nhất"),
    else its longest name."""
    spans = place_spans(part)
    if not spans:
        return part
    for start, end in spans:
        # Folding keeps each letter in place, so a folded level word's length is the written one's.
        before = fold(part[:start].rstrip())
        level = next(
            (lv for lv in NAME_LEVELS_FOLDED if before.endswith(f" {lv}") or before == lv), None
        )
        if level is not None:
            return part[len(before) - len(level) : end].strip()
    start, end = max(spans, key=lambda span: span[1] - span[0])
    return part[start:end]


def _unit(pick: Pick) -> str:
    """What a figure counts, as written: "203 công nhân" → "công nhân"; "" for a bare figure."""
    return "%" if pick.kind == "share" else (pick.unit or "").lower()


def counted_alike(units: set[str], head: str | None) -> bool:
    """Whether figures of these counting nouns (written, "" for none) may be added or compared
    when the question counts ``head`` (folded). "313 đảng viên" and "203 công nhân" may not: the
    workers are a part of the new members. Asked how many pupils ("em"), "3 quần chúng ưu tú"
    admitted may be they; asked how many people ("người", "học viên"), anyone counts."""
    folded = {fold(u) for u in units} - {""}
    if len(folded) <= 1:
        return True
    if not folded <= PERSON_NOUNS:
        return False
    if head is None or head in ANY_PERSON_NOUNS or head not in PERSON_NOUNS:
        return True

    def fits(unit: str) -> bool:
        return same_people(unit, head) or (unit in MEMBER_NOUNS and head not in MEMBER_NOUNS)

    return all(fits(unit) for unit in folded - ANY_PERSON_NOUNS)


def answer_multi(
    query: Query,
    kind: str,
    answer_one: Callable[[Query], Answer],
    fact_scores: Callable[[Query, Citation], list[tuple[int, float]]] | None = None,
    place_at: Callable[[Citation, int], str | None] | None = None,
) -> Answer | None:
    """Compare or add the figure each part's own answer gives; None when a part has none.

    ``place_at``: the place the fact table knows for the figure at an offset of a citation's
    quote. A figure it knows to be another place's, in a quote that does not name the asked
    place (a city's total in a report that lists the asked district further down), is shown as
    that place's, and nothing is added or compared: "huyện A: 1.614" would state what no
    article says."""
    parts = split_parts(query)
    if len(parts) < 2:
        return None
    found: list[tuple[Part, Pick, Citation, str | None]] = []
    # What is counted: "nhiều đảng viên hơn" names it as its parts' "bao nhiêu đảng viên" do.
    head = query.head
    for part in parts:
        sub_query = analyse(part.question)
        head = head or sub_query.head
        sub = answer_one(sub_query)
        if sub.refused or not sub.citations:
            return None
        # The figure the part's own answer states in its direct line, else its best quote's.
        cited = sub.citations[(sub.lead or 1) - 1]
        scores = fact_scores(sub_query, cited) if fact_scores else []
        picks = pick_figures(sub_query, cited.quote, scores)
        if not picks:
            return None
        place = place_at(cited, picks[0].start) if place_at else None
        asked = folded_name(part.label)
        other = (
            place
            if place
            and folded_name(place) != asked
            # The table may give a figure the wider place of its sentence ("Đảng bộ xã Cư Đrăm
            # (huyện Krông Bông, tỉnh Đắk Lắk) hiện có 210 đảng viên"): a quote that names the
            # asked place is taken at its word.
            and f" {asked} " not in folded_text(cited.quote)
            else None
        )
        found.append((part, picks[0], cited, other))
    english = query.language != "vi"
    citations: list[Citation] = []
    lines: list[str] = []
    values: list[float] = []
    for part, pick, cited, other in found:
        n = len(citations) + 1
        citations.append(replace(cited, n=n))
        number = parse_number(pick.text)
        values.append(number.value if number else float("nan"))
        if other is None:
            lines.append(f"- {part.label}: {pick.text} [{n}]")
        elif english:
            lines.append(
                f"- {part.label}: no figure of its own found; the quote gives {pick.text} "
                f"for {other} [{n}]"
            )
        else:
            lines.append(
                f"- {part.label}: không tìm thấy số riêng; câu trích nêu {pick.text} "
                f"của {other} [{n}]"
            )
    units = {_unit(pick) for _, pick, *_ in found}
    if any(other for *_, other in found):
        lines.append(
            "Not added up or compared: a figure found is another place's."
            if english
            else "Không cộng hay so sánh: có số tìm được là của nơi khác."
        )
    elif not counted_alike(units, head):
        counted = ", ".join(sorted(units - {""}))
        lines.append(
            f"Not added up or compared: the figures found count different things ({counted})."
            if english
            else f"Không cộng hay so sánh: các số tìm được đếm những thứ khác nhau ({counted})."
        )
    elif kind == "total" and all(v == v for v in values):
        total = sum(values)
        lines.append(
            f"Cộng lại: {' + '.join(format_number(v) for v in values)} = {format_number(total)}."
        )
    elif kind == "compare" and len(values) == 2 and values[0] != values[1]:
        winner = 0 if values[0] > values[1] else 1
        loser = 1 - winner
        word = "cao hơn" if "%" in found[winner][1].text else "nhiều hơn"
        lines.append(
            f"{found[winner][0].label} {word}: {found[winner][1].text} so với "
            f"{found[loser][1].text}."
        )
    quotes = [f"“{c.quote}” [{c.n}]" for c in citations]
    lead = "From the articles:" if english else "Theo các bài viết đã nạp:"
    return Answer(
        question=query.text,
        text="\n".join([lead, *lines, *quotes]),
        refused=False,
        citations=citations,
        language=query.language,
        answerer=f"extractive:{kind}",
    )
