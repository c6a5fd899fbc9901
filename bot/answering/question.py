"""What a question asks for: its language, whether it wants a figure, its named places, its years,
and (for English) the Vietnamese words to search with."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from index.lexical import STOPWORDS
from ingest.lexicon import (
    ANSWER_TYPE_CUES,
    ANY_PERSON_NOUNS,
    COUNTED_NOUN_ENDS,
    DOCUMENT_RE,
    ENGLISH_MARKERS,
    FIGURE_MARKERS,
    FOCUS_STOP,
    GLOSSARY,
    HIGHER_EDUCATION,
    LEVEL_WORDS,
    NOT_COUNTED,
    NOT_TYPED_NAME_START,
    ORG_KINDS,
    PARTY_LEVELS,
    PERCENT_MARKERS,
    PERSON_NOUNS,
    QUESTION_GENERIC_WORDS,
    SLOT_QUESTION_WORDS,
    TARGET_CUES,
    TYPED_PLACE_LEVELS,
    YEAR_RE,
)
from ingest.vietnamese import WORD_RE, fold, is_accented, key, nfc, words

# Capitalised words that start a Vietnamese question or are generic titles, not places/names.
_NOT_ENTITIES = frozenset(key(w) for w in QUESTION_GENERIC_WORDS)


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
    # What kinds of answer the question asks for ("count", "share", "date", "person", …), in
    # the order of ANSWER_TYPE_CUES, and how many separate asks it makes ("bao nhiêu … và mấy …").
    answer_types: tuple[str, ...] = ()
    asks: int = 1
    stated: tuple[str, ...] = ()  # numbers the question itself gives ("Trong số 135 người …")
    # Folded words right around the question word ("bao nhiêu học viên", "ai chủ trì hội nghị"):
    # the part of the question the answer sentence itself must match; the rest may be context.
    slot: tuple[str, ...] = ()
    # Folded names the question gives with an administrative level ("tỉnh Cao Bằng", "Bao Loc
    # city"): an article that names none of them is about somewhere else.
    places: tuple[str, ...] = ()
    # The level words of those names and the kinds of the organisations it names, folded, once
    # per use ("thanh pho" of "thành phố Hồ Chí Minh", "truong dai hoc" of "Trường Đại học Hùng
    # Vương"): part of the name, not of what the question asks about it.
    name_levels: tuple[str, ...] = ()


def detect_language(question: str) -> Literal["vi", "en"]:
    """English when English function words are there and accented words are few (an English
    question may still quote a Vietnamese name or a document number like "20-ĐA/TU")."""
    tokens = [t.lower() for t in words(question) if not t.isdigit()]
    if not tokens:
        return "vi"
    english = sum(1 for t in tokens if t in ENGLISH_MARKERS or t in GLOSSARY)
    return "en" if english >= 2 and english >= 0.35 * len(tokens) else "vi"


def question_gap(text: str, start: int, end: int) -> bool:
    return bool(text[start:end].strip())


def _abbreviation(token: str) -> bool:
    return len(token) > 1 and token.isupper()


def entity_spans(text: str) -> list[tuple[int, int]]:
    """Spans of runs of capitalised syllables ("Hà Nội", "Tuần Giáo", "Nui Thanh") that are not
    generic words, in ``nfc(text)``. Punctuation between two words ends a run: "Sơn Động (Bắc
    Giang)" names two places."""
    text = nfc(text)
    matches = list(WORD_RE.finditer(text))
    tokens = [m.group() for m in matches]
    breaks = {
        i
        for i in range(1, len(matches))
        if question_gap(text, matches[i - 1].end(), matches[i].start())
    }
    spans: list[tuple[int, int]] = []
    run: list[re.Match[str]] = []
    for i, token in enumerate([*tokens, ""]):
        if i in breaks and run:
            spans.append((run[0].start(), run[-1].end()))
            run = []
        capital = token[:1].isupper() and not token.isdigit()
        if run and capital and _abbreviation(token) != _abbreviation(run[-1].group()):
            # An abbreviation beside a name is a name of its own: "CĐ Hà Nội", "THPT Lê Lợi"
            # (a one-letter syllable is not one: "Ý Yên", "Ô Môn").
            spans.append((run[0].start(), run[-1].end()))
            run = []
        # A generic word cannot start a name but may continue one ("Núi Thành").
        # The first word is capitalised anyway; it starts a name only when the next word is
        # capitalised too ("Tuần Giáo kết nạp …", not "Bình quân …").
        first_alone = i == 0 and (not tokens[1:2] or not tokens[1][:1].isupper())
        generic = not run and (key(token) in _NOT_ENTITIES or first_alone)
        if capital and not generic:
            run.append(matches[i])
            continue
        if run:
            spans.append((run[0].start(), run[-1].end()))
            run = []
    return spans


