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

The rules live by job: ``ingest.fact_kinds`` (kind, segment, target), ``ingest.fact_places`` and
``ingest.fact_periods``; this module puts them together into ``Fact`` rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ingest.chunking import split_sentences
from ingest.fact_kinds import PEOPLE_UNITS, Draft, classify, clause_bounds, label_before
from ingest.fact_kinds import STOCK_BEFORE_RE as STOCK_BEFORE_RE  # questions read it too
from ingest.fact_periods import EVERY_YEAR_RE, PER_YEAR_RE, Period, period_for, periods
from ingest.fact_places import Mention, Places, mentions, place_text
from ingest.models import Article
from ingest.numbers import UNITS_FOLDED, find_numbers, format_number, format_percent
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


# --- extraction ------------------------------------------------------------------------------


def extract_facts(article: Article) -> list[Fact]:
    """Every figure of ``article`` as a fact, in reading order."""
    text = article.text
    published = _year_of(article.date)
    places = Places(article)
    spans = split_sentences(text)
    sentence_periods = [periods(text[s:e], published) for s, e in spans]
    facts: list[Fact] = []
    pending_totals: list[tuple[int, Draft]] = []
    carried_place: tuple[str, str] | None = None
    previous_main: Draft | None = None
    for index, (s_start, s_end) in enumerate(spans):
        sentence = text[s_start:s_end]
        if index > 0 and "\n" in text[spans[index - 1][1] : s_start]:
            carried_place = None  # a new paragraph starts afresh
        resolved = [(m, p) for m in mentions(sentence) if (p := places.resolve(m)) is not None]
        drafts = _sentence_drafts(sentence, s_start, previous_main)
        previous_main = _main_people(drafts)
        for draft in drafts:
            pos = draft.number.start - s_start
            place = _nearest_place(resolved, pos, sentence) or carried_place or places.main
            clause = sentence[: clause_bounds(sentence, pos)[1]]
            per_year = bool(draft.number.per) or bool(PER_YEAR_RE.search(clause))
            when = _when(sentence_periods, index, pos, clause, per_year, article.date, published)
            if draft.whole == -1.0:
                pending_totals.append((len(facts), draft))
            facts.append(_fact(article, draft, sentence, s_start, place, when, per_year))
        if resolved:
            own = [
                (m, p) for m, p in resolved if not _qualifier(sentence, resolved, m, len(sentence))
            ]
            carried_place = (own or resolved)[-1][1]
    _resolve_totals(facts, pending_totals)
    return facts


def _sentence_drafts(sentence: str, s_start: int, previous_main: Draft | None) -> list[Draft]:
    """The sentence's figures that count something, classified in reading order (numbers with
    article offsets, as facts keep them)."""
    drafts: list[Draft] = []
    for number in find_numbers(sentence):
        if number.unit is None and number.measure == "count":
            number = replace(number, unit=_column_unit(sentence, number.start))
        shifted = replace(
            number,
            start=number.start + s_start,
            end=number.end + s_start,
            unit_end=None if number.unit_end is None else number.unit_end + s_start,
        )
        draft = classify(sentence, shifted, drafts, s_start, previous_main)
        if draft is not None:
            drafts.append(draft)
    return drafts


def _column_unit(sentence: str, pos: int) -> str | None:
    """The counting noun a table row's column names for the bare figure at ``pos``: in
    "Năm 2022 — Số đảng viên kết nạp: 347; …", as the cleaner writes a row, 347 counts "đảng
    viên". Only a label after a "—" or ";" (a column), holding at most one colon of its own."""
    label = label_before(sentence, pos)
    if label is None or label[0] == 0 or sentence.count(":", *label) > 1:
        return None
    words = f" {fold(sentence[label[0] : label[1]])} "
    return next((written for written, folded in UNITS_FOLDED if f" {folded} " in words), None)


def _main_people(drafts: list[Draft]) -> Draft | None:
    """The sentence's count of all people (no segment): what "Trong đó …" next lists parts of."""
    people = [
        d
        for d in drafts
        if d.number.measure == "count" and fold(d.number.unit or "") in PEOPLE_UNITS
    ]
    return next((d for d in people if d.segment is None), None)


