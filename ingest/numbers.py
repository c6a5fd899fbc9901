"""Vietnamese numeric expressions → values, with their spans in the text.

Vietnamese writes a dot between thousands and a comma before decimals ("3.790" is 3790, "90,6%" is
90.6 percent), ranges with a dash or "từ … đến …" ("2 - 3 lớp", "từ 2,67% - 40%"), bounds with words
("trên 85%", "hơn 2 năm", "từ 110 đảng viên trở lên"), parts of a whole with a slash ("247/470")
and large numbers with a word ("1,2 triệu"). Dates ("31-3-2018", "13/04/2018", "tháng 5/2020"),
years ("năm 2022"), clock times and document numbers ("số 04-NQ/TU", "Quyết định sô 1090/2023",
"Tổ dân phố số 22") and labels ("lần thứ 18", "đợt 1", "lớp 12", "Trung đoàn 98") are not
quantities and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.lexicon import SPELLED_OUT
from ingest.vietnamese import fold

Bound = Literal["exact", "min", "max", "about"]
Measure = Literal["count", "percent", "ratio"]

_NUM = r"\d+(?:[.,]\d+)*"
_DASH = r"\s*[-–—]\s*"
_MULTIPLIERS = {
    "nghin": 1_000.0,
    "ngan": 1_000.0,
    "van": 10_000.0,
    "trieu": 1_000_000.0,
    "ty": 1_000_000_000.0,
    "ti": 1_000_000_000.0,
}
# "1,2 triệu" but not "1 tỷ lệ" (a share, not a billion).
_MULT_RE = re.compile(r"\s+(nghìn|ngàn|vạn|triệu|tỷ|tỉ)\b(?!\s+lệ)", re.IGNORECASE)
_PERCENT_RE = re.compile(r"\s*(?:%|phần\s+trăm\b)", re.IGNORECASE)

# Things that look like numbers but are not quantities, matched first and skipped.
_DATE_RE = re.compile(
    r"\b\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*\d{2,4}\b"  # 31-3-2018, 13/04/2018
    r"|\b(?:tháng|thang)\s+\d{1,2}\s*[/-]\s*\d{4}\b"  # tháng 5/2020
    r"|\b\d{1,2}\s*/\s*(?:19|20)\d\d\b"  # 5/2020
    r"|\b\d{1,2}[:h]\d{2}\b",  # 09:13
    re.IGNORECASE,
)
# Document numbers and identifiers: "số 04-NQ/TU", "Quyết định sô 1090/2023", "Nghị quyết 04",
# "Tổ dân phố số 22". "sô" is a common typo of "số" in scraped text.
_CODE_RE = re.compile(
    # "tổng số 3.442", "thiểu số 106", "trong số 957 đảng viên" are words ending in "số", not
    # identifiers.
    r"(?:(?<!thiểu )(?<!tổng )(?<!con )(?<!trong )\b(?:số|sô)"
    r"|\b(?:Nghị quyết|Quyết định|Chỉ thị|Kết luận|Thông tư|Nghị định|Điều|Khoản|Quy định"
    r"|Hướng dẫn|Công văn))\s*:?\s*\d[\w./-]*",
    re.IGNORECASE,
)
_YEAR_RE = re.compile(r"(?:19|20)\d\d")
# A number written after the noun labels one thing, it counts nothing ("lần thứ 18", "đợt 1",
# "học sinh lớp 12", "Trung đoàn 98", "quận 1"): a count comes before its noun ("3 lần").
_LABEL_RE = re.compile(
    r"\b(?:thứ|lần|đợt|khóa|khoá|lớp|tháng|quý|kỳ|ngày|quận|phường|khu|tổ|ấp|"
    r"(?:trung|tiểu|sư|lữ|chi) đoàn)\s+\d[\w./-]*",
    re.IGNORECASE,
)

_TOKEN_RE = re.compile(
    rf"(?P<from>\btừ\s+)?(?P<a>{_NUM})(?P<apct>\s*%)?"
    rf"(?:(?P<sep>{_DASH}|\s+(?:đến|tới)\s+)(?P<b>{_NUM})(?!\s*[/.-]\s*\d))?"
    rf"(?:\s*/\s*(?P<den>{_NUM})(?!\s*[/.-]\s*\d))?",
    re.IGNORECASE,
)
_MIN_WORDS = ("trên", "hơn", "quá", "ít nhất", "tối thiểu", "không dưới")
_MAX_WORDS = ("dưới", "chưa đến", "chưa tới", "không quá", "tối đa", "chưa đầy")
_ABOUT_WORDS = ("khoảng", "gần", "chừng", "xấp xỉ", "ước")
_BOUND_BEFORE_RE = re.compile(
    r"(?P<word>"
    + "|".join(re.escape(w) for w in sorted(_MIN_WORDS + _MAX_WORDS + _ABOUT_WORDS, key=len)[::-1])
    + r")\s+$",
    re.IGNORECASE,
)
# "từ 110 đảng viên mới trở lên": a lower bound stated after the unit.
_TRO_LEN_RE = re.compile(r"[^\d;,.()]{0,40}?\btrở lên\b", re.IGNORECASE)
_PER_RE = re.compile(r"\s*/\s*(năm|tháng|quý|người)\b", re.IGNORECASE)
_UNIT_RE = re.compile(r"\s*((?:[^\W\d_]+)(?:\s+[^\W\d_]+){0,3})")

# Counting nouns recognised right after a figure, longest first.
UNITS = tuple(
    sorted(
        """
        đảng viên|quần chúng ưu tú|quần chúng|đồng chí|người|chi bộ cơ sở|chi bộ|đảng bộ cơ sở|
        đảng bộ xã|đảng bộ|tổ chức cơ sở đảng|tổ chức cơ sở|tổ chức đảng|TCCSĐ|TCCS|lớp|thôn bản|
        thôn|bản|làng|xã|phường|thị trấn|huyện|nhiệm vụ|giải pháp|cán bộ|dân quân|chuyên viên|năm|
        tháng|ngày|tuần|tuổi|học viên|hộ|cơ sở|đơn vị|cơ quan|doanh nghiệp|trường|tổ dân phố|
        khu dân cư|buổi|đợt|cuộc|lượt|hội viên|đoàn viên|chi hội|tiêu chí|nội dung|cấp|
        học sinh|sinh viên|công nhân|em
        """.replace("\n", "").split("|"),
        key=len,
        reverse=True,
    )
)
UNITS_FOLDED = tuple((u.strip(), fold(u.strip())) for u in UNITS if u.strip())
# Counting nouns written as their abbreviation ("21 ĐV mới" after "đảng viên (ĐV)"): the unit is
# the words they stand for, the figure keeps the text's own spelling.
_ABBREVIATED_UNIT_RE = re.compile(
    r"\s*("
    + "|".join(
        re.escape(a) for a, words in SPELLED_OUT.items() if words in {u for u, _ in UNITS_FOLDED}
    )
    + r")(?!\w)"
)


@dataclass(frozen=True)
class Number:
    """A numeric expression: ``text[start:end]`` is what the article wrote."""

    start: int
    end: int
    text: str
    value: float  # the number, or the low end of a range, or the part of "247/470"
    high: float | None = None  # the high end of a range
    denominator: float | None = None  # the whole of "247/470"
    measure: Measure = "count"
    bound: Bound = "exact"
    unit: str | None = None  # "%", or the counting noun after the figure ("đảng viên", "lớp")
    unit_end: int | None = None  # where the unit ends in the text
    per: str | None = None  # "năm" in "150 đảng viên/năm"


def parse_value(token: str) -> float | None:
    """One Vietnamese-formatted number: "3.790" → 3790, "90,6" → 90.6, "1.234,5" → 1234.5."""
    token = token.strip()
    if not re.fullmatch(_NUM, token):
        return None
    if "," in token and "." in token:
        # Dots group thousands, the comma marks decimals.
        whole, _, frac = token.rpartition(",")
        if not re.fullmatch(r"\d{1,3}(?:\.\d{3})+", whole):
            return None
        return float(whole.replace(".", "") + "." + frac)
    if "," in token:
        if token.count(",") > 1:
            return None
        return float(token.replace(",", "."))
    if "." in token:
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", token):
            return float(token.replace(".", ""))
        if token.count(".") == 1:
            return float(token)  # an English-style decimal: rare, but "3.5" is not 35
        return None
    return float(token)


def _skip_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _DATE_RE.finditer(text)]
    spans += [m.span() for m in _CODE_RE.finditer(text)]
    spans += [m.span() for m in _LABEL_RE.finditer(text)]
    return sorted(spans)


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= pos < e for s, e in spans)


def _is_year(token: str) -> bool:
    return bool(_YEAR_RE.fullmatch(token))


def _unit_after(text: str, pos: int) -> tuple[str, int] | None:
    abbreviated = _ABBREVIATED_UNIT_RE.match(text, pos)
    if abbreviated is not None:
        return SPELLED_OUT[abbreviated.group(1)], abbreviated.end()
    match = _UNIT_RE.match(text, pos)
    if match is None:
        return None
    phrase = fold(match.group(1))
    for written, folded in UNITS_FOLDED:
        if phrase == folded or phrase.startswith(folded + " "):
            # Keep the text's own spelling and case.
            start = match.start(1)
            return text[start : start + len(written)], start + len(written)
    return None


def find_numbers(text: str) -> list[Number]:
    """Every quantity in ``text``, in order, with its span."""
    skip = _skip_spans(text)
    found: list[Number] = []
    for match in _TOKEN_RE.finditer(text):
        a_start = match.start("a")
        if _inside(a_start, skip):
            continue
        if a_start > 0 and (text[a_start - 1].isalnum() or text[a_start - 1] in "/-+"):
            continue  # part of a code or word ("NQ/TU", "B52")
        number = _number_from_match(text, match)
        if number is not None:
            found.append(number)
    return found


def _number_from_match(text: str, match: re.Match[str]) -> Number | None:
    a_text, b_text, den_text = match.group("a"), match.group("b"), match.group("den")
    a = parse_value(a_text)
    if a is None:
        return None
    start = match.start("from") if match.group("from") else match.start("a")
    end = match.end()
    high: float | None = None
    denominator: float | None = None
    if b_text is not None:
        if _is_year(a_text) and _is_year(b_text):
            return None  # "2015 - 2020" is a period
        b = parse_value(b_text)
        if b is None or b < a:
            # Not a range ("56 bản - 20"): keep the first number alone.
            end = match.end("apct") if match.group("apct") else match.end("a")
            b_text = den_text = None
        else:
            high = b
    if den_text is not None:
        if _is_year(den_text) and not high:
            return None  # "1090/2023": a document number or month/year
        den = parse_value(den_text)
        if den is None or den < a or high is not None:
            return None
        denominator = den
    if high is None and denominator is None and _is_year(a_text) and not match.group("apct"):
        pct = _PERCENT_RE.match(text, end)
        if pct is None:
            return None  # a bare year
    per: str | None = None
    measure: Measure = "ratio" if denominator is not None else "count"
    unit: str | None = None
    unit_end: int | None = None
    pct = _PERCENT_RE.match(text, end)
    if match.group("apct") or pct is not None:
        measure = "percent"
        if pct is not None:
            end = pct.end()
        unit, unit_end = "%", end
    else:
        mult = _MULT_RE.match(text, end)
        if mult is not None:
            factor = _MULTIPLIERS[fold(mult.group(1))]
            a *= factor
            high = high * factor if high is not None else None
            end = mult.end()
        after = _unit_after(text, end)
        if after is not None:
            unit, unit_end = after
            rate = _PER_RE.match(text, unit_end)
            if rate is not None:
                per, unit_end = rate.group(1), rate.end()
    bound: Bound = "exact"
    before = _BOUND_BEFORE_RE.search(text, max(0, start - 20), start)
    if before is not None:
        word = before.group("word").lower()
        bound = "min" if word in _MIN_WORDS else "max" if word in _MAX_WORDS else "about"
        start = before.start()
    if match.group("from") and high is None:
        # "từ 110 đảng viên trở lên" is a lower bound; in "từ 56 bản xuống còn 20 bản" the "từ"
        # opens no range and is not part of the figure.
        if _TRO_LEN_RE.match(text, unit_end or end):
            bound = "min"
        elif before is None:
            start = match.start("a")
    elif bound == "exact" and high is None and _TRO_LEN_RE.match(text, unit_end or end):
        bound = "min"
    return Number(
        start=start,
        end=end,
        text=text[start:end],
        value=a,
        high=high,
        denominator=denominator,
        measure=measure,
        bound=bound,
        unit=unit,
        unit_end=unit_end,
        per=per,
    )


def parse_number(expression: str) -> Number | None:
    """The first quantity in a short expression ("trên 85%" → 85, min, percent)."""
    numbers = find_numbers(expression)
    return numbers[0] if numbers else None


def format_number(value: float, decimals: int = 1) -> str:
    """A value written the Vietnamese way: 9069 → "9.069", 6.246 → "6,2"."""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}".replace(",", ".")
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def format_percent(value: float, decimals: int = 1) -> str:
    return format_number(value, decimals) + "%"