def _entities(question: str) -> tuple[str, ...]:
    """Folded names of the places and people a question names."""
    text = nfc(question)
    return tuple(dict.fromkeys(fold(" ".join(words(text[s:e]))) for s, e in entity_spans(text)))


_HEAD_RE = re.compile(r"\b(?:bao nhieu|how many(?: of(?: the)?)?|may)\s+((?:[a-z]+\s?){1,2}|%)")
# "Số" counts; folded, "so" is also "thiểu số", "đa số", "dân số", "cơ sở", "so sánh / so với",
# "sơ kết", "sơ tuyển", "sơ bộ". "Số mấy / số bao nhiêu / số nào" asks for a document's number.
_HEAD_SO_RE = re.compile(
    r"(?<!thieu )(?<!da )(?<!dan )(?<!co )\b(?:tong so|so luong|so)\s+"
    r"(?!(?:sanh|voi|ket|tuyen|bo|may|bao|nao)\b)((?:[a-z]+\s?){1,2})"
)
# The glossary's "students", and a university or college named before or after it.
_HIGHER = "|".join(HIGHER_EDUCATION)
_STUDENTS_RE = re.compile(
    rf"\bhoc sinh sinh vien\b.*\b(?:{_HIGHER})\b|\b(?:{_HIGHER})\b.*\bhoc sinh sinh vien\b"
)
# People of one kind ("sinh viên", "đoàn viên"), not anyone ("học viên").
_SPECIFIC_PEOPLE = PERSON_NOUNS - ANY_PERSON_NOUNS
_AMONG_RE = re.compile(r"\s*(?:\w+\s+)?la\s+([a-z]+ [a-z]+)\b")


def _head(folded_question: str, names: tuple[str, ...] = ()) -> str | None:
    """The counted noun: "kết nạp bao nhiêu đảng viên" → "dang vien"; "mấy lớp" → "lop";
    "tổng số đảng viên … là bao nhiêu" → "dang vien". A name (folded, from ``names``) before
    it is not it: "how many Cam Lo students" → "hoc sinh"."""
    for name in names:
        folded_question = re.sub(
            rf"\b((?:bao nhieu|how many|may)\s+){re.escape(name)}\b", r"\1", folded_question
        )
    for pattern in (_HEAD_RE, _HEAD_SO_RE):
        match = pattern.search(folded_question)
        if not match:
            continue
        syllables = match.group(1).split()
        if syllables[:2] == ["phan", "tram"] or syllables == ["%"]:
            return "%"
        end = next((i for i, s in enumerate(syllables) if s in COUNTED_NOUN_ENDS), len(syllables))
        syllables = syllables[:end]
        if syllables:
            head = " ".join(syllables)
            if head == "hoc sinh" and _STUDENTS_RE.search(folded_question):
                # English "students" (glossed "học sinh sinh viên") at a university or college
                # are "sinh viên"; at a school, "học sinh".
                return "sinh vien"
            # "bao nhiêu học viên là sinh viên" counts the students among the attendees.
            among = _AMONG_RE.match(folded_question, match.end(1) - 1)
            if head in ANY_PERSON_NOUNS and among and among.group(1) in _SPECIFIC_PEOPLE:
                return among.group(1)
            return head
    return None


_FOCUS_RE = re.compile(r"\b([a-z]+ [a-z]+) (?:gi|nao)\b")
_FOCUS_LEAD_RE = re.compile(r"^\s*(?:nhung|cac)\s+([a-z]+ [a-z]+)\b")
# How the leading noun was acted on: "Các chi bộ … như thế nào" asks what the cells did, and
# "chi bộ" is who did it, not what the answer is about.
_HOW_RE = re.compile(r"\b(?:the nao|cach nao|ra sao|lam gi|how)\b")


def _focus(folded_question: str) -> str | None:
    """What a "what/which" question asks about: "gặp khó khăn gì" → "kho khan", "Những hạn chế
    … là gì" → "han che", "giải pháp nào" → "giai phap" (but "Các chi bộ … như thế nào" asks
    about what they did)."""
    for match in _FOCUS_RE.finditer(folded_question):
        pair = match.group(1).split()
        if pair[-1] not in FOCUS_STOP and pair[0] not in FOCUS_STOP:
            return " ".join(pair)
    lead = _FOCUS_LEAD_RE.search(folded_question)
    if lead and not set(lead.group(1).split()) & FOCUS_STOP and not _HOW_RE.search(folded_question):
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


