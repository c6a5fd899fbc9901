"""What a sentence holds, read off its text: figures (parsed once per sentence), dates, years,
people's names, document numbers, stock or flow figures, headings and captions. The answer
ranker's features and the composer read these; nothing here depends on a question except the
counted-noun match."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.answering.question import Query
from index.lexical import STOPWORDS
from ingest.lexicon import (
    DOCUMENT_DATED_RE,
    DOCUMENT_RE,
    PERSON_CUES,
    PLACE_CUES,
    SINCE_RE,
    SURNAMES,
    YEAR_RE,
    YEAR_SPAN_RE,
)
from ingest.numbers import Number, find_numbers
from ingest.vietnamese import fold, key

CHECKABLE = frozenset({"count", "share", "date", "year", "person", "document"})
_DATE_RE = re.compile(
    r"\b\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*\d{2,4})?\b|\bngày\s+\d{1,2}\b|\btháng\s+\d{1,2}\b",
    re.IGNORECASE,
)
# A word may hold an apostrophe: the names of the Central Highlands ("H’Tư", "K’Lăng").
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*(?:/[^\W_]+)?|[^\w\s]")
DATED_LEAD_RE = re.compile(
    r"^\W*(?:(?:sáng|chiều|tối|trưa|đêm)\s+)?(?:(?:ngày|hôm)\s+)?\d{1,2}\s*[/.-]\s*\d{1,2}\b", re.I
)
CAPTION_RE = re.compile(r"^\s*\(?(?:ảnh|anh|photo)\s*[:.)]", re.IGNORECASE)


@lru_cache(maxsize=8192)
def sentence_facts(text: str) -> tuple[bool, bool, bool, bool, bool, bool, int, tuple[str, ...]]:
    """(count, share, date, year, person, document, figures, folded units) found in a text."""
    numbers = numbers_in(text)
    counts = [n for n in numbers if n.measure != "percent"]
    shares = [n for n in numbers if n.measure == "percent"]
    units = tuple(fold(n.unit) for n in counts if n.unit)
    return (
        bool(counts),
        bool(shares),
        bool(_DATE_RE.search(text)),
        bool(YEAR_RE.search(text)),
        has_person(text),
        bool(DOCUMENT_RE.search(text)),
        len(numbers),
        units,
    )


def capital_runs(text: str) -> list[tuple[str, list[re.Match[str]]]]:
    """Runs of capitalised words, each with the lower-case word (or two) before it."""
    tokens = list(_TOKEN_RE.finditer(text))
    runs: list[tuple[str, list[re.Match[str]]]] = []
    run: list[re.Match[str]] = []
    for i, token in enumerate([*tokens, None]):
        if token is not None and token.group()[:1].isupper() and token.group()[:1].isalpha():
            run.append(token)
            continue
        if run:
            first = i - len(run)
            before = [key(t.group()) for t in tokens[max(0, first - 2) : first]]
            runs.append(("_".join(before), run))
            run = []
    return runs


_APOSTROPHE_RE = re.compile(r"\w['’]\w")
_SURNAME_KEYS = frozenset(key(s) for s in SURNAMES)
_SURNAMES_FOLDED = frozenset(fold(s) for s in SURNAMES)


def _surname(word: str) -> bool:
    """``word`` (a ``key``) is a family name: with diacritics when it has any, so "Đảng" is
    not "Đặng"; a word typed without them matches any family name it could be."""
    folded = fold(word)
    return word in _SURNAME_KEYS if folded != word else folded in _SURNAMES_FOLDED


def person_names(text: str) -> list[tuple[int, int]]:
    """Spans of capitalised runs of two to five syllables that read as a person's name: after
    (or starting with) "đồng chí", "ông", "chị" …, or starting with a common family name where
    no place word comes before it. A title word at the run's start is not part of the name."""
    found: list[tuple[int, int]] = []
    for before, run in capital_runs(text):
        words = [key(t.group()) for t in run]
        cue = before.rsplit("_", 1)[-1] if before else ""
        start = 0
        while start < len(words) - 1 and (
            words[start] in PERSON_CUES or "_".join(words[start : start + 2]) in PERSON_CUES
        ):
            start += 2 if "_".join(words[start : start + 2]) in PERSON_CUES else 1
        name = run[start : start + 5]
        named = start > 0 or cue in PERSON_CUES or before in PERSON_CUES
        if len(name) < 2 and not (named and name and _APOSTROPHE_RE.search(name[0].group())):
            continue  # one capitalised word is a name only as "chị H’Tư"
        if named or (_surname(words[start]) and fold(cue) not in PLACE_CUES):
            found.append((name[0].start(), name[-1].end()))
    return found


