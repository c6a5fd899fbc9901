"""Short follow-up questions rewritten against the previous question in the chat."""

from __future__ import annotations

import pytest

from bot.answering.followup import is_followup_candidate, resolve, strip_accents

TUAN_GIAO = "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?"
TUAN_GIAO_RANGE = (
    "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên từ năm 2016 đến 31-3-2018?"
)
HA_NOI = "Thành phố Hà Nội kết nạp bao nhiêu đảng viên trong năm 2021?"
KON_TUM = "Đảng bộ thành phố Kon Tum có bao nhiêu đảng viên là người có đạo?"
UNACCENTED = "huyen uy tuan giao ket nap bao nhieu dang vien"
ENGLISH = "How many new party members did Nui Thanh district admit in 2022?"


@pytest.mark.parametrize(
    ("previous", "followup", "expected"),
    [
        (TUAN_GIAO, "còn năm 2023 thì sao?", TUAN_GIAO[:-1] + " năm 2023?"),
        (TUAN_GIAO, "con nam 2023 thi sao", TUAN_GIAO[:-1] + " năm 2023?"),
        (TUAN_GIAO, "Năm 2023?", TUAN_GIAO[:-1] + " năm 2023?"),
        (TUAN_GIAO, "ở Lai Châu thì sao?", "Lai Châu đã kết nạp được bao nhiêu đảng viên?"),
        (TUAN_GIAO, "Lai Châu thì sao ạ?", "Lai Châu đã kết nạp được bao nhiêu đảng viên?"),
        (TUAN_GIAO, "o lai chau thi sao", "Lai chau đã kết nạp được bao nhiêu đảng viên?"),
        (
            TUAN_GIAO,
            "thế còn huyện Núi Thành?",
            "Huyện Núi Thành đã kết nạp được bao nhiêu đảng viên?",
        ),
        (TUAN_GIAO, "Ở Lạng Sơn?", "Lạng Sơn đã kết nạp được bao nhiêu đảng viên?"),
        (TUAN_GIAO, "what about 2023?", TUAN_GIAO[:-1] + " năm 2023?"),
        (
            TUAN_GIAO,
            "còn Lai Châu năm 2020?",
            "Lai Châu đã kết nạp được bao nhiêu đảng viên năm 2020?",
        ),
        (TUAN_GIAO, "còn đảng viên nữ thì sao?", TUAN_GIAO[:-1] + ", đảng viên nữ?"),
        (TUAN_GIAO_RANGE, "còn năm 2023 thì sao?", TUAN_GIAO[:-1] + " năm 2023?"),
        (
            TUAN_GIAO_RANGE,
            "ở Lai Châu thì sao?",
            "Lai Châu đã kết nạp được bao nhiêu đảng viên từ năm 2016 đến 31-3-2018?",
        ),
        (
            HA_NOI,
            "còn năm 2023 thì sao?",
            "Thành phố Hà Nội kết nạp bao nhiêu đảng viên trong năm 2023?",
        ),
        (HA_NOI, "ở Lai Châu thì sao?", "Lai Châu kết nạp bao nhiêu đảng viên trong năm 2021?"),
        (KON_TUM, "ở Lai Châu thì sao?", "Lai Châu có bao nhiêu đảng viên là người có đạo?"),
        # An unaccented question stays unaccented: it is matched on folded words.
        (UNACCENTED, "còn năm 2023 thì sao?", UNACCENTED + " nam 2023?"),
        (UNACCENTED, "ở Lai Châu thì sao?", "Lai Chau ket nap bao nhieu dang vien"),
        # An English question stays ASCII, so it is still recognised as English.
        (ENGLISH, "còn năm 2023 thì sao?", ENGLISH.replace("2022", "2023")),
        (ENGLISH, "ở Lai Châu thì sao?", ENGLISH.replace("Nui Thanh", "Lai Chau")),
    ],
)
def test_followups_are_rewritten(previous: str, followup: str, expected: str) -> None:
    resolved = resolve(followup, previous)
    assert resolved.is_followup
    assert resolved.previous == previous
    assert resolved.question == expected


def test_chained_followups_keep_both_changes() -> None:
    first = resolve("còn năm 2023 thì sao?", TUAN_GIAO)
    second = resolve("ở Lai Châu thì sao?", first.question)
    assert second.question == "Lai Châu đã kết nạp được bao nhiêu đảng viên năm 2023?"


@pytest.mark.parametrize(
    "question",
    [
        "Tuần Giáo kết nạp bao nhiêu đảng viên?",
        "Tạo nguồn phát triển đảng viên thế nào?",
        "Công tác phát triển đảng viên ở Lai Châu gặp khó khăn gì?",
        "còn Lai Châu kết nạp bao nhiêu đảng viên?",  # complete on its own
        "thì sao?",
        "Ủy ban thì sao?",
        "đảng viên",
        "🙂",
        "",
        "còn " + "rất " * 20 + "nhiều chữ thì sao?",
    ],
)
def test_standalone_questions_are_left_alone(question: str) -> None:
    resolved = resolve(question, TUAN_GIAO)
    assert not resolved.is_followup
    assert resolved.question == question.strip()


def test_without_a_previous_question_nothing_is_rewritten() -> None:
    assert is_followup_candidate("còn năm 2023 thì sao?")
    resolved = resolve("còn năm 2023 thì sao?", None)
    assert not resolved.is_followup
    assert resolved.question == "còn năm 2023 thì sao?"


def test_the_slot_is_reported() -> None:
    resolved = resolve("còn Lai Châu năm 2020 thì sao?", TUAN_GIAO)
    assert (resolved.year, resolved.place, resolved.topic) == ("2020", "Lai Châu", None)
    topic = resolve("còn đảng viên nữ?", TUAN_GIAO)
    assert (topic.year, topic.place, topic.topic) == (None, None, "đảng viên nữ")


def test_markup_around_the_slot_is_dropped() -> None:
    resolved = resolve("ở *Lạng Sơn* thì sao?", TUAN_GIAO)
    assert resolved.question == "Lạng Sơn đã kết nạp được bao nhiêu đảng viên?"


def test_strip_accents_keeps_case() -> None:
    assert strip_accents("Đảng bộ Lai Châu") == "Dang bo Lai Chau"
