"""What a question asks for: its language, whether it wants a figure, its named places, its years,
and (for English) the Vietnamese words to search with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.vietnamese import fold, is_accented, key, words

# English terms → Vietnamese, so an English question can match Vietnamese text lexically.
# Longest phrases first; keys are lower-case English.
GLOSSARY: dict[str, str] = {
    "new party members": "đảng viên mới",
    "party members": "đảng viên",
    "party member": "đảng viên",
    "party cells": "chi bộ",
    "party cell": "chi bộ",
    "party committee": "đảng ủy",
    "party organisations": "tổ chức đảng",
    "party organizations": "tổ chức đảng",
    "ethnic minorities": "dân tộc thiểu số",
    "ethnic minority": "dân tộc thiểu số",
    "youth union": "đoàn viên thanh niên",
    "outstanding": "quần chúng ưu tú",
    "religious": "có đạo",
    "religion": "có đạo",
    "admitted": "kết nạp",
    "admit": "kết nạp",
    "admission": "kết nạp",
    "recruited": "kết nạp",
    "recruit": "kết nạp",
    "district": "huyện",
    "province": "tỉnh",
    "provincial": "tỉnh",
    "city": "thành phố",
    "ward": "phường",
    "commune": "xã",
    "villages": "thôn bản",
    "village": "thôn bản",
    "women": "nữ",
    "female": "nữ",
    "target": "chỉ tiêu",
    "quota": "chỉ tiêu",
    "percentage": "tỷ lệ",
    "percent": "tỷ lệ",
    "share": "tỷ lệ",
    "rate": "tỷ lệ",
    "total": "tổng số",
    "secretary": "bí thư",
    "classes": "lớp bồi dưỡng",
    "training": "bồi dưỡng",
    "difficulties": "khó khăn",
    "limitations": "hạn chế",
    "year": "năm",
}

_EN_MARKERS = frozenset(
    "how many much what which who when where why does did do is are was were the of in and "
    "party members".split()
)
# Folded phrases that mark a question asking for a number.
_FIGURE_MARKERS = (
    "bao nhieu",
    "ty le",
    "ti le",
    "phan tram",
    "may ",
    "so luong",
    "tong so",
    "how many",
    "how much",
    "what percentage",
    "what share",
    "percent",
)
_PERCENT_MARKERS = ("ty le", "ti le", "phan tram", "percent", "percentage", "share", "rate", "%")
YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")
# Capitalised words that start a Vietnamese question or are generic titles, not places/names.
_NOT_ENTITIES = frozenset(
    fold(w)
    for w in """
    Ai Bao Nhiêu Có Các Những Tỷ Tỉ Năm Trong Từ Đến Theo Số Mỗi Tính Sau Khi Ở Tại Liệt Kê So
    Sánh Bài Viết Nơi Nào Là Gì Đảng Đảng bộ Đảng ủy Huyện Huyện ủy Thành Thành ủy Thành phố Tỉnh
    Tỉnh ủy Ban Thường vụ Nghị quyết Đại hội Khối Chi bộ Phường Xã TP How What Which Who When Where
    Why Did Does Do Is Are In The Of Party District City Province Ward Bí thư Bí Thư Trưởng Phó
    Ủy Hội Nghị Quyết Đại Giá Hôm Nay Còn Thì Sao Vậy Hiện Tổng
    """.split()
)


@dataclass(frozen=True)
class Query:
    text: str
    language: Literal["vi", "en"]
    accented: bool
    wants_figure: bool
    wants_percent: bool
    wants_total: bool  # "có bao nhiêu đảng viên": a stock, not how many were admitted
    head: str | None  # folded noun after "bao nhiêu"/"how many": what is being counted
    asks_target: bool  # about a plan or quota ("chỉ tiêu", "mục tiêu"), not only results
    focus: str | None  # folded noun asked about: "gặp khó khăn gì" → "kho khan"
    years: tuple[str, ...]
    entities: tuple[str, ...]  # folded names of places/people the answer must be about
    search_text: str  # what retrieval receives (English questions get Vietnamese terms added)


def detect_language(question: str) -> Literal["vi", "en"]:
    if is_accented(question):
        return "vi"
    tokens = [w.lower() for w in words(question)]
    english = sum(1 for t in tokens if t in _EN_MARKERS)
    return "en" if english >= 2 else "vi"


def _entities(question: str) -> tuple[str, ...]:
    """Runs of capitalised syllables ("Hà Nội", "Tuần Giáo", "Nui Thanh") minus generic words."""
    found: list[str] = []
    run: list[str] = []
    tokens = words(question)
    for i, token in enumerate(tokens + [""]):
        capital = token[:1].isupper() and not token.isdigit()
        # A generic word cannot start a name but may continue one ("Núi Thành").
        # The first word is capitalised anyway; it starts a name only when the next word is
        # capitalised too ("Tuần Giáo kết nạp …", not "Bình quân …").
        first_alone = i == 0 and not tokens[1:2] or (i == 0 and not tokens[1][:1].isupper())
        generic = not run and (fold(token) in _NOT_ENTITIES or first_alone)
        if capital and not generic:
            run.append(token)
            continue
        if run:
            found.append(fold(" ".join(run)))
            run = []
    return tuple(dict.fromkeys(found))


_HEAD_RE = re.compile(r"\b(?:bao nhieu|how many|may)\s+((?:[a-z]+\s?){1,2})")
_HEAD_STOP = frozenset("nguoi la co duoc thi vao cua trong o the did do does".split())


def _head(folded_question: str) -> str | None:
    """The counted noun: "kết nạp bao nhiêu đảng viên" → "dang vien"; "mấy lớp" → "lop"."""
    match = _HEAD_RE.search(folded_question)
    if not match:
        return None
    syllables = match.group(1).split()
    if syllables[:2] == ["phan", "tram"]:
        return "%"
    while syllables and syllables[-1] in _HEAD_STOP:
        syllables.pop()
    if not syllables or syllables[0] in _HEAD_STOP:
        return None
    return " ".join(syllables)


_FOCUS_RE = re.compile(r"\b([a-z]+ [a-z]+) (?:gi|nao)\b")
_FOCUS_LEAD_RE = re.compile(r"^\s*(?:nhung|cac)\s+([a-z]+ [a-z]+)\b")
_FOCUS_STOP = frozenset("la the nhu ra lam co duoc bang vao cua voi cho".split())


def _focus(folded_question: str) -> str | None:
    """What a "what/which" question asks about: "gặp khó khăn gì" → "kho khan", "Những hạn chế
    … là gì" → "han che", "giải pháp nào" → "giai phap"."""
    for match in _FOCUS_RE.finditer(folded_question):
        pair = match.group(1).split()
        if pair[-1] not in _FOCUS_STOP and pair[0] not in _FOCUS_STOP:
            return " ".join(pair)
    lead = _FOCUS_LEAD_RE.search(folded_question)
    if lead and not set(lead.group(1).split()) & _FOCUS_STOP:
        return lead.group(1)
    return None