_ASK_RE = re.compile(
    r"\b(?:bao nhieu|may|ai|nao|gi|dau|how many|how much|who|when|where|which|what)\b"
)
_STATED_RE = re.compile(r"(?<![\d/.,-])\d+(?:[.,]\d+)*(?![\d/-])")


SLOT_AFTER, SLOT_BEFORE = 6, 3


def slot_words(folded_question: str) -> tuple[str, ...]:
    """Content words within a few words of each question word."""
    tokens = folded_question.split()
    marks = [
        i
        for i in range(len(tokens))
        if tokens[i] in SLOT_QUESTION_WORDS
        or (i + 1 < len(tokens) and f"{tokens[i]}_{tokens[i + 1]}" in SLOT_QUESTION_WORDS)
    ]
    found: list[str] = []
    for i in marks:
        for j in range(max(0, i - SLOT_BEFORE), min(len(tokens), i + SLOT_AFTER + 2)):
            word = tokens[j]
            if (
                word not in STOPWORDS
                and word not in SLOT_QUESTION_WORDS
                and not word.isdigit()
                and word != "%"
            ):
                found.append(word)
    return tuple(dict.fromkeys(found))


def answer_types(folded_question: str) -> tuple[str, ...]:
    """The kinds of answer a question asks for, from the cue table (folded, space-padded)."""
    found = [k for k, cues in ANSWER_TYPE_CUES.items() if any(c in folded_question for c in cues)]
    if "count" in found and {"share", "year", "document"} & set(found):
        # "tỷ lệ … là bao nhiêu", "chiếm bao nhiêu %", "năm bao nhiêu", "số bao nhiêu": the
        # number word belongs to the other ask; a count is asked only of a noun of its own.
        nouns = re.findall(r"\b(?:bao nhieu|how many|may) (\S+)", folded_question)
        if not [n for n in nouns if n not in NOT_COUNTED and n not in STOPWORDS]:
            found.remove("count")
    return tuple(found)


_BOUND_YEAR_RE = re.compile(
    r"\b(?:trước|sau|before|after|prior to)\s+(?:(?:năm|year)\s+)?((?:19|20)\d\d)\b", re.IGNORECASE
)
# Each folded level word and how it is written with accents ("ban" ← "bản").
_LEVELS_WRITTEN: dict[str, set[str]] = {}
for _written in (*LEVEL_WORDS, *PARTY_LEVELS):
    _LEVELS_WRITTEN.setdefault(fold(_written), set()).add(_written.lower())
# The same words folded, longest first: the level before (or after) a name a question gives.
_LEVELS_FOLDED = tuple(sorted({fold(w) for w in (*LEVEL_WORDS, *PARTY_LEVELS)}, key=len))[::-1]


def asked_years(question: str) -> tuple[str, ...]:
    """Years the question asks about; "trước 2004" bounds a period, it is not the year asked."""
    bounds = {m.group(1) for m in _BOUND_YEAR_RE.finditer(question)}
    return tuple(y for y in dict.fromkeys(YEAR_RE.findall(question)) if y not in bounds)


def named_places(text: str) -> tuple[tuple[str, str], ...]:
    """(name, level) for each name right after (or, in English word order, before) an
    administrative level word: "huyện Tuần Giáo" → ("tuan giao", "huyen"), both folded."""
    text = nfc(text)
    accented = is_accented(text)
    found: list[tuple[str, str]] = []
    for start, end in entity_spans(text):
        after = " " + fold(text[end : end + 24]).strip(" ),") + " "
        name = fold(" ".join(words(text[start:end])))
        level = _word_before(text, start, _LEVELS_FOLDED, 24) or next(
            (lv for lv in _LEVELS_FOLDED if after.startswith((f" {lv} ", f" {lv},"))), None
        )
        if level is not None and accented:
            # Typed with accents, the level word must be one as written: "Ban Chấp hành" is a
            # board, not a village ("bản").
            near = nfc(text[max(0, start - 24) : end + 24]).lower()
            if not any(written in near for written in _LEVELS_WRITTEN[level]):
                level = None
        if level is not None:
            found.append((name, level))
    return tuple(found)


_ORG_KINDS_FOLDED = tuple(sorted({fold(k) for k in ORG_KINDS}, key=len, reverse=True))


