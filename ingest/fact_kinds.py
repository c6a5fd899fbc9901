"""What a figure counts: its kind, segment and target flag, from the words around it.

``classify`` reads one figure of a sentence at a time, in reading order, with the figures already
read (a share is of the count before it; "trong đó …" lists parts of the sentence's main count).
The kinds and segments are the keys of ``ingest.facts.KINDS`` and ``ingest.facts.SEGMENTS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.lexicon import MEMBER_NOUNS, RECRUIT_NOUNS
from ingest.numbers import Number
from ingest.vietnamese import fold

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
# "đặt mục tiêu" (set a goal) folds as "đạt mục tiêu" (met it): read with its accents.
_SET_TARGET_RE = re.compile(r"\bđặt(?: ra)? (?:mục tiêu|chỉ tiêu)\b")
_SHARE_LEAD_RE = re.compile(r"\b(?:chiem|bang)[\s,]*(?:ty le|ti le)?[\s,]*$")
_OF_TARGET_RE = re.compile(r"^\s*(?:so voi\s+)?(?:chi tieu|ke hoach|muc tieu)\b")
# "đạt 133% chỉ tiêu", "vượt kế hoạch": a share of a target, read with _PLAN_AFTER_RE.
_ACHIEVED_BEFORE_RE = re.compile(r"\b(?:dat|vuot)(?: tu)?\s*$")
_PLAN_AFTER_RE = re.compile(r"\b(?:chi tieu|ke hoach)\b")
_LISTING_START_RE = re.compile(r"\s*trong (?:so )?(?:do|nay)\b")
_LEADER_AFTER_RE = re.compile(r"\s*(?:to truong|truong ban|can bo)")
_AGE_BEFORE_RE = re.compile(r"\bdo tuoi(?: tu)?\s*$")
# "kết nạp vượt chỉ tiêu 9 đảng viên": by how many a quota was exceeded, not how many joined.
_EXCESS_BEFORE_RE = re.compile(r"\bvuot(?: (?:muc|chi tieu|ke hoach|so voi chi tieu))?\s*$")
_ONE_OF_RE = re.compile(r"\s*trong\b")
_WHOLE_BEFORE_RE = re.compile(r"\btrong (?:tong )?so(?: cac)?\s*$")
_CADRE_AFTER_RE = re.compile(r"\b(?:can bo|cong chuc)\b")
# Where the words after a figure stop being about it: the next figure or parenthesis.
_NEXT_FIGURE_RE = re.compile(r"[(\d]")
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
PEOPLE_UNITS = MEMBER_NOUNS | {"nguoi"}


def _segment(words: str) -> str | None:
    for name, pattern in _SEGMENT_RES:
        if pattern.search(words):
            return name
    return None


def segments_named(words: str) -> frozenset[str]:
    """Every part of those counted that folded ``words`` name ("nữ", "dân tộc", "có đạo" …)."""
    return frozenset(name for name, pattern in _SEGMENT_RES if pattern.search(words))


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
class Draft:
    """A classified figure, before its place and period are known."""

    number: Number
    kind: str
    segment: str | None = None
    target: bool = False
    whole: float | None = None  # -1.0: the article's total members, resolved once all are read
    subject: Draft | None = None  # the count a share is of


def clause_bounds(sentence: str, pos: int) -> tuple[int, int]:
    """The clause of ``sentence`` around ``pos``: between semicolons (or after a colon)."""
    start = max(sentence.rfind(";", 0, pos), sentence.rfind(":", 0, pos)) + 1
    end = sentence.find(";", pos)
    return start, len(sentence) if end == -1 else end


def label_before(sentence: str, pos: int) -> tuple[int, int] | None:
    """Where the label of a figure written right after a colon lies ("Số đảng viên kết nạp:
    347", a table row's column or a report's label): back from the colon to the clause's ";" or
    a table row's "—", else the sentence's start. None when no colon comes right before."""
    before = sentence[:pos].rstrip()
    if not before.endswith(":"):
        return None
    colon = len(before) - 1
    return max(sentence.rfind(";", 0, colon), sentence.rfind("—", 0, colon)) + 1, colon


def _paren_bounds(sentence: str, pos: int) -> tuple[int, int] | None:
    open_ = sentence.rfind("(", 0, pos)
    if open_ == -1 or sentence.find(")", open_, pos) != -1:
        return None
    close = sentence.find(")", pos)
    return open_, len(sentence) if close == -1 else close


@dataclass(frozen=True)
class _Around:
    """What the rules read around one figure; the word strings are folded."""

    sentence: str
    number: Number
    drafts: list[Draft]  # the sentence's figures read so far
    offset: int  # maps the number's article offsets into the sentence
    start: int  # the figure's offset in the sentence
    parens: tuple[int, int] | None  # the parenthesis the figure stands in
    pre: str  # its clause before it
    near: str  # the last 50 characters of ``pre``
    post: str  # the words after it, up to the next figure or parenthesis
    unit: str | None  # None for "%"
    sentence_pre: str  # the whole sentence before it
    target: bool  # a plan or quota is named before it
    main: Draft | None  # the count of people the sentence (or a listing) is about
    after_listing: bool  # the figure is a part of ``main`` ("trong đó …")


def classify(
    sentence: str,
    number: Number,
    drafts: list[Draft],
    offset: int,
    previous: Draft | None = None,
) -> Draft | None:
    """What a figure counts, from the words around it in its sentence (``offset`` maps the
    number's article offsets into the sentence; ``previous`` is the previous sentence's main
    count of people). None: not a figure worth a fact (a duration, a bare number)."""
    around = _read_around(sentence, number, drafts, offset, previous)
    if number.measure == "percent":
        return _classify_share(around)
    return _classify_count(around)


def _read_around(
    sentence: str, number: Number, drafts: list[Draft], offset: int, previous: Draft | None
) -> _Around:
    n_start, n_end = number.start - offset, (number.unit_end or number.end) - offset
    c_start, c_end = clause_bounds(sentence, n_start)
    label = label_before(sentence, n_start)
    if label is not None:
        c_start = label[0]  # the label says what the figure counts
    pre = fold(sentence[c_start:n_start])
    post_end = c_end
    nxt = _NEXT_FIGURE_RE.search(sentence[n_end:c_end])
    if nxt is not None:
        post_end = n_end + nxt.start()
    sentence_pre = fold(sentence[:n_start])
    main, after_listing = _main_count(sentence, drafts, offset, previous, n_start)
    return _Around(
        sentence=sentence,
        number=number,
        drafts=drafts,
        offset=offset,
        start=n_start,
        parens=_paren_bounds(sentence, n_start),
        pre=pre,
        near=pre[-50:],
        post=fold(sentence[n_end:post_end])[:80],
        unit=fold(number.unit) if number.unit and number.unit != "%" else None,
        sentence_pre=sentence_pre,
        target=bool(
            _TARGET_RE.search(sentence_pre[-120:])
            or _SET_TARGET_RE.search(sentence[max(0, n_start - 120) : n_start].lower())
        ),
        main=main,
        after_listing=after_listing,
    )


def _main_count(
    sentence: str, drafts: list[Draft], offset: int, previous: Draft | None, n_start: int
) -> tuple[Draft | None, bool]:
    """The sentence's main count of people, and whether the figure at ``n_start`` lists its
    parts ("… 112 đảng viên, trong đó 48 nữ")."""
    people = [
        d
        for d in drafts
        if d.number.measure != "percent" and fold(d.number.unit or "") in PEOPLE_UNITS
    ]
    main = next((d for d in people if d.segment is None), None)
    if main is None and previous is not None and _LISTING_START_RE.match(fold(sentence)):
        # "Trong đó có 40 đảng viên nữ": the parts of the previous sentence's figure.
        return previous, True
    main = main or (people[0] if people else None)
    if main is None or main.number.start - offset > n_start:
        return main, False
    between = fold(sentence[main.number.end - offset : n_start])
    # "Trong số 957 đảng viên mới có 35 đảng viên thuộc …": the whole comes first.
    whole_first = _WHOLE_BEFORE_RE.search(fold(sentence[: main.number.start - offset]))
    return main, "trong do" in between or (whole_first is not None and " co " in f" {between} ")


# --- shares ----------------------------------------------------------------------------------


def _classify_share(a: _Around) -> Draft:
    subject, whole = _share_subject(a)
    if subject is not None and not _OF_TARGET_RE.match(a.post):
        return _share_of(a, subject, whole)
    if _OF_TARGET_RE.match(a.post) or (
        _ACHIEVED_BEFORE_RE.search(a.near) and _PLAN_AFTER_RE.search(a.post)
    ):
        return Draft(a.number, "ty_le_dat_chi_tieu")
    return _share_by_words_after(a)


def _share_subject(a: _Around) -> tuple[Draft | None, float | None]:
    """The count a share is of ("112 đảng viên …, chiếm 42,9%", "95 đảng viên (chiếm 8,5%)"), and
    a total stated with it in the parenthesis ("(… trong tổng số 3.442 …)")."""
    if a.parens is not None:
        open_, close = a.parens
        inside = [d for d in a.drafts if open_ <= d.number.start - a.offset < close]
        outside = [d for d in a.drafts if d.number.start - a.offset < open_]
        totals = [d for d in inside if "tong so" in fold(a.sentence[open_ : a.start])]
        return (outside[-1] if outside else None), (totals[-1].number.value if totals else None)
    if _SHARE_LEAD_RE.search(a.near):
        counts = [d for d in a.drafts if d.number.measure != "percent"]
        return (counts[-1] if counts else None), None
    return None, None


def _share_of(a: _Around, subject: Draft, whole: float | None) -> Draft:
    """A share of ``subject``, with the whole it is of where the article says."""
    draft = Draft(a.number, subject.kind, subject.segment, subject.target)
    draft.subject = subject
    main = a.main
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
    elif "tong so dang vien" in a.post:
        draft.whole = -1.0  # the article's total members, resolved later
    return draft


def _share_by_words_after(a: _Around) -> Draft:
    """A share of no count in its sentence: what it is of, from the words after it."""
    post = a.post
    segment = _segment(post)
    if "to chuc dang" in post or "chi bo" in post:
        return Draft(a.number, "to_chuc_dang", segment, a.target)
    if _LEADER_AFTER_RE.match(post):
        return Draft(a.number, "can_bo", None, a.target)
    if post.strip().startswith("dang vien"):
        admitted = "ket nap" in a.sentence_pre or "dang vien moi" in a.sentence_pre
        kind = "ket_nap" if admitted else "tong_dang_vien"
        return Draft(a.number, kind, segment, a.target)
    return Draft(a.number, "khac", segment, a.target)


# --- counts ----------------------------------------------------------------------------------


def _classify_count(a: _Around) -> Draft | None:
    if a.unit in _DURATION_UNITS:
        return None
    if a.number.unit is None:
        return _classify_bare(a)
    after = a.number.end - a.offset
    if a.number.value == 1 and _ONE_OF_RE.match(fold(a.sentence[after : after + 8])):
        return None  # "là 1 trong 37 đảng viên": one person, not a figure
    segment = _segment(a.post)
    if a.unit in RECRUIT_NOUNS:
        # An intake when the words say so, else not a count of members at all ("trường có
        # 6.120 học sinh"). The clause's verb may follow another figure: "12 em trong số 56
        # đoàn viên nói trên được kết nạp".
        rest = fold(a.sentence[after : clause_bounds(a.sentence, after)[1]])
        admitted = "ket nap" in a.pre or "ket nap" in rest or "vao dang" in rest
        return Draft(a.number, "ket_nap" if admitted else "khac", segment, a.target and admitted)
    if a.unit is not None and a.unit not in PEOPLE_UNITS:
        kind = _unit_kind(a.unit) or "khac"
        return Draft(a.number, kind, None, a.target and kind in ("lop_boi_duong", "chi_bo"))
    return _classify_people(a, segment)


def _classify_bare(a: _Around) -> Draft | None:
    """A figure without a unit: a part of a listing, or an age."""
    # "trong đó là người dân tộc thiểu số 106, nữ 76": the label comes before the figure.
    label = _last_segment(a.near[-25:])
    if a.main is not None and a.after_listing and label is not None:
        return Draft(a.number, a.main.kind, label, a.main.target)
    if _AGE_BEFORE_RE.search(a.near):
        return Draft(a.number, "do_tuoi")
    return None


def _classify_people(a: _Around, segment: str | None) -> Draft:
    """A count of people: transfers and ratings by their words, else an intake or a stock."""
    pre, post, near, unit = a.pre, a.post, a.near, a.unit
    if "chuyen" in pre and "chinh thuc" in pre:
        return Draft(a.number, "chuyen_chinh_thuc")
    if "chuyen sinh hoat" in pre:
        return Draft(a.number, "chuyen_sinh_hoat")
    if "hoan thanh xuat sac" in post:
        return Draft(a.number, "xuat_sac")
    if "hoan thanh tot" in post:
        return Draft(a.number, "hoan_thanh_tot")
    if unit == "dong chi" and _CADRE_AFTER_RE.search(post):
        return Draft(a.number, "can_bo")
    if _EXCESS_BEFORE_RE.search(near):
        return Draft(a.number, "khac", segment)
    if a.target and ("ket nap" in (pre + post) or "phat trien" in pre):
        # "giao chỉ tiêu … phát triển 1.905 đảng viên mới": developing members is admitting them.
        return Draft(a.number, "ket_nap", segment, True)
    if a.after_listing and a.main is not None:
        return Draft(a.number, a.main.kind, segment, a.main.target)
    if (
        "ket nap" in pre
        or "ket nap" in post
        or unit in ("quan chung uu tu", "quan chung")
        or post.startswith(" moi")
    ):
        return Draft(a.number, "ket_nap", segment)
    if STOCK_BEFORE_RE.search(near) or "tong so" in near:
        return Draft(a.number, "tong_dang_vien", segment)
    return Draft(a.number, "tong_dang_vien" if segment else "khac", segment)