def boundary_pairs(text: str) -> set[str]:
    """Adjacent-syllable pairs that straddle a name's edge ("Lai Châu gặp" → "châu_gặp"): an
    artefact of the question's wording that no article is expected to contain. The first word
    is capitalised only because it starts the sentence, so it marks no edge."""
    tokens = words(text)
    pairs: set[str] = set()
    for i in range(1, len(tokens) - 1):
        a, b = tokens[i], tokens[i + 1]
        if a[:1].isupper() != b[:1].isupper() and not (a.isdigit() or b.isdigit()):
            for left, right in ((key(a), key(b)), (fold(a), fold(b))):
                pairs.add(f"{left}_{right}")
    return pairs


def analyse(question: str) -> Query:
    language = detect_language(question)
    folded = " " + " ".join(fold(w) for w in words(question)) + " "
    search_text = question
    if language == "en":
        # Replace English terms by their Vietnamese, keeping names and numbers as typed.
        for en, vi in GLOSSARY.items():
            search_text = re.sub(rf"\b{re.escape(en)}\b", vi, search_text, flags=re.IGNORECASE)
    return Query(
        text=question,
        language=language,
        accented=is_accented(question),
        wants_figure=any(f" {m}" in folded for m in _FIGURE_MARKERS) or "%" in question,
        wants_percent=any(m in folded for m in _PERCENT_MARKERS),
        wants_total=(
            " co bao nhieu " in folded
            or " tong " in folded
            or " total " in folded
            or bool(re.search(r" how many .* (?:have|has|are there) ", folded))
        )
        and not any(v in folded for v in (" ket nap ", " admit", " phat trien ")),
        head=_head(fold(search_text)),
        asks_target=any(
            f" {m} " in folded
            for m in ("chi tieu", "muc tieu", "ke hoach", "phan dau", "target", "goal", "quota")
        ),
        focus=None if language == "en" else _focus(folded.strip()),
        years=tuple(dict.fromkeys(YEAR_RE.findall(question))),
        entities=_entities(question),
        search_text=search_text,
    )
