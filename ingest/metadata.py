"""Title, publication date and author of a cleaned article.

Scraped Vietnamese news text puts the header in a few shapes: a kicker ending in ":" followed by
the headline; a category line, the headline, then a date line ("15-08-2019 09:13", "Thứ Sáu,
13/04/2018, [GMT+7]", "Cập nhật lúc 06:16, Thứ Sáu, 14/02/2020 (GMT+7)", "(24-12-2021 15:22)",
"Ngày đăng: 30/04/2020"); the headline alone; or no headline at all.

Scrapers and note-taking tools also put fields above the article: ``URL: http://…`` /
``Title: …`` / ``Date: …`` lines, or YAML front matter between ``---`` lines. Those are metadata,
not text: ``split_header`` takes them off before cleaning, the URL becomes the article's link.
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

_DMY = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})\s*[/.-]\s*(?P<y>(?:19|20)\d{2})"
_YMD = r"(?P<Y>(?:19|20)\d{2})-(?P<M>\d{1,2})-(?P<D>\d{1,2})"
_ANY_DATE_RE = re.compile(rf"{_DMY}|{_YMD}")
# What may surround the date on a dateline: times, weekdays, a time zone and a label. A line that
# is nothing else is a dateline, whatever order a site writes them in.
_DATELINE_PARTS_RE = re.compile(
    r"\d{1,2}\s*[:h]\s*\d{2}(?::\d{2})?(?:\s*(?:AM|PM|SA|CH))?"
    r"|\b(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ\s+nhật|CN)\b"
    r"|\bGMT\s*[+-]\s*\d{1,2}"
    r"|\b(?:cập nhật|lúc|ngày đăng|đăng ngày|ngày|đăng|xuất bản|date|published|posted|updated)\b",
    re.IGNORECASE,
)
DATELINE_MAX_CHARS = 80
# Key-value lines a scraper writes above the article, by the field they fill.
HEADER_FIELDS: dict[str, str] = {
    "url": "url",
    "link": "url",
    "source": "url",
    "source_url": "url",
    "nguồn": "url",
    "title": "title",
    "tiêu đề": "title",
    "date": "date",
    "published": "date",
    "ngày": "date",
    "ngày đăng": "date",
    "author": "author",
    "tác giả": "author",
}
_HEADER_LINE_RE = re.compile(r"^\s*(?P<key>[^\W\d_][\w ]{0,15}?)\s*:\s*(?P<value>.*?)\s*$")
# "date 2020-05-22 Tiêu đề…": a date field whose label lost its colon, glued to the headline.
_STRAY_DATE_RE = re.compile(rf"^\s*date\s*:?\s*(?:{_DMY}|{_YMD})\s*(?P<rest>.*)$", re.IGNORECASE)
_AUTHOR_PREFIX_RE = re.compile(r"^(?:theo|nguồn|tác giả|bài(?: và ảnh)?|ảnh)\s*[:\-]?\s*", re.I)
_SENTENCE_END = (".", "!", "?", "…", ";", '"', "”")
# "Trang chủ > Xây dựng Đảng", "Quân đội nhân dân Online > Xây dựng Quân đội": where a page
# sits, not what it says.
_BREADCRUMB_RE = re.compile(r"\s[>»›]\s")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
# A headline has a few words; "07:15:00" or "Video" left above it is not one.
_TITLE_MIN_WORDS = 2
# The headline is compared with the lead, which restates it; a photo caption or the author's
# office may share as many words with the article as a whole.
LEAD_CHARS = 600


@dataclass(frozen=True)
class Header:
    """Fields a scraper put above the article (all optional)."""

    url: str | None = None
    title: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd
    author: str | None = None


def is_dateline(line: str) -> bool:
    """A short line holding a full date and nothing else but times, weekdays and labels, or
    beside them, after a "|", the section's name ("29/12/2023 | 16:05 GMT+7 | Chính trị")."""
    if len(line) > DATELINE_MAX_CHARS or not _ANY_DATE_RE.search(line):
        return False
    parts = [_DATELINE_PARTS_RE.sub(" ", _ANY_DATE_RE.sub(" ", p)) for p in line.split("|")]
    words = [p for p in parts if re.search(r"[^\W_]", p)]
    return not words or (len(parts) > 1 and len(words) == 1 and len(words[0].split()) <= 3)