def has_person(text: str) -> bool:
    return bool(person_names(text))


def years_in(text: str, date: str | None = None) -> set[str]:
    """Years a text names or covers: "2016-2020" covers each year between, "từ năm 2017 đến nay"
    every year up to the publication date. The date a cited document was issued is no period."""
    if DOCUMENT_DATED_RE.search(text):
        text = DOCUMENT_DATED_RE.sub(" ", text)
    named = list(YEAR_RE.finditer(text))
    years = {m.group() for m in named}
    for a, b in YEAR_SPAN_RE.findall(text):
        if int(a) < int(b) <= int(a) + 20:
            years.update(str(y) for y in range(int(a), int(b) + 1))
    if date:
        # "từ (đầu) năm 2017 … nay" spans a few words around its year: read folded there only,
        # not a whole article folded for it.
        for m in named:
            window = fold(text[max(0, m.start() - 32) : m.end() + 32])
            for a in SINCE_RE.findall(window):
                if int(a) <= int(date[:4]) <= int(a) + 20:
                    years.update(str(y) for y in range(int(a), int(date[:4]) + 1))
    return years


FIGURE_WINDOW = 50  # characters either side of a figure that belong to it


@lru_cache(maxsize=8192)
def numbers_in(text: str) -> tuple[Number, ...]:
    return tuple(find_numbers(text))


_STOCK_BEFORE_RE = re.compile(
    r"\b(?:tong cong|tong so|hien co|co|voi|gom|len|nang len)\s*(?:(?:khoang|gan|tren|hon)\s*)?$"
)
_FLOW_RE = re.compile(r"\b(?:ket nap|phat trien|phan dau|chi tieu|muc tieu|them)\b")


@lru_cache(maxsize=8192)
def stock_or_flow(text: str) -> tuple[bool, bool]:
    """Whether a figure of the text is a stock ("có 5.279 đảng viên", "tổng cộng …") and
    whether the text speaks of admissions or plans (a flow)."""
    folded = fold(text)
    stock = any(
        _STOCK_BEFORE_RE.search(fold(text[max(0, n.start - 24) : n.start]))
        for n in numbers_in(text)
        if n.measure != "percent"
    )
    return stock, bool(_FLOW_RE.search(folded))


def head_match_of(head: str, text: str, query: Query) -> float:
    """Share of the counted noun's syllables found right after one of the text's figures
    (those admitted are also counted as "quần chúng (ưu tú)")."""
    wanted = head.split()
    best = 0.0
    admitted = " ket nap " in f" {fold(query.search_text)} " or "kết nạp" in query.search_text
    for n in numbers_in(text):
        if n.measure == "percent":
            continue
        after = fold(text[n.end : n.end + 40]).split()[: len(wanted) + 2]
        if admitted and wanted[:2] == ["dang", "vien"] and after[:2] == ["quan", "chung"]:
            return 1.0
        found = sum(1 for w in wanted if w in after) / len(wanted)
        best = max(best, found if after[:1] == wanted[:1] else found / 2)
    return best


def novelty_of(sentence_terms: frozenset[str], question: dict[str, float]) -> float:
    words = [t for t in sentence_terms if "_" not in t and t not in STOPWORDS and not t.isdigit()]
    if not words:
        return 0.0
    return sum(1 for t in words if t not in question) / len(words)


def is_heading(text: str) -> bool:
    return len(text) < 160 and not text.rstrip().endswith(
        (".", "!", "?", "…", ";", ":", '"', "”", ")")
    )


def kinds_held(text: str) -> set[str]:
    """The checkable kinds of answer a text holds."""
    count, share, date, year, person, document, _, _ = sentence_facts(text)
    held = {"count": count, "share": share, "date": date, "year": year, "person": person,
            "document": document}  # fmt: skip
    return {k for k, v in held.items() if v}
