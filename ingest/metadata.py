"""Title, publication date and author of a cleaned article.

Scraped Vietnamese news text puts the header in a few shapes (all in the sample corpus):
a kicker ending in ":" followed by the headline; a category line, the headline, then a date line
("15-08-2019 09:13", "Thứ Sáu, 13/04/2018, [GMT+7]"); the headline alone; or no headline at all.
The author or source line ("CTV - Phong Lâm/BTC Tỉnh ủy Điện Biên") closes the article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# How many leading lines may hold the header (category, kicker, headline, date).
HEADER_LINES = 6
TITLE_MAX_CHARS = 200
FALLBACK_TITLE_CHARS = 90
AUTHOR_MAX_CHARS = 90

_WEEKDAY = r"(?:(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|2|3|4|5|6|7)|chủ\s+nhật|CN)\s*,?\s*)?"
_DMY = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>(?:19|20)\d{2})"
_YMD = r"(?P<Y>(?:19|20)\d{2})-(?P<M>\d{1,2})-(?P<D>\d{1,2})"
_TIME = r"(?:\s*[,|-]?\s*\d{1,2}[:h]\d{2}(?::\d{2})?(?:\s*(?:AM|PM|SA|CH))?)?"
_TZ = r"(?:\s*,?\s*[\[(]?\s*GMT\s*[+-]\s*\d{1,2}\s*[\])]?)?"
# A line that is only a date (with weekday, time, time zone): the article's dateline.
DATELINE_RE = re.compile(
    rf"^\s*(?:ngày\s+|cập nhật\s*:?\s*|đăng\s*(?:ngày)?\s*:?\s*)?{_WEEKDAY}"
    rf"(?:{_DMY}|{_YMD}){_TIME}{_TZ}\s*$",
    re.IGNORECASE,
)
_ANY_DATE_RE = re.compile(rf"{_DMY}|{_YMD}")
_AUTHOR_PREFIX_RE = re.compile(r"^(?:theo|nguồn|tác giả|bài(?: và ảnh)?|ảnh)\s*[:\-]?\s*", re.I)
_SENTENCE_END = (".", "!", "?", "…", ";", '"', "”")


@dataclass(frozen=True)
class Metadata:
    title: str
    date: str | None  # ISO yyyy-mm-dd
    author: str | None


def parse_date(text: str) -> str | None:
    """The first valid calendar date in ``text`` as ISO ``yyyy-mm-dd``."""
    for match in _ANY_DATE_RE.finditer(text):
        parts = match.groupdict()
        if parts.get("y"):
            y, m, d = int(parts["y"]), int(parts["m"]), int(parts["d"])
        else:
            y, m, d = int(parts["Y"]), int(parts["M"]), int(parts["D"])
        try:
            return date(y, m, d).isoformat()
        except ValueError:
            continue
    return None


def _is_title_line(line: str) -> bool:
    return 0 < len(line) <= TITLE_MAX_CHARS and not line.endswith(_SENTENCE_END)


def _fallback_title(lines: list[str]) -> str:
    """No headline: the opening words of the first sentence, cut at a word boundary."""
    first = next((line for line in lines if line), "")
    sentence = re.split(r"(?<=[.!?…])\s", first, maxsplit=1)[0]
    if len(sentence) <= FALLBACK_TITLE_CHARS:
        return sentence
    cut = sentence.rfind(" ", 0, FALLBACK_TITLE_CHARS)
    return sentence[: cut if cut > 20 else FALLBACK_TITLE_CHARS].rstrip(" ,;:-–") + "…"


def _join_kicker(lines: list[str], i: int) -> str:
    """ "Huyện Tuần Giáo, tỉnh Điện Biên :" + "Chú trọng …" read as one headline."""
    title = lines[i]
    if i > 0 and lines[i - 1].endswith(":") and len(lines[i - 1]) <= 100:
        title = f"{lines[i - 1].rstrip(' :')}: {title}"
    return title


def extract_metadata(text: str, *, title: str | None = None, when: str | None = None) -> Metadata:
    """Metadata of a cleaned article; ``title``/``when`` from the source (HTML) win when given."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    header = lines[:HEADER_LINES]
    date_index = next((i for i, line in enumerate(header) if DATELINE_RE.match(line)), None)

    found_date = parse_date(when) if when else None
    if found_date is None and date_index is not None:
        found_date = parse_date(header[date_index])

    if not title:
        title = _guess_title(header, date_index) or _fallback_title(lines)
    return Metadata(title=title.strip(), date=found_date, author=_guess_author(lines))


def _guess_title(header: list[str], date_index: int | None) -> str | None:
    if date_index is not None:
        # The headline sits right above the dateline (a category line may come before it).
        for i in range(date_index - 1, -1, -1):
            if _is_title_line(header[i]) and not header[i].endswith(":"):
                return _join_kicker(header, i)
    for i, line in enumerate(header[:3]):
        if not _is_title_line(line):
            return None
        if line.endswith(":") and i + 1 < len(header):
            continue
        return _join_kicker(header, i)
    return None


def _guess_author(lines: list[str]) -> str | None:
    """A closing byline: short, unpunctuated, after a line that ends a sentence."""
    if len(lines) < 3:
        return None
    last = lines[-1]
    if len(last) > AUTHOR_MAX_CHARS or last.endswith(_SENTENCE_END) or last.endswith(":"):
        return None
    if not lines[-2].endswith(_SENTENCE_END):
        return None
    author = _AUTHOR_PREFIX_RE.sub("", last).strip()
    words = author.split()
    # Bylines are names or "Name - Organisation"; a short heading of many words is not.
    if not author or not words[0][:1].isupper() or len(words) > 14:
        return None
    return author