def organisation_kinds(text: str) -> tuple[str, ...]:
    """The folded kind written right before each name ("Trường Đại học Hùng Vương" →
    "truong dai hoc")."""
    text = nfc(text)
    kinds = (_word_before(text, start, _ORG_KINDS_FOLDED, 40) for start, _ in entity_spans(text))
    return tuple(kind for kind in kinds if kind is not None)


def _word_before(text: str, start: int, folded_words: Sequence[str], reach: int) -> str | None:
    """The first of ``folded_words`` (longest first) that ends right before ``start``, within
    ``reach`` characters, an opening bracket or comma aside."""
    before = " " + fold(text[max(0, start - reach) : start]).strip(" (,") + " "
    return next((w for w in folded_words if before.endswith(f" {w} ")), None)


_NOT_NAME_START = STOPWORDS | NOT_TYPED_NAME_START


def _level_at(tokens: list[str], i: int) -> str | None:
    """The level word the tokens from ``i`` start with: "thanh pho …" but not "thanh" alone
    (the last syllable of "Núi Thành")."""
    return next(
        (lv for lv in TYPED_PLACE_LEVELS if tokens[i : i + len(lv.split())] == lv.split()), None
    )


def typed_places(folded: str) -> tuple[tuple[str, str], ...]:
    """(name, level) for the places a question typed in lower case without accents names:
    "tinh quang ngai nam 2019 …" → ("quang ngai", "tinh"). A name is the (at most two)
    syllables after a level word, up to a word the question goes on with."""
    tokens = folded.split()
    found: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        level = _level_at(tokens, i)
        if level is None:
            i += 1
            continue
        i += len(level.split())
        name: list[str] = []
        while i < len(tokens) and len(name) < 2:
            token = tokens[i]
            if not token.isalpha() or (token in _NOT_NAME_START and not name):
                break
            if name and (token in STOPWORDS or _level_at(tokens, i) is not None):
                break
            name.append(token)
            i += 1
        if name:
            found.append((" ".join(name), level))
    return tuple(found)


def folded_question(question: str) -> str:
    """Folded words joined by single spaces, padded, with "%" kept as a word."""
    return (
        " "
        + " ".join(re.sub(r"[^\w%]+", " ", fold(nfc(question).replace("%", " % "))).split())
        + " "
    )


def analyse(question: str) -> Query:
    language = detect_language(question)
    folded = folded_question(question)
    search_text = question
    if language == "en":
        # Replace English terms by their Vietnamese, keeping names and numbers as typed.
        # Each translation ends with a comma, so no word pair is made across two of them
        # ("party" + "admission candidates" is not "đảng đối").
        for en, vi in GLOSSARY.items():
            search_text = re.sub(
                rf"\b{re.escape(en)}\b", f"{vi},", search_text, flags=re.IGNORECASE
            )
    # Names are read without document codes ("20-ĐA/TU" is no place), in the words that were
    # looked up: the question's own, or the glossary's Vietnamese.
    names_text = DOCUMENT_RE.sub(" ", question if language == "vi" else search_text)
    named = named_places(names_text)
    entities = _entities(names_text)
    if language == "vi" and question == question.lower() and not is_accented(question):
        # Typed as on a phone: no capitals mark the names, the level words still do.
        named = typed_places(folded)
        entities = tuple(name for name, _ in named)
    return Query(
        text=question,
        language=language,
        accented=is_accented(question),
        wants_figure=any(f" {m}" in folded for m in FIGURE_MARKERS) or "%" in question,
        wants_percent=any(m in folded for m in PERCENT_MARKERS),
        wants_total=(
            " co bao nhieu " in folded
            or " tong " in folded
            or " total " in folded
            or bool(re.search(r" how many .* (?:have|has|are there) ", folded))
        )
        and not any(v in folded for v in (" ket nap ", " admit", " phat trien ")),
        head=_head(fold(search_text), entities),
        asks_target=any(f" {m} " in folded for m in TARGET_CUES),
        focus=None if language == "en" else _focus(folded.strip()),
        years=asked_years(question),
        entities=entities,
        places=tuple(dict.fromkeys(name for name, _ in named)),
        name_levels=(
            *(level for _, level in named),
            *organisation_kinds(names_text),
        ),
        search_text=search_text,
        answer_types=answer_types(
            folded if language == "vi" else folded + folded_question(search_text)
        ),
        asks=max(1, len(_ASK_RE.findall(folded))),
        slot=slot_words(folded if language == "vi" else folded_question(search_text)),
        stated=tuple(m for m in _STATED_RE.findall(question) if not YEAR_RE.fullmatch(m)),
    )