def _header_value(fields: dict[str, str], key: str, value: str) -> bool:
    """Record a header field; False when the key is not one (the header has ended)."""
    name = HEADER_FIELDS.get(key.strip().lower())
    if name is None:
        return False
    value = value.strip().strip("\"'")
    if name == "url" and not re.match(r"https?://\S+$", value):
        return False  # "Nguồn: Báo Nhân Dân" names a publisher: article text, not a link
    if name == "date":
        parsed = parse_date(value)
        if parsed is None:
            return False
        value = parsed
    if value:
        fields.setdefault(name, value)
    return True


def split_header(text: str) -> tuple[Header, str]:
    """Take scraper fields (``URL:``, ``Title:``, ``Date:``, YAML front matter, a stray
    ``date …`` prefix) off the top of a text; returns them and the rest of the text."""
    lines = text.split("\n")
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and lines[i].strip() == "---":
        closing = next((j for j in range(i + 1, min(len(lines), i + 40)) if lines[j].strip()
                        in ("---", "...")), None)  # fmt: skip
        if closing is not None:
            for line in lines[i + 1 : closing]:
                match = _HEADER_LINE_RE.match(line)
                if match:
                    _header_value(fields, match["key"], match["value"])
            i = closing + 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        match = _HEADER_LINE_RE.match(line)
        if match and _header_value(fields, match["key"], match["value"]):
            i += 1
            continue
        stray = _STRAY_DATE_RE.match(line)
        if stray and _header_value(fields, "date", line):
            rest = stray["rest"].strip()
            if not _LETTERS_RE.search(rest):
                rest = ""  # the time of day the date field also gave ("07:15:00")
            lines[i] = rest
            if not rest:
                i += 1
            continue
        break
    header = Header(
        url=fields.get("url"),
        title=fields.get("title"),
        date=fields.get("date"),
        author=fields.get("author"),
    )
    return header, "\n".join(lines[i:])


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
    date_index = next((i for i, line in enumerate(header) if is_dateline(line)), None)

    found_date = parse_date(when) if when else None
    if found_date is None and date_index is not None:
        found_date = parse_date(header[date_index])

    if not title:
        title = _guess_title(lines) or _fallback_title(lines)
    return Metadata(title=title.strip(), date=found_date, author=_guess_author(lines))


def _guess_title(lines: list[str]) -> str | None:
    """The headline among the short unpunctuated lines above the article's first paragraph.

    Sites put their name, a category, a breadcrumb, a byline, the author's office and the
    dateline there too, in any order. The headline is the one that says what the article says:
    of those lines, the one sharing the most words with the article's lead.
    """
    header = lines[:HEADER_LINES]
    candidates: list[int] = []
    start = len(header)
    for i, line in enumerate(header):
        if not _is_title_line(line):
            start = i  # the article's text has begun
            break
        if is_dateline(line) or _BREADCRUMB_RE.search(line) or line.endswith(":"):
            continue
        if len(_LETTERS_RE.findall(line)) >= _TITLE_MIN_WORDS:
            candidates.append(i)
    if not candidates or start == len(lines):
        # A note of a few short lines has no text to compare with: its first line heads it.
        return _join_kicker(header, candidates[0]) if candidates else None
    text_words = set(_LETTERS_RE.findall(" ".join(lines[start:])[:LEAD_CHARS].lower()))

    def shared(i: int) -> int:
        return len(set(_LETTERS_RE.findall(header[i].lower())) & text_words)

    best = max(candidates, key=lambda i: (shared(i), -i))
    return _join_kicker(header, best)


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
