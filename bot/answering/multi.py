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
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.answering.compose import Pick, pick_figures, same_people
from bot.answering.fact_question import folded_text
from bot.answering.question import Query, analyse, entity_spans, folded_question
from bot.types import Answer, Citation
from ingest.lexicon import (
    ANY_PERSON_NOUNS,
    COMPARE_CUES,
    LEVEL_WORDS,
    MEMBER_NOUNS,
    PERSON_NOUNS,
    TOTAL_CUES,
    YEAR_RE,
)
from ingest.numbers import format_number, parse_number
from ingest.vietnamese import fold

# Where a question joins its places: "A và B", "A với B", "A, còn B".
_JOIN_RE = re.compile(r",?\s+(?:và|với|so với|còn)\s+|,\s+còn\s+|;\s+", re.IGNORECASE)
_LEAD_RE = re.compile(r"^\s*(?:so sánh|cộng (?:cả|lại)|cộng|tính tổng)\s*,?\s*", re.IGNORECASE)
_MORE_RE = re.compile(r"\b(?:nhiều|ít|cao|thấp|lớn|nhỏ)\s+(?P<noun>(?:\w+\s+){0,3}?)hơn\b", re.I)
_MEASURE_RE = re.compile(r"\b(?:bao nhiêu|mấy|tỷ lệ|tỉ lệ|số)\b", re.IGNORECASE)
_ASKS_FIGURE_RE = re.compile(r"\b(?:bao nhiêu|mấy|tỷ lệ|tỉ lệ)\b", re.IGNORECASE)
_CLAUSE_CUE_RE = re.compile(
    r"(?:,\s*|\?\s*|\s+)(?:nơi nào|bên nào|địa phương nào|đơn vị nào|tổng cộng|thì|cộng lại)\b.*$",
    re.IGNORECASE,
)
_LEVEL_TAIL_RE = re.compile(
    r"(?:\b(?:"
    + "|".join(re.escape(w) for w in LEVEL_WORDS)
    + r"|đảng bộ|đảng ủy|ở|của|tại)\s*)+$",
    re.IGNORECASE,
)


# The level words a place's name may start with (villages included), folded, longest first.
_NAME_LEVELS_FOLDED = sorted({fold(w) for w in LEVEL_WORDS}, key=len, reverse=True)


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
    if any(c in folded for c in COMPARE_CUES):
        return "compare"
    return None


def _measure(tail: str) -> str:
    """ "nơi nào kết nạp được nhiều đảng viên hơn?" → "kết nạp được bao nhiêu đảng viên"."""
    tail = re.sub(r"^[\s,?]*(?:nơi nào|bên nào|địa phương nào|đơn vị nào)\s*", "", tail, flags=re.I)
    tail = re.sub(r"^\s*(?:tổng cộng|cộng lại|thì)\s*(?:là|được)?\s*", "", tail, flags=re.I)
    more = _MORE_RE.search(tail)
    if more:
        noun = more.group("noun").strip()
        tail = tail[: more.start()] + f"bao nhiêu {noun}".strip() + tail[more.end() :]
    tail = tail.strip(" ?.,")
    return tail if _MEASURE_RE.search(tail) else f"{tail} là bao nhiêu".strip()


def split_parts(query: Query) -> list[Part]:
    """One sub-question per place, each with the measure the question asks of all."""
    text = _LEAD_RE.sub("", query.text.strip())
    tail_match = _CLAUSE_CUE_RE.search(text)
    tail = ""
    if tail_match:
        tail = text[tail_match.start() :]
        text = text[: tail_match.start()]
    spans = entity_spans(text)
    joins = [m for m in _JOIN_RE.finditer(text) if not _inside_parens(text, m.start())]
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
    prefix = _LEVEL_TAIL_RE.sub("", text[:first_place]).strip()
    if prefix and (
        (_MEASURE_RE.search(prefix) and not _MEASURE_RE.search(right))
        or (YEAR_RE.search(prefix) and not YEAR_RE.search(right))
    ):
        # "số đảng viên mới … ở huyện A và ở thành phố B", "Năm 2023, huyện A và huyện B …":
        # B is asked the same measure, of the same year.
        right = f"{prefix} {right}"
    parts = [left, right]
    measure = _measure(tail) if tail else ""
    if not measure:
        # "huyện A và huyện B kết nạp được bao nhiêu đảng viên?": the measure follows the last
        # place; the first part borrows it.
        last = max((e for s, e in entity_spans(right)), default=0)
        after = right[last:]
        after = after[after.find(")") + 1 :] if ")" in after else after
        if _MEASURE_RE.search(after):
            measure = after.strip(" ,?")
            right = right[: len(right) - len(after)].strip(" ,")
            parts = [left, right]
    questions = []
    for part in parts:
        part = part.strip(" .?")
        if measure and not _ASKS_FIGURE_RE.search(part):
            part = f"{part} {measure}"
        if not _ASKS_FIGURE_RE.search(part):
            part = f"{part} là bao nhiêu"
        questions.append(Part(question=part + "?", label=_label(part)))
    return questions


def _inside_parens(text: str, pos: int) -> bool:
    return text.count("(", 0, pos) > text.count(")", 0, pos)


def _label(part: str) -> str:
    """How the part names its place: the first name after a level word ("huyện Thống Nhất"),
    else its longest name."""
    spans = entity_spans(part)
    if not spans:
        return part
    levels = sorted(LEVEL_WORDS, key=len, reverse=True)
    for start, end in spans:
        before = part[:start].rstrip().lower()
        level = next((lv for lv in levels if before.endswith(lv.lower())), None)
        if level is not None:
            return part[len(before) - len(level) : end].strip()
    start, end = max(spans, key=lambda span: span[1] - span[0])
    return part[start:end]


def _place_name(place: str) -> str:
    """ "Huyện Thới Lai" → "thoi lai": a place's name without its level, folded."""
    folded = fold(place).strip()
    for level in _NAME_LEVELS_FOLDED:
        if folded.startswith(level + " "):
            return folded[len(level) + 1 :].strip()
    return folded


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
        asked = _place_name(part.label)
        other = (
            place
            if place
            and _place_name(place) != asked
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
