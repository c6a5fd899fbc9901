"""Figures of an article as facts: what is counted, where, when, and the sentence that says so.

Rule-based, written for Vietnamese reports on party building. For every quantity that
``ingest.numbers`` finds in a sentence, the rules read the words around it:

- **kind** (what is counted): ``ket_nap`` new members admitted, ``tong_dang_vien`` members in
  total, ``ty_le_dat_chi_tieu`` share of a target reached ("đạt 133% chỉ tiêu"), ``to_chuc_dang``
  grassroots party organisations, ``chi_bo`` party cells, ``lop_boi_duong`` classes,
  ``thon_ban`` villages (without a cell or members), ``xuat_sac`` / ``hoan_thanh_tot`` members
  rated, ``chuyen_chinh_thuc`` / ``chuyen_sinh_hoat`` transfers, ``can_bo`` cadres,
  ``don_vi_hanh_chinh`` communes and towns, ``do_tuoi`` ages, ``khac`` anything else with a unit;
- **segment** of those counted: women ``nu``, ethnic minorities ``dan_toc_thieu_so``, youth union
  members ``doan_vien``, religious ``co_dao``, local people ``tai_cho``, education ``trinh_do``;
- **target** (a plan or quota, "đặt ra mục tiêu … kết nạp 150 đảng viên/năm") or a result;
- **place**: the place or organisation named nearest the figure in its sentence ("Huyện ủy Tuần
  Giáo", "Đảng bộ phường Đông Phong"); a generic one ("toàn huyện", "Đảng bộ thành phố", "Đảng ủy
  Khối") is resolved to the article's place of that level; else the previous sentence's place;
  else the article's main place (the first named in its title, or the most named in its text);
- **period**: "năm 2022", "2015 - 2020", "nhiệm kỳ 2015-2020", "từ năm 2016 đến 31-3-2018", "tính
  đến 31/12/2022", "đến nay", "5 năm qua", "hằng năm" (a per-year figure); the nearest before the
  figure in its sentence, else after it, else from the two sentences before, else the
  publication date;
- a **consistency note** where a stated share does not match its parts ("215 … trong tổng số
  3.442 đảng viên, chiếm 0,06%": 215/3.442 is about 6,2%).

Not covered: numbers written as words ("hai lớp"), figures in tables, places not introduced by an
administrative word (a bare "Lai Châu"), comparisons stated in words ("tăng gấp đôi").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from ingest.chunking import split_sentences
from ingest.models import Article
from ingest.numbers import Number, find_numbers, format_number, format_percent
from ingest.vietnamese import fold

KINDS: dict[str, str] = {
    "ket_nap": "đảng viên mới kết nạp",
    "tong_dang_vien": "tổng số đảng viên",
    "ty_le_dat_chi_tieu": "tỷ lệ so với chỉ tiêu",
    "to_chuc_dang": "tổ chức cơ sở đảng",
    "chi_bo": "chi bộ",
    "lop_boi_duong": "lớp bồi dưỡng",
    "thon_ban": "thôn, bản",
    "xuat_sac": "đảng viên hoàn thành xuất sắc nhiệm vụ",
    "hoan_thanh_tot": "đảng viên hoàn thành tốt nhiệm vụ",
    "chuyen_chinh_thuc": "đảng viên dự bị chuyển chính thức",
    "chuyen_sinh_hoat": "đảng viên chuyển sinh hoạt",
    "can_bo": "cán bộ",
    "don_vi_hanh_chinh": "đơn vị hành chính",
    "do_tuoi": "độ tuổi",
    "khac": "số liệu khác",
}
SEGMENTS: dict[str, str] = {
    "doan_vien": "là đoàn viên thanh niên",
    "nu": "nữ",
    "dan_toc_thieu_so": "người dân tộc thiểu số",
    "co_dao": "người có đạo",
    "tai_cho": "người tại chỗ",
    "trinh_do": "theo trình độ học vấn",
}


@dataclass(frozen=True)
class Fact:
    """One figure of an article. ``Article.text[start:end] == sentence``."""

    article_id: str
    kind: str  # a key of KINDS
    segment: str | None  # a key of SEGMENTS: which part of those counted
    measure: str  # "count", "percent" or "ratio"
    value: float  # the figure; the low end of a range; the part of "247/470"
    high: float | None  # the high end of a range
    denominator: float | None  # the whole of "247/470"
    bound: str  # "exact", "min" ("trên 85%"), "max", "about"
    unit: str | None  # "%", "đảng viên", "lớp", ...
    figure: str  # as written, with its unit: "470 đảng viên", "90,6%", "2 - 3 lớp"
    target: bool  # a plan or quota, not a result
    per_year: bool  # "150 đảng viên/năm", "hằng năm", "bình quân mỗi năm"
    place: str | None  # "huyện Tuần Giáo", "Khối các cơ quan tỉnh Lạng Sơn"
    place_key: str | None  # folded place, for matching
    period: str | None  # as written: "từ năm 2016 đến 31-3-2018"; "ngày đăng 2018-04-13"
    year_from: int | None
    year_to: int | None
    sentence: str
    start: int
    end: int
    figure_start: int
    figure_end: int
    whole: float | None = None  # the total a share or a part is of, when the article states it
    # A share that does not match its parts: "215/3.442 ≈ 6,2%, không phải 0,06%".
    note: str | None = None

    @property
    def label(self) -> str:
        text = KINDS.get(self.kind, self.kind)
        if self.segment:
            text += f" ({SEGMENTS.get(self.segment, self.segment)})"
        if self.target:
            text = f"chỉ tiêu: {text}"
        return text


# --- places ----------------------------------------------------------------------------------

_LEVEL_WORDS: list[tuple[str, str]] = [
    # (pattern, level); longest first so "Khối các cơ quan tỉnh Lạng Sơn" is not "tỉnh Lạng Sơn".
    (r"Khối các cơ quan(?: và doanh nghiệp)? tỉnh", "Khối các cơ quan tỉnh"),
    (r"Khối doanh nghiệp tỉnh", "Khối doanh nghiệp tỉnh"),
    (r"[Tt]hành phố|TP\.?|[Tt]hành [uủ]y", "thành phố"),
    (r"[Tt]hị xã|[Tt]hị [uủ]y", "thị xã"),
    (r"[Tt]hị trấn", "thị trấn"),
    (r"[Hh]uyện [uủ]y|[Hh]uyện", "huyện"),
    (r"[Qq]uận [uủ]y|[Qq]uận", "quận"),
    (r"[Tt]ỉnh [uủ]y|[Tt]ỉnh", "tỉnh"),
    (r"[Pp]hường", "phường"),
    (r"[Xx]ã", "xã"),
]
_LEVEL_RE = re.compile(
    "|".join(f"(?P<l{i}>\\b(?:{pattern}))" for i, (pattern, _) in enumerate(_LEVEL_WORDS))
)
_SYLLABLE_RE = re.compile(r"\s+([^\W\d_]+)")
# Capitalised words that follow a level word without being a place's name.
_NOT_NAME = frozenset(fold(w) for w in "Đảng Nhà Nước Ban Nghị Quyết Đại Hội Ủy".split())
# Generic mentions: "toàn huyện", "Đảng bộ thành phố", "Huyện ủy" (without a name after).
_GENERIC_RE = re.compile(
    r"\btoàn (?P<a>huyện|thành phố|tỉnh|phường|xã|quận|thị xã|Đảng bộ)\b"
    r"|\b(?:Đảng bộ|Đảng ủy|Đảng uỷ|Ban Thường vụ|Thường trực) (?P<b>huyện|thành phố|tỉnh|phường|"
    r"xã|quận|thị xã|Khối)\b"
    r"|\b(?P<c>Huyện|Thành|Tỉnh|Quận|Thị) [uủ]y\b(?! viên)"
)
_GENERIC_LEVEL = {
    "huyện": "huyện",
    "thành phố": "thành phố",
    "thành": "thành phố",
    "tỉnh": "tỉnh",
    "phường": "phường",
    "xã": "xã",
    "quận": "quận",
    "thị xã": "thị xã",
    "thị": "thị xã",
    "khối": "Khối các cơ quan tỉnh",
    "đảng bộ": "",
    "đảng ủy": "",
    "đảng uỷ": "",
}


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    level: str  # "" for a bare "Đảng bộ"
    name: str | None  # None: generic, resolved against the article's places


def _mentions(text: str) -> list[_Mention]:
    found: list[_Mention] = []
    for match in _LEVEL_RE.finditer(text):
        level = next(
            _LEVEL_WORDS[int(k[1:])][1] for k, v in match.groupdict().items() if v is not None
        )
        names: list[str] = []
        pos = match.end()
        while len(names) < 4:
            syllable = _SYLLABLE_RE.match(text, pos)
            if syllable is None or "\n" in text[pos : syllable.start(1)]:
                break
            word = syllable.group(1)
            if not word[:1].isupper() or (not names and fold(word) in _NOT_NAME):
                break
            names.append(word)
            pos = syllable.end()
        if names:
            found.append(_Mention(match.start(), pos, level, " ".join(names)))
    for match in _GENERIC_RE.finditer(text):
        if any(m.start <= match.start() < m.end for m in found):
            continue
        word = next(v for v in match.groupdict().values() if v is not None)
        level = _GENERIC_LEVEL[word.lower()]
        found.append(_Mention(match.start(), match.end(), level, None))
    return sorted(found, key=lambda m: m.start)


class _Places:
    """The places an article names, to resolve generic mentions ("toàn huyện")."""

    def __init__(self, article: Article) -> None:
        named = [m for m in _mentions(article.text) if m.name]
        self.counts = Counter((m.level, m.name) for m in named)
        title_named = [m for m in _mentions(article.title) if m.name]
        self.title = [(m.level, m.name) for m in title_named]
        self.main: tuple[str, str] | None = None
        if self.title:
            self.main = (self.title[0][0], str(self.title[0][1]))
        elif self.counts:
            (level, name), _ = self.counts.most_common(1)[0]
            self.main = (level, str(name))

    def resolve(self, mention: _Mention) -> tuple[str, str] | None:
        if mention.name is not None:
            return mention.level, mention.name
        if not mention.level:
            return self.main
        for level, name in self.title:
            if level == mention.level and name:
                return level, name
        same = [(key, n) for key, n in self.counts.most_common() if key[0] == mention.level]
        if same:
            level, name = same[0][0]
            return level, str(name)
        if self.main and self.main[0] == mention.level:
            return self.main
        return None


def _place_text(place: tuple[str, str]) -> str:
    return f"{place[0]} {place[1]}".strip()


# --- periods ---------------------------------------------------------------------------------

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
    # "5 năm qua", "đến nay", "hiện có"
    rf"|(?P<recent>\b(?P<n>\d+)\s+năm\s+(?:qua|gần đây)\b)"
    rf"|(?P<nowish>\b(?:[Đđ]ến nay|[Hh]iện nay|[Hh]iện có|^Hiện)\b)"
    r"|(?P<term>\b(?:đầu\s+)?[Nn]hiệm kỳ(?:\s+(?:này|tới|trước))?\b)"
)
_EVERY_YEAR_RE = re.compile(r"(?<!quân )\b(?:[Hh][ằà]ng năm|[Mm]ỗi năm)\b")
_PER_YEAR_RE = re.compile(
    r"\b(?:[Hh][ằà]ng năm|[Mm]ỗi năm|[Bb]ình quân(?: hằng| hàng| mỗi)? năm|/năm)\b"
)


@dataclass(frozen=True)
class _Period:
    start: int
    end: int
    label: str
    year_from: int | None
    year_to: int | None


def _periods(text: str, published: int | None) -> list[_Period]:
    found: list[_Period] = []
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
            y_from = published - int(m.group("n")) if published else None
        elif m.group("nowish"):
            y_from = y_to = published
            label = "đến nay"
        else:
            y_from = y_to = None
            label = "nhiệm kỳ"
        found.append(_Period(m.start(), m.end(), label, y_from, y_to))
    return found


# --- kinds -----------------------------------------------------------------------------------

_SEGMENT_RES: list[tuple[str, re.Pattern[str]]] = [
    ("doan_vien", re.compile(r"\bdoan vien\b")),
    ("dan_toc_thieu_so", re.compile(r"\bdan toc\b")),
    ("co_dao", re.compile(r"\bco dao\b|\bton giao\b")),
    ("tai_cho", re.compile(r"\btai cho\b|\bo thon\b")),
    ("trinh_do", re.compile(r"\btrinh do\b")),
    ("nu", re.compile(r"\bnu\b")),
]
_TARGET_RE = re.compile(
    r"\b(?:(?:dat ra|de ra|giao|xay dung) (?:muc tieu|chi tieu)|chi tieu (?:ket nap|phat trien)"
    r"|phan dau|du kien|ke hoach (?:ket nap|phat trien)|giao [a-z ]{0,30}\bmo)\b"
)
_SHARE_LEAD_RE = re.compile(r"\b(?:chiem|bang)[\s,]*(?:ty le|ti le)?[\s,]*$")
_OF_TARGET_RE = re.compile(r"^\s*(?:so voi\s+)?(?:chi tieu|ke hoach|muc tieu)\b")
_LISTING_START_RE = re.compile(r"\s*trong (?:so )?(?:do|nay)\b")
# Folded words just before a figure that make it a stock ("có 5.279 đảng viên"), not an intake.
STOCK_BEFORE_RE = re.compile(r"\b(?:tong cong|tong so|co|voi|gom)\s*$")
_DURATION_UNITS = frozenset({"nam", "thang", "ngay", "tuan"})
_UNIT_KINDS: list[tuple[tuple[str, ...], str]] = [
    (
        ("tccsd", "tccs", "to chuc co so", "to chuc dang", "dang bo co so", "dang bo xa"),
        "to_chuc_dang",
    ),
    (("chi bo co so",), "to_chuc_dang"),
    (("chi bo",), "chi_bo"),
    (("lop",), "lop_boi_duong"),
    (("thon ban", "thon", "ban", "lang"), "thon_ban"),
    (("xa", "phuong", "thi tran", "huyen"), "don_vi_hanh_chinh"),
    (("can bo", "dan quan", "chuyen vien"), "can_bo"),
    (("tuoi",), "do_tuoi"),
]
_PEOPLE_UNITS = frozenset({"dang vien", "quan chung uu tu", "quan chung", "dong chi", "nguoi"})


def _segment(words: str) -> str | None:
    for name, pattern in _SEGMENT_RES:
        if pattern.search(words):
            return name
    return None


def _last_segment(words: str) -> str | None:
    """The segment named last: "dân tộc thiểu số 106, nữ 76" labels 76 as women."""
    best: tuple[int, str] | None = None
    for name, pattern in _SEGMENT_RES:
        for match in pattern.finditer(words):
            if best is None or match.end() > best[0]:
                best = (match.end(), name)
    return None if best is None else best[1]


def _unit_kind(unit: str) -> str | None:
    for units, kind in _UNIT_KINDS:
        if unit in units:
            return kind
    return None


@dataclass
class _Draft:
    number: Number
    kind: str
    segment: str | None = None
    target: bool = False
    whole: float | None = None
    subject: _Draft | None = None  # the count a share is of


def _clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    start = max(sentence.rfind(";", 0, pos), sentence.rfind(":", 0, pos)) + 1
    end = sentence.find(";", pos)
    return start, len(sentence) if end == -1 else end


def _paren_bounds(sentence: str, pos: int) -> tuple[int, int] | None:
    open_ = sentence.rfind("(", 0, pos)
    if open_ == -1 or sentence.find(")", open_, pos) != -1:
        return None
    close = sentence.find(")", pos)
    return open_, len(sentence) if close == -1 else close


def _classify(
    sentence: str,
    number: Number,
    drafts: list[_Draft],
    offset: int,
    previous: _Draft | None = None,
) -> _Draft | None:
    """What a figure counts, from the words around it in its sentence (``offset`` maps the
    number's article offsets into the sentence; ``previous`` is the previous sentence's main
    count of people)."""
    n_start, n_end = number.start - offset, (number.unit_end or number.end) - offset
    c_start, c_end = _clause_bounds(sentence, n_start)
    parens = _paren_bounds(sentence, n_start)
    pre = fold(sentence[c_start:n_start])
    near = pre[-50:]
    post_end = c_end
    nxt = re.search(r"[(\d]", sentence[n_end:c_end])
    if nxt is not None:
        post_end = n_end + nxt.start()
    post = fold(sentence[n_end:post_end])[:80]
    unit = fold(number.unit) if number.unit and number.unit != "%" else None
    sentence_pre = fold(sentence[:n_start])
    target = bool(_TARGET_RE.search(sentence_pre[-120:]))
    people = [
        d
        for d in drafts
        if d.number.measure != "percent" and fold(d.number.unit or "") in _PEOPLE_UNITS
    ]
    main = next((d for d in people if d.segment is None), None)
    if main is None and previous is not None and _LISTING_START_RE.match(fold(sentence)):
        # "Trong đó có 40 đảng viên nữ": the parts of the previous sentence's figure.
        main, after_listing = previous, True
    else:
        main = main or (people[0] if people else None)
        after_listing = main is not None and "trong do" in fold(
            sentence[main.number.end - offset : n_start]
        )

    if number.measure == "percent":
        subject = None
        whole = None
        if parens is not None:
            inside = [d for d in drafts if parens[0] <= d.number.start - offset < parens[1]]
            outside = [d for d in drafts if d.number.start - offset < parens[0]]
            subject = outside[-1] if outside else None
            totals = [d for d in inside if "tong so" in fold(sentence[parens[0] : n_start])]
            whole = totals[-1].number.value if totals else None
        elif _SHARE_LEAD_RE.search(near):
            counts = [d for d in drafts if d.number.measure != "percent"]
            subject = counts[-1] if counts else None
        if subject is not None and not _OF_TARGET_RE.match(post):
            draft = _Draft(number, subject.kind, subject.segment, subject.target)
            draft.subject = subject
            if subject.number.denominator is not None:
                draft.whole = subject.number.denominator
            elif whole is not None:
                draft.whole = whole
            elif (
                subject.segment is not None
                and main is not None
                and main.segment is None
                and main.kind == subject.kind
            ):
                draft.whole = main.number.value
            elif "tong so dang vien" in post:
                draft.whole = -1.0  # the article's total members, resolved later
            return draft
        if (
            _OF_TARGET_RE.match(post)
            or re.search(r"\b(?:dat|vuot)(?: tu)?\s*$", near)
            and (re.search(r"\b(?:chi tieu|ke hoach)\b", post))
        ):
            return _Draft(number, "ty_le_dat_chi_tieu")
        segment = _segment(post)
        if "to chuc dang" in post or "chi bo" in post:
            return _Draft(number, "to_chuc_dang", segment, target)
        if re.match(r"\s*(?:to truong|truong ban|can bo)", post):
            return _Draft(number, "can_bo", None, target)
        if post.strip().startswith("dang vien"):
            kind = (
                "ket_nap"
                if "ket nap" in sentence_pre or "dang vien moi" in sentence_pre
                else ("tong_dang_vien")
            )
            return _Draft(number, kind, segment, target)
        return _Draft(number, "khac", segment, target)

    if unit in _DURATION_UNITS:
        return None
    if number.unit is None:
        # "trong đó là người dân tộc thiểu số 106, nữ 76": the label comes before the figure.
        label = _last_segment(near[-25:])
        if main is not None and after_listing and label is not None:
            return _Draft(number, main.kind, label, main.target)
        if re.search(r"\bdo tuoi(?: tu)?\s*$", near):
            return _Draft(number, "do_tuoi")
        return None
    if re.match(r"\s*trong\b", fold(sentence[number.end - offset : number.end - offset + 8])):
        return None  # "là 1 trong 37 đảng viên": one person, not a figure
    segment = _segment(post)
    if unit is not None and unit not in _PEOPLE_UNITS:
        kind = _unit_kind(unit) or "khac"
        return _Draft(number, kind, None, target and kind in ("lop_boi_duong", "chi_bo"))
    if "chuyen" in pre and "chinh thuc" in pre:
        return _Draft(number, "chuyen_chinh_thuc")
    if "chuyen sinh hoat" in pre:
        return _Draft(number, "chuyen_sinh_hoat")
    if "hoan thanh xuat sac" in post:
        return _Draft(number, "xuat_sac")
    if "hoan thanh tot" in post:
        return _Draft(number, "hoan_thanh_tot")
    if unit == "dong chi" and re.search(r"\b(?:can bo|cong chuc)\b", post):
        return _Draft(number, "can_bo")
    if target and "ket nap" in (pre + post):
        return _Draft(number, "ket_nap", segment, True)
    if after_listing and main is not None:
        return _Draft(number, main.kind, segment, main.target)
    if (
        "ket nap" in pre
        or "ket nap" in post
        or unit in ("quan chung uu tu", "quan chung")
        or post.startswith(" moi")
    ):
        return _Draft(number, "ket_nap", segment)
    if STOCK_BEFORE_RE.search(near) or "tong so" in near:
        return _Draft(number, "tong_dang_vien", segment)
    return _Draft(number, "tong_dang_vien" if segment else "khac", segment)


# --- extraction ------------------------------------------------------------------------------


def _consistency(draft: _Draft, whole: float) -> str | None:
    """A note when a stated share does not match part/whole."""
    subject = draft.subject
    if subject is None or whole <= 0:
        return None
    part = subject.number.value
    computed = part / whole * 100
    stated = draft.number.value
    if draft.number.bound == "min":
        ok = computed >= stated - 0.5
    elif draft.number.bound == "max":
        ok = computed <= stated + 0.5
    else:
        ok = abs(computed - stated) <= max(0.6, 0.05 * stated)
    if ok:
        return None
    return (
        f"{format_number(part)}/{format_number(whole)} ≈ {format_percent(computed)}, "
        f"không phải {draft.number.text.strip()}"
    )


def _year_of(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None


def extract_facts(article: Article) -> list[Fact]:
    """Every figure of ``article`` as a fact, in reading order."""
    text = article.text
    published = _year_of(article.date)
    places = _Places(article)
    spans = split_sentences(text)
    sentence_periods = [_periods(text[s:e], published) for s, e in spans]
    facts: list[Fact] = []
    pending_totals: list[tuple[int, _Draft]] = []
    carried_place: tuple[str, str] | None = None
    previous_main: _Draft | None = None
    for index, (s_start, s_end) in enumerate(spans):
        sentence = text[s_start:s_end]
        if index > 0 and "\n" in text[spans[index - 1][1] : s_start]:
            carried_place = None  # a new paragraph starts afresh
        mentions = _mentions(sentence)
        resolved = [(m, places.resolve(m)) for m in mentions]
        resolved = [(m, p) for m, p in resolved if p is not None]
        numbers = [n for n in find_numbers(text[s_start:s_end])]
        drafts: list[_Draft] = []
        for number in numbers:
            shifted = replace(
                number,
                start=number.start + s_start,
                end=number.end + s_start,
                unit_end=None if number.unit_end is None else number.unit_end + s_start,
            )
            draft = _classify(sentence, shifted, drafts, s_start, previous_main)
            if draft is not None:
                drafts.append(draft)
        people = [
            d
            for d in drafts
            if d.number.measure == "count" and fold(d.number.unit or "") in _PEOPLE_UNITS
        ]
        previous_main = next((d for d in people if d.segment is None), None)
        for draft in drafts:
            number = draft.number
            pos = number.start - s_start
            place = _nearest_place(resolved, pos, sentence) or carried_place or places.main
            clause_end = _clause_bounds(sentence, pos)[1]
            per_year = bool(number.per) or bool(_PER_YEAR_RE.search(sentence[:clause_end]))
            # "Hằng năm, … mở 4 lớp" happens every year: an earlier sentence's year is not its
            # period. "Bình quân hằng năm kết nạp 85" averages over the period stated before.
            every_year = bool(_EVERY_YEAR_RE.search(sentence[:clause_end]))
            period = _period_for(sentence_periods, index, pos, look_back=not every_year)
            label, y_from, y_to = period if period else (None, None, None)
            if label is None and per_year:
                label, y_from, y_to = "hằng năm", None, published
            elif label is None and article.date:
                label, y_from, y_to = f"ngày đăng {article.date}", published, published
            figure_end = number.unit_end or number.end
            fact = Fact(
                article_id=article.article_id,
                kind=draft.kind,
                segment=draft.segment,
                measure=number.measure,
                value=number.value,
                high=number.high,
                denominator=number.denominator,
                bound=number.bound,
                unit=number.unit,
                figure=text[number.start : figure_end],
                target=draft.target,
                per_year=per_year,
                place=_place_text(place) if place else None,
                place_key=fold(_place_text(place)) if place else None,
                period=label,
                year_from=y_from,
                year_to=y_to,
                sentence=sentence,
                start=s_start,
                end=s_end,
                figure_start=number.start,
                figure_end=figure_end,
                whole=draft.whole if draft.whole and draft.whole > 0 else None,
                note=_consistency(draft, draft.whole) if draft.whole and draft.whole > 0 else None,
            )
            if draft.whole == -1.0:
                pending_totals.append((len(facts), draft))
            facts.append(fact)
        if resolved:
            carried_place = resolved[-1][1]
    for position, draft in pending_totals:
        fact = facts[position]
        totals = [
            f
            for f in facts
            if f.kind == "tong_dang_vien"
            and f.segment is None
            and f.measure == "count"
            and f.place_key == fact.place_key
        ]
        if totals:
            whole = totals[0].value
            facts[position] = replace(fact, whole=whole, note=_consistency(draft, whole))
    return facts


def _nearest_place(
    resolved: list[tuple[_Mention, tuple[str, str] | None]], pos: int, sentence: str
) -> tuple[str, str] | None:
    """The place named nearest before the figure (a named one over a generic one in the same
    clause), else the first after it."""
    before = [(m, p) for m, p in resolved if m.end <= pos]
    if before:
        clause_start = _clause_bounds(sentence, pos)[0]
        in_clause = [(m, p) for m, p in before if m.start >= clause_start]
        pool = in_clause or before
        named = [(m, p) for m, p in pool if m.name is not None and m.level]
        specific = [(m, p) for m, p in pool if m.level]
        chosen = (named or specific or pool)[-1]
        if named and specific and specific[-1][0].start > named[-1][0].start:
            chosen = specific[-1]
        return chosen[1]
    after = [(m, p) for m, p in resolved if m.start >= pos]
    return after[0][1] if after else None


def _period_for(
    sentence_periods: list[list[_Period]], index: int, pos: int, *, look_back: bool = True
) -> tuple[str, int | None, int | None] | None:
    periods = sentence_periods[index]
    before = [p for p in periods if p.end <= pos]
    after = [p for p in periods if p.start >= pos]
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
