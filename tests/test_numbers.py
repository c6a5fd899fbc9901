"""The Vietnamese number parser on every format the sample articles use, and on what must not be
read as a quantity (dates, years, document numbers)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.numbers import find_numbers, format_number, format_percent, parse_number, parse_value


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("3.790", 3790.0),
        ("5.279", 5279.0),
        ("1.234.567", 1234567.0),
        ("90,6", 90.6),
        ("0,06", 0.06),
        ("1.234,5", 1234.5),
        ("470", 470.0),
        ("3.5", 3.5),  # English-style decimal: not 35
        ("1,2,3", None),
        ("12.34.5", None),
    ],
)
def test_parse_value_reads_vietnamese_separators(token: str, value: float | None) -> None:
    assert parse_value(token) == value


@pytest.mark.parametrize(
    ("expression", "text", "value", "high", "denominator", "measure", "bound", "unit"),
    [
        ("3.790 đảng viên", "3.790", 3790.0, None, None, "count", "exact", "đảng viên"),
        ("chiếm 90,6%", "90,6%", 90.6, None, None, "percent", "exact", "%"),
        ("tổ chức 2 - 3 lớp bồi dưỡng", "2 - 3", 2.0, 3.0, None, "count", "exact", "lớp"),
        ("mở từ 2 đến 3 lớp", "từ 2 đến 3", 2.0, 3.0, None, "count", "exact", "lớp"),
        (
            "kết nạp được 247/470 đảng viên",
            "247/470",
            247.0,
            None,
            470.0,
            "ratio",
            "exact",
            "đảng viên",
        ),
        ("mục tiêu trên 85% số thôn bản", "trên 85%", 85.0, None, None, "percent", "min", "%"),
        ("Sau hơn 2 năm thực hiện", "hơn 2", 2.0, None, None, "count", "min", "năm"),
        (
            "khoảng 1,2 triệu người",
            "khoảng 1,2 triệu",
            1_200_000.0,
            None,
            None,
            "count",
            "about",
            "người",
        ),
        (
            "vượt từ 2,67% - 40% kế hoạch",
            "từ 2,67% - 40%",
            2.67,
            40.0,
            None,
            "percent",
            "exact",
            "%",
        ),
        (
            "phấn đấu kết nạp từ 110 đảng viên mới trở lên",
            "từ 110",
            110.0,
            None,
            None,
            "count",
            "min",
            "đảng viên",
        ),
        ("kết nạp 20 đảng viên trở lên", "20", 20.0, None, None, "count", "min", "đảng viên"),
        ("dưới 5 phần trăm", "dưới 5 phần trăm", 5.0, None, None, "percent", "max", "%"),
        ("chiếm 0,06%)", "0,06%", 0.06, None, None, "percent", "exact", "%"),
    ],
)
def test_expressions_are_parsed_with_their_spans(
    expression: str,
    text: str,
    value: float,
    high: float | None,
    denominator: float | None,
    measure: str,
    bound: str,
    unit: str,
) -> None:
    number = parse_number(expression)
    assert number is not None
    assert number.text == text
    assert expression[number.start : number.end] == text
    assert (number.value, number.high, number.denominator) == (value, high, denominator)
    assert (number.measure, number.bound, number.unit) == (measure, bound, unit)
    if number.unit_end is not None and unit != "%":
        assert expression[number.start : number.unit_end].endswith(unit)


def test_a_rate_per_year_is_recognised() -> None:
    [number] = find_numbers("kết nạp 150 đảng viên/năm.")
    assert (number.value, number.unit, number.per) == (150.0, "đảng viên", "năm")


def test_a_range_of_years_or_a_lone_year_is_not_a_quantity() -> None:
    assert find_numbers("nhiệm kỳ 2015-2020, giai đoạn 2016 - 2020, năm 2022") == []


@pytest.mark.parametrize(
    "text",
    [
        "Tính đến 31-3-2018,",
        "Tính đến ngày 31/12/2022,",
        "Thứ Sáu, 13/04/2018, [GMT+7]",
        "15-08-2019 09:13",
        "vào tháng 5/2020",
        "Nghị quyết Chuyên đề số 04-NQ/TU",
        "theo Quyết định sô 1090/2023",
        "Tổ dân phố số 22",
        "thực hiện Nghị quyết 04 của Tỉnh ủy",
    ],
)
def test_dates_times_and_document_numbers_are_skipped(text: str) -> None:
    assert find_numbers(text) == []


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("hội nghị lần thứ 18 tổng kết công tác năm 2023", []),
        ("Lớp cảm tình Đảng đợt 1 năm 2023 có 45 học viên", [(45.0, "học viên")]),
        ("38 học sinh lớp 12 của các trường THPT", [(38.0, "học sinh")]),
        ("Trung đoàn 98 kết nạp 30 đảng viên", [(30.0, "đảng viên")]),
        ("trong tháng 6, quận 1 kết nạp 20 đảng viên", [(20.0, "đảng viên")]),
        ("Bí thư Chi đoàn 15B", []),
        # A count stands before its noun: these are counted.
        ("tổ chức 3 lần trong 6 tháng", [(3.0, None), (6.0, "tháng")]),
    ],
)
def test_a_number_after_its_noun_labels_and_does_not_count(
    text: str, counts: list[tuple[float, str | None]]
) -> None:
    assert [(n.value, n.unit) for n in find_numbers(text)] == counts


def test_words_ending_in_so_do_not_hide_the_figure_after_them() -> None:
    numbers = find_numbers("trong tổng số 3.442 đảng viên; dân tộc thiểu số 106, nữ 76")
    assert [n.value for n in numbers] == [3442.0, 106.0, 76.0]
    numbers = find_numbers("Trong số 957 đảng viên mới có 35 đảng viên")
    assert [n.value for n in numbers] == [957.0, 35.0]


def test_from_without_a_range_is_not_part_of_the_figure() -> None:
    first, second = find_numbers("từ 56 bản xuống còn 20 bản")
    assert (first.text, first.unit, first.bound) == ("56", "bản", "exact")
    assert (second.text, second.unit) == ("20", "bản")


def test_ti_le_is_not_a_billion() -> None:
    [number] = find_numbers("1 tỷ lệ")
    assert number.value == 1.0


def test_every_number_of_a_real_sentence_in_order() -> None:
    sentence = (
        "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên, trong đó có 426 đảng viên là đoàn "
        "viên thanh niên (chiếm 90,6%); 172 đảng viên nữ (36,6%); 247 đảng viên là người tại "
        "chỗ (trên 52%)."
    )
    assert [n.text for n in find_numbers(sentence)] == [
        "470",
        "426",
        "90,6%",
        "172",
        "36,6%",
        "247",
        "trên 52%",
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [(9069, "9.069"), (1_200_000, "1.200.000"), (6.2463, "6,2"), (0.06, "0,1"), (87.0, "87")],
)
def test_format_number_writes_vietnamese(value: float, text: str) -> None:
    assert format_number(value) == text


def test_format_percent() -> None:
    assert format_percent(6.2463) == "6,2%"
    assert format_percent(0.06, decimals=2) == "0,06%"


@given(st.integers(min_value=0, max_value=10**9))
def test_formatted_integers_parse_back(value: int) -> None:
    assert parse_value(format_number(value)) == value