def _when(
    sentence_periods: list[list[Period]],
    index: int,
    pos: int,
    clause: str,
    per_year: bool,
    date: str | None,
    published: int | None,
) -> tuple[str | None, int | None, int | None]:
    """The figure's period: stated, else every year, else the publication date."""
    # "Hằng năm, … mở 4 lớp" happens every year: an earlier sentence's year is not its
    # period. "Bình quân hằng năm kết nạp 85" averages over the period stated before.
    every_year = bool(EVERY_YEAR_RE.search(clause))
    period = period_for(sentence_periods, index, pos, look_back=not every_year)
    if period is not None:
        return period
    if per_year:
        return "hằng năm", None, published
    if date:
        return f"ngày đăng {date}", published, published
    return None, None, None


def _fact(
    article: Article,
    draft: Draft,
    sentence: str,
    s_start: int,
    place: tuple[str, str] | None,
    when: tuple[str | None, int | None, int | None],
    per_year: bool,
) -> Fact:
    number = draft.number
    label, y_from, y_to = when
    figure_end = number.unit_end or number.end
    whole = draft.whole if draft.whole and draft.whole > 0 else None
    return Fact(
        article_id=article.article_id,
        kind=draft.kind,
        segment=draft.segment,
        measure=number.measure,
        value=number.value,
        high=number.high,
        denominator=number.denominator,
        bound=number.bound,
        unit=number.unit,
        figure=article.text[number.start : figure_end],
        target=draft.target,
        per_year=per_year,
        place=place_text(place) if place else None,
        place_key=fold(place_text(place)) if place else None,
        period=label,
        year_from=y_from,
        year_to=y_to,
        sentence=sentence,
        start=s_start,
        end=s_start + len(sentence),
        figure_start=number.start,
        figure_end=figure_end,
        whole=whole,
        note=_consistency(draft, whole) if whole is not None else None,
    )


def _resolve_totals(facts: list[Fact], pending: list[tuple[int, Draft]]) -> None:
    """Shares "of the total members" get the article's total of members at the same place."""
    for position, draft in pending:
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


def _nearest_place(
    resolved: list[tuple[Mention, tuple[str, str]]], pos: int, sentence: str
) -> tuple[str, str] | None:
    """The place named nearest before the figure (a named one over a generic one in the same
    clause), else the first after it before a comma: "Pa Vệ Sủ dẫn đầu với 46 đảng viên, tiếp
    đến là xã Thu Lũm với 38" does not make the 46 Thu Lũm's."""
    # A place in brackets after another qualifies it ("xã Tú Lý (huyện Đà Bắc) đã kết nạp 13"):
    # the figure is the first one's unless it stands in the brackets too.
    own = [(m, p) for m, p in resolved if not _qualifier(sentence, resolved, m, pos)]
    resolved = own or resolved
    before = [(m, p) for m, p in resolved if m.end <= pos]
    if before:
        clause_start = clause_bounds(sentence, pos)[0]
        in_clause = [(m, p) for m, p in before if m.start >= clause_start]
        pool = in_clause or before
        named = [(m, p) for m, p in pool if m.name is not None and m.level]
        specific = [(m, p) for m, p in pool if m.level]
        chosen = (named or specific or pool)[-1]
        if named and specific and specific[-1][0].start > named[-1][0].start:
            chosen = specific[-1]
        return chosen[1]
    stop = re.search(r"[,;]", sentence[pos:])
    clause_end = pos + stop.start() if stop else len(sentence)
    after = [(m, p) for m, p in resolved if pos <= m.start < clause_end]
    return after[0][1] if after else None


def _qualifier(
    sentence: str, resolved: list[tuple[Mention, tuple[str, str]]], mention: Mention, pos: int
) -> bool:
    """Whether ``mention`` stands in brackets right after another place, which it qualifies
    ("xã Cư Đrăm (huyện Krông Bông, tỉnh Đắk Lắk)"), and the brackets do not hold ``pos``. After
    an organisation ("Chi bộ Trường THPT Nguyễn Trãi (huyện Thường Tín)") it is the place."""
    opened = sentence.rfind("(", 0, mention.start)
    if opened < 0 or sentence.rfind(")", 0, mention.start) > opened:
        return False
    closed = sentence.find(")", mention.start)
    if opened < pos and (closed < 0 or pos < closed):
        return False
    return any(m.end <= opened and not sentence[m.end : opened].strip() for m, _ in resolved)


def _consistency(draft: Draft, whole: float) -> str | None:
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
