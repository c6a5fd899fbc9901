"""Question analysis (``bot.answering.question.analyse``), table-driven: language, names and places,
years, what is counted, targets, focus, how many asks, numbers the question states, the English
search text, and unaccented input. Answer types have their table in test_answering.py.

Every expected value is what a Vietnamese reader takes the question to mean. Where the analysis
reads it otherwise the row is a strict xfail that says why, so a fix shows up as XPASS.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.answering.question import Query, analyse
from tests.helpers import has_number

TUAN_GIAO = "Tuần Giáo kết nạp bao nhiêu đảng viên?"
KHO_KHAN = "Huyện Tuần Giáo gặp khó khăn gì trong công tác phát triển đảng viên?"
EN_TUAN_GIAO = "How many new party members did Tuan Giao district admit in 2021?"
EN_DIEN_BIEN = "How many party members does Dien Bien province have?"


def misread(*values: Any, reason: str) -> pytest.ParameterSet:
    return pytest.param(*values, marks=pytest.mark.xfail(reason=reason, strict=True))


# Without its accents a word can look like a question word: "đầu" like "đâu", "máy" like "mấy".
FOLDED_DAU = "'đầu'/'đấu' fold to 'dau' and are counted as the question word 'đâu'"
FOLDED_MAY = "'máy' (machine) folds to 'may' and is read as 'mấy' (how many)"
DOCUMENT_NAME = (
    "DOCUMENT_RE takes 'Đề án số 20' before the code '20-ĐA/TU'; the code's letters stay as names"
)


@pytest.mark.parametrize(
    ("question", "language", "accented"),
    [
        (TUAN_GIAO, "vi", True),
        ("tuan giao ket nap bao nhieu dang vien?", "vi", False),
        # "an" and "the" are Vietnamese syllables too ("An Giang", "thế nào" unaccented).
        ("An Giang lam the nao de ket nap dang vien?", "vi", False),
        ("Đảng bộ Hà Nội có bao nhiêu party members?", "vi", True),
        (EN_DIEN_BIEN, "en", False),
        ("Who chaired the ceremony in Hà Nội?", "en", True),
        ("When did the Hanoi Party Committee issue Project No. 20-ĐA/TU?", "en", True),
        ("2021", "vi", False),
        ("", "vi", False),
    ],
)
def test_language_and_accents(question: str, language: str, accented: bool) -> None:
    query = analyse(question)
    assert (query.language, query.accented) == (language, accented)


@pytest.mark.parametrize(
    ("question", "entities", "places"),
    [
        # A name opening the question is a name, a capitalised first word alone is not.
        (TUAN_GIAO, ("tuan giao",), ()),
        ("Bình quân mỗi năm thành phố Lai Châu kết nạp bao nhiêu?", ("lai chau",), ("lai chau",)),
        ("TP Điện Biên Phủ kết nạp bao nhiêu đảng viên?", ("dien bien phu",), ("dien bien phu",)),
        ("Thị xã Mường Lay kết nạp bao nhiêu đảng viên?", ("muong lay",), ("muong lay",)),
        ("Ai là Bí thư Huyện ủy Tuần Giáo?", ("tuan giao",), ("tuan giao",)),
        ("Tỉnh ủy Cao Bằng có bao nhiêu đảng viên?", ("cao bang",), ("cao bang",)),
        # Punctuation between two names makes two names; only the first has a level word.
        ("Huyện Sơn Động (Bắc Giang) kết nạp bao nhiêu?", ("son dong", "bac giang"),
         ("son dong",)),
        ("Cộng lại huyện Tuần Giáo và huyện Mường Ảng kết nạp bao nhiêu đảng viên?",
         ("tuan giao", "muong ang"), ("tuan giao", "muong ang")),
        ("Tuan Giao ket nap bao nhieu dang vien?", ("tuan giao",), ()),
        ("Đồng chí Lò Văn Mừng là ai?", ("lo van mung",), ()),
        ("Những hạn chế trong công tác kết nạp đảng viên là gì?", (), ()),
        ("Ai trao quyết định kết nạp Đảng?", (), ()),  # the Party, not a name
        (EN_DIEN_BIEN, ("dien bien",), ("dien bien",)),  # English order: name, then level
        # A document code alone is no name.
        ("Thành ủy Hà Nội ban hành 20-ĐA/TU khi nào?", ("ha noi",), ("ha noi",)),
        misread("Thành ủy Hà Nội ban hành Đề án số 20-ĐA/TU vào năm nào?", ("ha noi",),
                ("ha noi",), reason=DOCUMENT_NAME),
        misread("Quy định số 123-QĐ/TW có hiệu lực từ ngày nào?", (), (), reason=DOCUMENT_NAME),
        ("Thành ủy Hà Nội có bao nhiêu đảng viên?", ("ha noi",), ("ha noi",)),
        # A level word opening the question is capitalised, and still a level.
        ("Quận Cái Răng (Cần Thơ) kết nạp bao nhiêu đảng viên?", ("cai rang", "can tho"),
         ("cai rang",)),
        ("Quận ủy Long Biên có bao nhiêu đảng viên?", ("long bien",), ("long bien",)),
        # Typed with accents, a level word is one as written: "Ban" (a board) is no "bản".
        ("Ban Chấp hành Đảng bộ huyện Đức Trọng kết nạp bao nhiêu đảng viên?",
         ("chap", "duc trong"), ("duc trong",)),
        # A one-letter capital syllable is no abbreviation.
        ("Huyện ủy Ý Yên kết nạp bao nhiêu đảng viên?", ("y yen",), ("y yen",)),
        ("THPT Lê Lợi kết nạp mấy học sinh?", ("thpt", "le loi"), ()),
        misread("Ông Nguyễn Văn A được kết nạp vào Đảng năm nào?", ("nguyen van a",), (),
                reason="the title 'Ông' opening the question is taken into the name"),
        # The glossary rewrites "Hanoi" as "Hà Nội", capitalised: still a name.
        ("How many party members does Hanoi have?", ("ha noi",), ()),
        # Typed in lower case without accents: the level words still name the places.
        ("tinh quang ngai nam 2019 ket nap bao nhieu dang vien moi", ("quang ngai",),
         ("quang ngai",)),
        ("dang bo xa cu dram huyen krong bong co bao nhieu dang vien",
         ("cu dram", "krong bong"), ("cu dram", "krong bong")),
        ("tuan giao ket nap bao nhieu dang vien", (), ()),  # no level word: no place
        # A name may end with a level word's first syllable ("Núi Thành", not "thành phố").
        ("dang bo huyen nui thanh co bao nhieu dang vien", ("nui thanh",), ("nui thanh",)),
        # A level word making a common word, or followed by the question's own words.
        ("tinh hinh ket nap dang vien o xa hoi the nao", (), ()),
        ("so voi ke hoach tinh giao thi dat bao nhieu", (), ()),
        ("huyen da ket nap bao nhieu dang vien nam 2023", (), ()),
    ],
)  # fmt: skip
def test_entities_and_places(
    question: str, entities: tuple[str, ...], places: tuple[str, ...]
) -> None:
    query = analyse(question)
    assert (query.entities, query.places) == (entities, places)


@pytest.mark.parametrize(
    ("question", "years"),
    [
        ("Năm 2022 và năm 2023 tỉnh Điện Biên kết nạp bao nhiêu đảng viên?", ("2022", "2023")),
        ("Giai đoạn 2020-2025 Lai Châu kết nạp được bao nhiêu đảng viên?", ("2020", "2025")),
        ("Từ năm 2018 đến năm 2020 Tuần Giáo kết nạp bao nhiêu đảng viên?", ("2018", "2020")),
        ("Tháng 9/2019 huyện Thạnh Phú kết nạp bao nhiêu đảng viên?", ("2019",)),
        (EN_TUAN_GIAO, ("2021",)),
        # "sau/trước/before" bound a period: the year is not the one asked about.
        ("Sau năm 2015, xã Tú Lý kết nạp bao nhiêu đảng viên?", ()),
        ("Tuần Giáo kết nạp bao nhiêu đảng viên trước năm 2020?", ()),
        ("How many party members did Hanoi admit before 2010?", ()),
        ("Trong 2.025 đảng viên của huyện, bao nhiêu người là nữ?", ()),
        misread("Quyết định số 2020-QĐ/TU được ban hành ngày nào?", (),
                reason="the number of a document code is read as a year"),
    ],
)  # fmt: skip
def test_years(question: str, years: tuple[str, ...]) -> None:
    assert analyse(question).years == years


@pytest.mark.parametrize(
    ("question", "figure", "percent", "total"),
    [
        (TUAN_GIAO, True, False, False),
        # "có bao nhiêu", "tổng số": a stock, unless what is summed is admissions.
        ("tuan giao co bao nhieu dang vien", True, False, True),
        ("Đảng bộ tỉnh Cao Bằng hiện có bao nhiêu đảng viên?", True, False, True),
        ("Tổng số đảng viên của huyện Tuần Giáo là bao nhiêu?", True, False, True),
        ("Tổng số đảng viên được kết nạp của hai huyện là bao nhiêu?", True, False, False),
        ("Trong số 135 người được kết nạp, có bao nhiêu người là nữ?", True, False, False),
        (EN_DIEN_BIEN, True, False, True),
        (EN_TUAN_GIAO, True, False, False),
        ("Tỷ lệ đảng viên nữ được kết nạp ở Mường Ảng là bao nhiêu?", True, True, False),
        ("What percentage of new members were women in Muong Ang?", True, True, False),
        (KHO_KHAN, False, False, False),
        misread("Xã Tú Lý có mấy chi bộ?", True, False, True,
                reason="'có mấy' asks for a stock as 'có bao nhiêu' does, but is not read so"),
        misread("Chi bộ được trang bị máy tính như thế nào?", False, False, False,
                reason=FOLDED_MAY),
    ],
)  # fmt: skip
def test_figure_share_and_total(question: str, figure: bool, percent: bool, total: bool) -> None:
    query = analyse(question)
    assert (query.wants_figure, query.wants_percent, query.wants_total) == (figure, percent, total)


@pytest.mark.parametrize(
    ("question", "head"),
    [
        (TUAN_GIAO, "dang vien"),
        ("Lớp bồi dưỡng có mấy học viên?", "hoc vien"),
        ("Xã Tú Lý có bao nhiêu chi bộ?", "chi bo"),
        ("Tổng số đảng viên của huyện Tuần Giáo là bao nhiêu?", "dang vien"),
        ("Mường Ảng kết nạp đảng viên đạt bao nhiêu phần trăm kế hoạch?", "%"),
        (EN_TUAN_GIAO, "dang vien"),
        ("Năm 2021 Tuần Giáo kết nạp được bao nhiêu?", None),  # nothing counted is named
        ("How many Cam Lo students were admitted in 2024?", "hoc sinh"),  # not the name
        # English "students" at a university are "sinh viên", at a school "học sinh".
        ("How many students were admitted at Can Tho University in 2023?", "sinh vien"),
        ("How many students of Le Loi High School were admitted?", "hoc sinh"),
        # Those of one kind among the attendees; members of one kind are still members.
        ("Lớp có bao nhiêu học viên là sinh viên?", "sinh vien"),
        ("Lớp có bao nhiêu học viên là người dân tộc thiểu số?", "hoc vien"),
        ("Trường kết nạp bao nhiêu đảng viên là học sinh?", "dang vien"),
        (KHO_KHAN, None),
        # Folded, "so" is also "so sánh", "thiểu số", "dân số", "cơ sở", "sơ kết".
        ("So sánh số đảng viên kết nạp của huyện Tuần Giáo và thành phố Lai Châu", "dang vien"),
        ("Người dân tộc thiểu số chiếm bao nhiêu % số đảng viên kết nạp?", "%"),
        ("ty le dang vien so voi dan so toan tinh hien dat bao nhieu", None),
        ("Đảng viên ở cơ sở như thế nào?", None),
        ("Ai chủ trì hội nghị sơ kết giữa nhiệm kỳ?", None),
        # "Số mấy" asks for a document's number; nothing is counted.
        ("Huyện ủy Ý Yên ra công văn số mấy về tạo nguồn phát triển đảng viên?", None),
        ("Quận ủy có kế hoạch số bao nhiêu về tạo nguồn?", None),
        # The noun ends where the question goes on.
        ("Huyện còn bao nhiêu thôn chưa có chi bộ?", "thon"),
        ("Giá xăng hôm nay là bao nhiêu tiền một lít?", "tien"),
        ("How many of the party members admitted in 2006 were aged 18 to 30?", "dang vien"),
        misread("Chi bộ được trang bị máy tính như thế nào?", None, reason=FOLDED_MAY),
    ],
)  # fmt: skip
def test_counted_noun(question: str, head: str | None) -> None:
    assert analyse(question).head == head


@pytest.mark.parametrize(
    ("question", "target"),
    [
        ("Chỉ tiêu kết nạp đảng viên của huyện Tuần Giáo năm 2024 là bao nhiêu?", True),
        ("Mục tiêu kết nạp đảng viên của tỉnh là gì?", True),
        ("Tỉnh phấn đấu kết nạp bao nhiêu đảng viên mỗi năm?", True),
        ("What was the target for new party members in Lai Chau province?", True),
        (TUAN_GIAO, False),
        (KHO_KHAN, False),
    ],
)
def test_target_questions(question: str, target: bool) -> None:
    assert analyse(question).asks_target is target


@pytest.mark.parametrize(
    ("question", "focus"),
    [
        (KHO_KHAN, "kho khan"),
        ("Những hạn chế trong công tác kết nạp đảng viên là gì?", "han che"),
        ("Tỉnh áp dụng giải pháp nào để tạo nguồn đảng viên?", "giai phap"),
        ("Nga Sơn làm thế nào để tạo nguồn kết nạp người có đạo?", None),  # "thế nào": how
        # Those who act, leading a how-question, are not what the answer is about.
        ("Các chi bộ trường học chọn học sinh để kết nạp Đảng như thế nào?", None),
        ("Các chi bộ đã làm gì để tạo nguồn?", None),
        (TUAN_GIAO, None),
        (EN_TUAN_GIAO, None),
        misread("Đề án 20-ĐA/TU của Thành ủy Hà Nội được ban hành khi nào?", None,
                reason="'khi nào' (when) is read as a noun asked about: focus 'hanh khi'"),
        misread("Bí thư chi bộ bản Huổi Sông vào Đảng năm nào?", None,
                reason="'năm nào' (which year) is read as a noun asked about: focus 'dang nam'"),
    ],
)  # fmt: skip
def test_focus(question: str, focus: str | None) -> None:
    assert analyse(question).focus == focus


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        (TUAN_GIAO, 1),
        ("Mường Ảng kết nạp bao nhiêu đảng viên và đạt bao nhiêu phần trăm chỉ tiêu?", 2),
        ("Tuần Giáo có mấy chi bộ và bao nhiêu đảng viên?", 2),
        ("Ai trao quyết định và lễ kết nạp diễn ra ở đâu?", 2),
        ("Huyện Mường Ảng năm 2021 kết nạp được bao nhiêu đảng viên, trong đó bao nhiêu đảng "
         "viên nữ?", 2),
        misread("Đầu năm 2017, huyện Thới Lai kết nạp bao nhiêu đảng viên?", 1,
                reason=FOLDED_DAU),
        misread("Tỉnh phấn đấu kết nạp bao nhiêu đảng viên mỗi năm?", 1, reason=FOLDED_DAU),
    ],
)  # fmt: skip
def test_number_of_asks(question: str, asks: int) -> None:
    assert analyse(question).asks == asks


@pytest.mark.parametrize(
    ("question", "stated"),
    [
        ("Trong số 135 người được kết nạp, có bao nhiêu người là nữ?", ("135",)),
        ("Trong 1.250 đảng viên của xã, bao nhiêu người là nữ?", ("1.250",)),
        ("Đảng viên nữ chiếm 42,1% phải không?", ("42,1",)),
        # Years, dates and document codes are not figures the question gives.
        ("Năm 2021 Tuần Giáo kết nạp được bao nhiêu?", ()),
        ("Tháng 9/2019 huyện Thạnh Phú kết nạp bao nhiêu đảng viên?", ()),
        ("Thành ủy Hà Nội ban hành Đề án số 20-ĐA/TU vào năm nào?", ()),
    ],
)
def test_numbers_the_question_states(question: str, stated: tuple[str, ...]) -> None:
    assert analyse(question).stated == stated


@pytest.mark.parametrize(
    ("question", "vietnamese", "kept"),
    [
        (EN_TUAN_GIAO, ("đảng viên mới", "kết nạp", "huyện"), ("Tuan Giao", "2021")),
        (EN_DIEN_BIEN, ("đảng viên", "tỉnh"), ("Dien Bien",)),
        ("What percentage of new members were women in Muong Ang?",
         ("tỷ lệ", "đảng viên mới", "nữ"), ("Muong Ang",)),
        ("When did the Hanoi Party Committee issue Project No. 20-ĐA/TU?",
         ("Hà Nội", "ban hành", "đề án"), ("20-ĐA/TU",)),
        # Screening, reviews, comparisons, residential units: the words of party-building
        # reports beyond admissions.
        ("How many party members were screened out at the mid-term review in Nghe An?",
         ("sàng lọc", "giữa nhiệm kỳ", "rà soát"), ("Nghe An",)),
        ("How many residential groups in Dak Lak have a party cell, compared with 2020?",
         ("tổ dân phố", "chi bộ", "so với"), ("Dak Lak", "2020")),
        ("What lessons learned did the Organisation Department draw about village elders?",
         ("bài học kinh nghiệm", "ban tổ chức", "già làng"), ()),
        # The verbs and times of a report of an event.
        ("Who chaired the ceremony held for teachers of the branch in late 2023?",
         ("chủ trì", "tổ chức", "giáo viên", "chi bộ", "cuối"), ("2023",)),
    ],
)  # fmt: skip
def test_english_questions_are_searched_with_vietnamese_terms(
    question: str, vietnamese: tuple[str, ...], kept: tuple[str, ...]
) -> None:
    search_text = analyse(question).search_text
    assert [t for t in vietnamese if t not in search_text] == []
    # Names, numbers and codes stay as typed ("2021" as a whole number, not inside another).
    for word in kept:
        assert has_number(search_text, word) if word.isdigit() else word in search_text


@pytest.mark.parametrize(
    "question",
    [
        TUAN_GIAO,
        "tuan giao ket nap bao nhieu dang vien?",
        "Đảng bộ Hà Nội có bao nhiêu party members?",
    ],
)
def test_vietnamese_questions_are_searched_as_typed(question: str) -> None:
    assert analyse(question).search_text == question


# Everything but the text and its accents should read the same without diacritics.
SAME_WITHOUT_ACCENTS = (
    "language", "wants_figure", "wants_percent", "wants_total", "head", "asks_target", "focus",
    "years", "entities", "places", "answer_types", "asks", "stated", "slot",
)  # fmt: skip
UNACCENTED_GENERIC = "generic words are listed with accents: unaccented 'Huyen' is read as a name"


@pytest.mark.parametrize(
    ("accented", "unaccented"),
    [
        ("Thành phố Lai Châu kết nạp được bao nhiêu đảng viên?",
         "Thanh pho Lai Chau ket nap duoc bao nhieu dang vien?"),
        ("Tuần Giáo kết nạp bao nhiêu đảng viên, đạt bao nhiêu phần trăm chỉ tiêu?",
         "Tuan Giao ket nap bao nhieu dang vien, dat bao nhieu phan tram chi tieu?"),
        ("Năm 2024 xã Tú Lý kết nạp được bao nhiêu đảng viên, đạt bao nhiêu % chỉ tiêu?",
         "Nam 2024 xa Tu Ly ket nap duoc bao nhieu dang vien, dat bao nhieu % chi tieu?"),
        ("Sơn Động gặp khó khăn gì khi kết nạp đảng viên?",
         "Son Dong gap kho khan gi khi ket nap dang vien?"),
        misread("Huyện Mường Ảng năm 2021 kết nạp bao nhiêu đảng viên mới?",
                "Huyen Muong Ang nam 2021 ket nap bao nhieu dang vien moi?",
                reason=UNACCENTED_GENERIC),
        misread("Bí thư Huyện ủy Tuần Giáo là ai?", "Bi thu Huyen uy Tuan Giao la ai?",
                reason=UNACCENTED_GENERIC),
    ],
)  # fmt: skip
def test_unaccented_questions_read_like_accented_ones(accented: str, unaccented: str) -> None:
    def reading(query: Query) -> dict[str, object]:
        return {field: getattr(query, field) for field in SAME_WITHOUT_ACCENTS}

    with_accents, without = analyse(accented), analyse(unaccented)
    assert (with_accents.accented, without.accented) == (True, False)
    assert reading(without) == reading(with_accents)


@pytest.mark.parametrize("question", ["", "   ", "???", "2021"])
def test_questions_that_ask_nothing(question: str) -> None:
    query = analyse(question)
    assert query.answer_types == ()
    assert (query.entities, query.places, query.stated) == ((), (), ())
    assert (query.wants_figure, query.head, query.focus) == (False, None, None)
    assert query.asks == 1  # every question is one ask at least


@pytest.mark.parametrize(
    "table",
    [
        "COUNTED_NOUN_ENDS", "FOCUS_STOP", "NOT_COUNTED", "SLOT_QUESTION_WORDS", "HIGHER_EDUCATION",
        "FOLLOWUP_OPENINGS", "FOLLOWUP_CLOSINGS", "FOLLOWUP_PARTICLES", "SELF_STANDING_WORDS",
        "SELF_STANDING_PAIRS", "SLOT_LOCATIVES", "FOLLOWUP_ENGLISH",
    ],
)  # fmt: skip
def test_the_question_word_tables_are_written_folded(table: str) -> None:
    # They are compared with the folded question: a word written with accents never matches.
    import ingest.lexicon
    from ingest.vietnamese import fold

    words = getattr(ingest.lexicon, table)
    # A follow-up's markers are sequences of words.
    flat = [w for entry in words for w in ((entry,) if isinstance(entry, str) else entry)]
    assert flat and all(fold(w) == w for w in flat), table
