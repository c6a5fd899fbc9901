"""Short follow-up questions ("còn năm 2023 thì sao?", "ở Lai Châu thì sao?") made standalone.

People on a phone ask one full question and then vary it: another year, another place. Retrieval
and the answerer see one question at a time, so the follow-up is rewritten into the previous
question with the new year or place swapped in. Plain functions over strings: no Telegram here.

The rules, on words folded to plain ASCII so that "con nam 2023 thi sao" works like the accented
form:

- a *strong* marker at the start ("còn", "thế còn", "vậy còn", "what about", "how about", "and")
  or a *weak* one at the end ("thì sao", "thế nào", "thì thế nào", "ra sao"), with trailing
  particles ("ạ", "nhỉ", "vậy", "nữa") ignored;
- what is left is the *slot*: a year ("năm 2023", "2023"), a place ("ở Lai Châu", "huyện Núi
  Thành", "lai chau") or, after a strong marker only, any short topic;
- a question that asks something on its own ("… bao nhiêu …", "… là gì") is never a follow-up;
- without any marker, only a bare year ("Năm 2023?") or a bare place introduced by "ở"/"tại"
  counts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.lexicon import (
    FACT_PLACE_LEVELS,
    FOLLOWUP_CLOSINGS,
    FOLLOWUP_ENGLISH,
    FOLLOWUP_OPENINGS,
    FOLLOWUP_PARTICLES,
    PARTY_LEVELS,
    PARTY_UNITS,
    SELF_STANDING_PAIRS,
    SELF_STANDING_WORDS,
    SLOT_LOCATIVES,
    STRETCH_WORDS,
    TIME_PREPOSITIONS,
    YEAR_WORDS,
    alternation,
)
from ingest.vietnamese import WORD_RE, fold, is_accented, nfc

MAX_FOLLOWUP_WORDS = 10
MAX_SLOT_WORDS = 6


def _either(phrases: Iterable[str]) -> str:
    """A pattern for each phrase as written and folded (typed without accents), longest first."""
    return alternation(form for p in phrases for form in (p, fold(p)))


_YEAR_WORD = _either(YEAR_WORDS)
_YEAR_SLOT_RE = re.compile(rf"(?:\b(?:{_YEAR_WORD})\s+)?\b((?:19|20)\d{{2}})\b", re.IGNORECASE)
# A time expression in the previous question, ranges included ("từ năm 2016 đến 31-3-2018").
_DATE = r"(?:\d{1,2}[-/.]){0,2}(?:19|20)\d{2}"
_TIME_RE = re.compile(
    rf"(?:\b(?:{_either(TIME_PREPOSITIONS)})\s+)?"
    rf"(?:\b(?:{_YEAR_WORD})\s+)?\b{_DATE}\b"
    rf"(?:\s*(?:{_either(STRETCH_WORDS)}|-|–)\s*(?:(?:{_YEAR_WORD})\s+)?{_DATE}\b)?",
    re.IGNORECASE,
)
_UPPER = "".join(c for c in map(chr, range(0x41, 0x1EFF + 1)) if c.isupper() and c.isalpha())
_NAME = rf"[{_UPPER}][^\s,.:;?!]*"
_UNIT = rf"(?i:(?:{_either((*PARTY_UNITS, *PARTY_LEVELS, *FACT_PLACE_LEVELS))})\.?)"
# "Huyện ủy Tuần Giáo", "Đảng bộ thành phố Kon Tum", "tại TP. Kon Tum": units, then a name of
# capitalised words (or, typed without capitals, the two syllables most Vietnamese names have).
_PLACE_RE = re.compile(
    rf"(?:\b(?i:{_either(('ở', 'tại', 'in'))})\s+)?(?:\b{_UNIT}\s+)+"
    rf"(?:{_NAME}(?:\s+{_NAME}){{0,3}}|[^\W\d_]+\s+[^\W\d_]+)"
)
_CAPITAL_RUN_RE = re.compile(rf"{_NAME}(?:\s+{_NAME})+")


@dataclass(frozen=True)
class Resolved:
    """The question to answer, and whether it was rewritten from a follow-up."""

    question: str
    is_followup: bool = False
    previous: str | None = None
    year: str | None = None
    place: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class _Word:
    text: str
    folded: str
    start: int
    end: int


def _words(text: str) -> list[_Word]:
    return [_Word(m.group(), fold(m.group()), m.start(), m.end()) for m in WORD_RE.finditer(text)]


def _has_question_words(folded: list[str]) -> bool:
    if any(w in SELF_STANDING_WORDS for w in folded):
        return True
    return any(pair in SELF_STANDING_PAIRS for pair in zip(folded, folded[1:], strict=False))


def _strip_markers(tokens: list[_Word]) -> tuple[list[_Word], bool, bool]:
    """The words between the markers, and whether a strong / weak marker was found."""
    folded = [t.folded for t in tokens]
    while folded and folded[-1] in FOLLOWUP_PARTICLES:
        folded.pop()
    strong = weak = False
    for suffix in FOLLOWUP_CLOSINGS:
        n = len(suffix)
        if len(folded) > n and tuple(folded[-n:]) == suffix:
            folded = folded[:-n]
            weak = True
            break
    start = 0
    for prefix in FOLLOWUP_OPENINGS:
        n = len(prefix)
        if len(folded) > n and tuple(folded[:n]) == prefix:
            start = n
            strong = True
            break
    return tokens[start : len(folded)], strong, weak


def _span(text: str, tokens: list[_Word]) -> str:
    return text[tokens[0].start : tokens[-1].end].strip() if tokens else ""


def is_followup_candidate(question: str) -> bool:
    """True when the question looks like it varies a previous one (no history needed)."""
    return _parse(question) is not None


_MARKUP_RE = re.compile(r"<[^<>]{0,40}>|[*_`~]")


def _parse(question: str) -> Resolved | None:
    # Emphasis typed as HTML or Markdown ("ở *Lạng Sơn* thì sao?") is not part of the slot.
    text = " ".join(_MARKUP_RE.sub(" ", nfc(question)).split())
    tokens = _words(text)
    if not tokens or len(tokens) > MAX_FOLLOWUP_WORDS:
        return None
    rest, strong, weak = _strip_markers(tokens)
    if not rest or len(rest) > MAX_SLOT_WORDS:
        return None
    folded = [t.folded for t in rest]
    if _has_question_words(folded):
        return None
    slot = _span(text, rest)
    year_match = _YEAR_SLOT_RE.search(slot)
    year = year_match.group(1) if year_match else None
    place_text = _YEAR_SLOT_RE.sub(" ", slot) if year_match else slot
    place_tokens = _words(place_text)
    locative = bool(place_tokens) and place_tokens[0].folded in SLOT_LOCATIVES
    if locative:
        place_tokens = place_tokens[1:]
    leftover = _span(place_text, place_tokens) or None
    capitalised = leftover is not None and all(t.text[:1].isupper() for t in _words(leftover))
    if not (strong or weak):
        # Without a marker only an unmistakable slot counts: "Năm 2023?", "Ở Lai Châu?".
        if year and leftover is None:
            return Resolved(question=text, year=year)
        if leftover and (locative or (capitalised and len(place_tokens) <= 3)):
            return Resolved(question=text, year=year, place=leftover)
        return None
    if leftover is None:
        return Resolved(question=text, year=year) if year else None
    if not strong and not (locative or capitalised or _PLACE_RE.fullmatch(leftover)):
        # "Tạo nguồn … thế nào?" asks something of its own; only "còn …" marks a topic change.
        return None
    if locative or capitalised or _PLACE_RE.fullmatch(leftover):
        return Resolved(question=text, year=year, place=leftover)
    return Resolved(question=text, year=year, topic=leftover)


def _ends_with_mark(text: str) -> tuple[str, str]:
    core = text.rstrip()
    mark = ""
    while core and core[-1] in "?!.":
        mark = core[-1] + mark
        core = core[:-1].rstrip()
    return core, mark or "?"


def _english(text: str) -> bool:
    folded = " " + " ".join(t.folded for t in _words(text)) + " "
    return any(f" {w} " in folded for w in FOLLOWUP_ENGLISH)


def _swap_year(previous: str, year: str) -> str:
    english = _english(previous)
    match = _TIME_RE.search(previous)
    if match is None:
        core, mark = _ends_with_mark(previous)
    year_word = "in" if english else ("năm" if is_accented(previous) else "nam")
    if match is None:
        core, mark = _ends_with_mark(previous)
        return f"{core} {year_word} {year}{mark}"
    replacement = f"{year_word} {year}"
    lead = previous[match.start() : match.end()].split()[0].lower()
    if lead in ("trong", "vào", "vao") and not english:
        replacement = f"{lead} {year_word} {year}"
    return previous[: match.start()] + replacement + previous[match.end() :]


def _swap_place(previous: str, place: str) -> str:
    match = _PLACE_RE.search(previous)
    if match is None:
        runs = list(_CAPITAL_RUN_RE.finditer(previous))
        match = runs[0] if runs else None
    if match is None:
        core, mark = _ends_with_mark(previous)
        joiner = "in" if _english(previous) else ("ở" if is_accented(previous) else "o")
        return f"{core} {joiner} {place}{mark}"
    replaced = previous[: match.start()] + place + previous[match.end() :]
    return replaced[:1].upper() + replaced[1:] if match.start() == 0 else replaced


def strip_accents(text: str) -> str:
    """Diacritics removed, case kept: "Lai Châu" → "Lai Chau"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def resolve(question: str, previous: str | None) -> Resolved:
    """Rewrite ``question`` into a standalone one when it only varies ``previous``.

    ``previous`` should itself be the resolved form of the earlier question, so that chains
    ("còn năm 2023 thì sao?" then "ở Lai Châu thì sao?") keep both changes."""
    parsed = _parse(question)
    text = nfc(question).strip()
    if parsed is None or not previous or not previous.strip():
        return Resolved(question=text)
    rewritten = nfc(previous).strip()
    if not is_accented(rewritten) and parsed.place:
        # An unaccented question is matched on folded words (and an English one is recognised
        # by being ASCII): an accented place would change how the whole question is read.
        parsed = Resolved(question=text, year=parsed.year, place=strip_accents(parsed.place))
    if parsed.year:
        rewritten = _swap_year(rewritten, parsed.year)
    if parsed.place:
        rewritten = _swap_place(rewritten, parsed.place)
    if parsed.topic:
        core, mark = _ends_with_mark(rewritten)
        rewritten = f"{core}, {parsed.topic}{mark}"
    return Resolved(
        question=rewritten,
        is_followup=True,
        previous=previous,
        year=parsed.year,
        place=parsed.place,
        topic=parsed.topic,
    )
