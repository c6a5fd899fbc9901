"""When a figure holds: the periods a sentence states, and the one a figure takes.

"năm 2022", "2015 - 2020", "nhiệm kỳ 2015-2020", "từ năm 2016 đến 31-3-2018", "tính đến 31/12/2022",
"đến nay", "5 năm qua", "từ khi thành lập đến nay"; open ends ("đến nay", "5 năm qua") close at
the publication year, and a start without a year ("từ khi thành lập") stays open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_Y = r"(?:19|20)\d\d"
_DATE = r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*(?P<dy>(?:19|20)\d\d)"
_PERIOD_RE = re.compile(
    # "từ (đầu nhiệm kỳ) 2015 -2020 đến nay", "từ năm 2016 đến 31-3-2018"
    rf"(?P<from>\b[Tt]ừ\s+(?:đầu\s+)?(?:năm|nhiệm kỳ|giai đoạn)?\s*(?P<fy>{_Y})"
    rf"(?:\s*[-–]\s*{_Y})?\s*(?:,\s*)?(?:đến|tới)\s+"
    rf"(?:(?P<now>nay|hiện nay)|(?:ngày\s+)?{_DATE}|(?:cuối\s+|hết\s+)?năm\s+(?P<ty>{_Y})))"
    # "nhiệm kỳ 2015-2020", "giai đoạn 2021-2025", "2016 - 2020"
    rf"|(?P<span>(?:\b(?:[Nn]hiệm kỳ|[Gg]iai đoạn|[Tt]hời kỳ)\s+)?(?P<sy>{_Y})\s*[-–]\s*"
    rf"(?P<sz>{_Y}))"
    # "tính đến (ngày) 31/12/2022", "đến cuối năm 2010"
    rf"|(?P<asof>\b(?:[Tt]ính\s+)?(?:đến|tới)\s+(?:ngày\s+)?(?:{_DATE.replace('dy', 'ay')}"
    rf"|(?:cuối|hết)\s+năm\s+(?P<ey>{_Y})))"
    # "năm 2022", "tháng 5/2020"
    rf"|(?P<year>\b(?:[Nn]ăm|tháng\s+\d{{1,2}}\s*/)\s*(?P<yy>{_Y}))"
    # "5 năm qua", "trong 3 năm", "sau 3 năm thực hiện": years up to the publication
    rf"|(?P<recent>\b(?P<n>\d+)\s+năm\s+(?:qua|gần đây)\b"
    rf"|\b(?:[Tt]rong|[Ss]au)\s+(?P<m>\d+)\s+năm\b(?!\s+(?:qua|gần đây)))"
    # "từ khi thành lập đến nay": up to the publication, from a start it gives no year for
    rf"|(?P<since>\b[Tt]ừ\s+(?:khi|ngày|lúc)\s+(?:[^\W\d]+\s+){{0,4}}?(?:đến|tới)\s+"
    rf"(?:nay|hiện nay)\b)"
    rf"|(?P<nowish>\b(?:[Đđ]ến nay|[Hh]iện nay|[Hh]iện có|^Hiện)\b)"
    r"|(?P<term>\b(?:đầu\s+)?[Nn]hiệm kỳ(?:\s+(?:này|tới|trước))?\b)"
)
EVERY_YEAR_RE = re.compile(r"(?<!quân )\b(?:[Hh][ằà]ng năm|[Mm]ỗi năm)\b")
PER_YEAR_RE = re.compile(
    r"\b(?:[Hh][ằà]ng năm|[Mm]ỗi năm|[Bb]ình quân(?: hằng| hàng| mỗi)? năm|/năm)\b"
)


@dataclass(frozen=True)
class Period:
    start: int
    end: int
    label: str
    year_from: int | None
    year_to: int | None


def periods(text: str, published: int | None) -> list[Period]:
    """Every period ``text`` states, in reading order; ``published`` closes open ones."""
    found: list[Period] = []
    for m in _PERIOD_RE.finditer(text):
        label = m.group().strip(" ,")
        label = label[:1].lower() + label[1:]  # "Tính đến …" reads mid-sentence
        y_from: int | None
        y_to: int | None
        if m.group("from"):
            y_from = int(m.group("fy"))
            to = m.group("dy") or m.group("ty")
            y_to = int(to) if to else published
        elif m.group("span"):
            y_from, y_to = int(m.group("sy")), int(m.group("sz"))
        elif m.group("asof"):
            year = m.group("ay") or m.group("ey")
            y_from = y_to = int(year)
        elif m.group("year"):
            y_from = y_to = int(m.group("yy"))
        elif m.group("recent"):
            y_to = published
            y_from = published - int(m.group("n") or m.group("m")) if published else None
        elif m.group("since"):
            y_from, y_to = None, published
        elif m.group("nowish"):
            y_from = y_to = published
            label = "đến nay"
        else:
            y_from = y_to = None
            label = "nhiệm kỳ"
        found.append(Period(m.start(), m.end(), label, y_from, y_to))
    return found


def period_for(
    sentence_periods: list[list[Period]], index: int, pos: int, *, look_back: bool = True
) -> tuple[str, int | None, int | None] | None:
    """The period of the figure at ``pos`` in sentence ``index``: the nearest before it in its
    sentence, else after it, else (with ``look_back``) a dated one of the two sentences before."""
    sentence = sentence_periods[index]
    before = [p for p in sentence if p.end <= pos]
    after = [p for p in sentence if p.start >= pos]
    if before:
        best = before[-1]
        # "nhiệm kỳ" alone or "đến nay" says less than a dated period earlier in the sentence.
        dated = [p for p in before if p.year_from is not None]
        if best.year_from is None and dated:
            best = dated[-1]
        return best.label, best.year_from, best.year_to
    if after:
        return after[0].label, after[0].year_from, after[0].year_to
    for back in (1, 2) if look_back else ():
        if index - back < 0:
            break
        earlier = [p for p in sentence_periods[index - back] if p.year_from is not None]
        if earlier:
            return earlier[-1].label, earlier[-1].year_from, earlier[-1].year_to
    return None
