"""The extractive answerer's parts, table-driven: question analysis, candidate features, the
figure/date/name picker, the composer and the multi-place splitter; then the whole answerer on
the real sample articles (real index, real bundled model, the shipped weights)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.answering.candidates import (
    ArticleView,
    Candidate,
    build_view,
    candidates,
    introduces_list,
    sentence_terms,
)
from bot.answering.compose import pick_answer, pick_figures, shorten
from bot.answering.extractive import ExtractiveAnswerer, Ranking, Scored
from bot.answering.features import (
    FEATURES,
    INDEX,
    content_weights,
    featurize,
    question_terms,
    specific_place,
)
from bot.answering.multi import answer_multi, counted_alike, is_multi, split_parts
from bot.answering.question import Query, analyse
from bot.answering.ranker import WEIGHTS_PATH, Ranker, Selection, load_ranker
from bot.answering.signals import kinds_held, person_names, years_in
from bot.service import Tinbot
from bot.types import Answer, Citation, Evidence
from ingest.facts import Fact, extract_facts
from ingest.lexicon import ANSWER_TYPE_CUES, GLOSSARY, ORDINAL_ITEM_RE
from ingest.loaders import load
from ingest.models import Article
from ingest.pipeline import prepare
from tests.conftest import SAMPLES
from tests.helpers import CountingEmbedder, has_number


def _has(text: str, figure: str) -> bool:
    """``figure`` in ``text`` as a whole number ("97" is not in "1997")."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d]|[.,]\d)", text) is not None


# --- question analysis ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "types"),
    [
        ("Tuần Giáo kết nạp được bao nhiêu đảng viên?", ("count",)),
        ("son dong ket nap dang vien dat bao nhieu phan tram ke hoach", ("share",)),
        ("Năm 2024 xã Tú Lý kết nạp được bao nhiêu đảng viên, đạt bao nhiêu % chỉ tiêu?",
         ("share", "count")),
        ("Huyện ủy Ý Yên ra công văn số mấy về tạo nguồn phát triển đảng viên?", ("document",)),
        ("Ai trao quyết định kết nạp Đảng cho 3 học sinh?", ("person",)),
        ("Bí thư chi bộ bản Huổi Sông vào Đảng năm nào?", ("year",)),
        ("Lớp học khai giảng ngày nào?", ("date",)),
        ("Nga Sơn làm thế nào để tạo nguồn kết nạp người có đạo?", ("practice",)),
        ("When did the Hanoi Party Committee issue Project No. 20-ĐA/TU?", ("date",)),
    ],
)  # fmt: skip
def test_answer_types_come_from_the_cue_table(question: str, types: tuple[str, ...]) -> None:
    assert analyse(question).answer_types == types


def test_every_answer_type_cue_is_recognised() -> None:
    for kind, cues in ANSWER_TYPE_CUES.items():
        for cue in cues:
            found = analyse(f"Hỏi {cue.strip()} ở đây").answer_types
            assert kind in found or cue.strip() in ("may",), (kind, cue, found)


@pytest.mark.parametrize(
    ("question", "language", "places", "years"),
    [
        ("Tỉnh Cao Bằng kết nạp bao nhiêu đảng viên mới trong năm 2023?", "vi", ("cao bang",),
         ("2023",)),
        ("Sơn Động (Bắc Giang) năm 2017 kết nạp bao nhiêu?", "vi", (), ("2017",)),
        ("Trong số đảng viên có đạo Đồng Nai kết nạp trước 2004, Công giáo chiếm bao nhiêu?",
         "vi", (), ()),
        ("How many party members does the Hamlet 4 party cell of Hàng Vịnh commune (Năm Căn, "
         "Cà Mau) have?", "en", ("hang vinh",), ()),
        ("How many party members in Bao Loc city (Lam Dong) are religious followers?", "en",
         ("bao loc", "lam dong"), ()),
    ],
)  # fmt: skip
def test_language_places_and_years(
    question: str, language: str, places: tuple[str, ...], years: tuple[str, ...]
) -> None:
    query = analyse(question)
    assert query.language == language
    assert query.places == places
    assert query.years == years


def test_english_terms_are_searched_in_vietnamese_without_pairs_across_terms() -> None:
    query = analyse("How many people attended Hue University's training class?")
    assert "đại học" in query.search_text and "lớp bồi dưỡng" in query.search_text
    assert GLOSSARY["party members"] == "đảng viên"
    # Each translation closes with a comma: "huế" and "đại học" are two terms, not a pair.
    assert "Huế, đại học," in query.search_text


@pytest.mark.parametrize(
    ("question", "junk", "kept"),
    [
        # "bao nhiêu đảng viên": "nhiêu_đảng" is the question's wording ("nhiều đảng viên").
        ("Xã Tú Lý kết nạp bao nhiêu đảng viên?", "nhieu_dang", "dang_vien"),
        ("xa tu ly ket nap duoc bao nhieu dang vien", "duoc_bao", "ket_nap"),
        ("Xã Tú Lý làm thế nào để tạo nguồn?", "nao_de", "tao_nguon"),
    ],
)
def test_pairs_joining_a_question_phrase_to_a_word_do_not_count(
    question: str, junk: str, kept: str
) -> None:
    terms = question_terms(analyse(question), lambda ts, exact: dict.fromkeys(ts, 1), 100)
    assert junk not in terms.folded_weights
    assert kept in terms.folded_weights


def test_abbreviations_are_read_as_the_words_a_question_spells_out() -> None:
    _, folded = sentence_terms("Huyện Ninh Sơn mới chỉ kết nạp được 13 ĐV mới.")
    assert {"dang_vien", "vien_moi"} <= folded
    _, folded = sentence_terms("Có 47 TCCS đảng; ĐVTN là đoàn viên.")
    assert "to_chuc" in folded and "dvtn" in folded  # a longer word keeps its letters


# --- candidate features ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Cô Lê Thị Thu - Bí thư Chi bộ tặng hoa.", ["Lê Thị Thu"]),
        ("Phát biểu tại lễ, ông Trần Văn Sáu - Giám đốc đề nghị", ["Trần Văn Sáu"]),
        ("Đ/c Trần Xuân Hựu, Tỉnh ủy viên", ["Trần Xuân Hựu"]),
        ("Đảng bộ huyện Sơn Động (tỉnh Bắc Giang) đã xem xét", []),
        ("Năm 2019, Đảng ủy xã Hàng Vịnh, huyện Năm Căn kết nạp được 6 đảng viên.", []),
        # "Đảng" (the Party) folds like the family name "Đặng": not a name with diacritics.
        ("Kỷ niệm 90 năm Ngày thành lập Đảng Cộng sản Việt Nam.", []),
        ("Chị Hoa nhớ lời Đặng Thị Hoa dặn.", ["Đặng Thị Hoa"]),
        ("lop do Dang Van Binh phu trach", ["Dang Van Binh"]),
        # One word is a name after "chị", "ông" … only as the Central Highlands write them.
        ("Chị H’Tư - con gái ông K’Lăng - là đảng viên trẻ nhất.", ["H’Tư", "K’Lăng"]),
        ("Phát biểu tại lễ, ông Bí thư nhấn mạnh.", []),
    ],
)
def test_person_names(text: str, names: list[str]) -> None:
    assert [text[s:e] for s, e in person_names(text)] == names


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Huyện kết nạp 470 đảng viên, chiếm 90,6%.", {"count", "share"}),
        ("Chị được kết nạp vào Đảng ngày 2/9/2017.", {"date", "year"}),
        ("Triển khai Đề án số 20-ĐA/TU của Thành ủy.", {"document"}),
        ("Dự buổi lễ có ông Lê Quốc Phong, Bí thư Tỉnh ủy.", {"person"}),
    ],
)
def test_kinds_of_answer_a_sentence_holds(text: str, kinds: set[str]) -> None:
    held = kinds_held(text)
    assert kinds <= held
    if "document" in kinds:
        assert "count" not in held  # "20-ĐA/TU" is a number of a document, not a count


@pytest.mark.parametrize(
    ("sentence", "is_list"),
    [
        ("Công tác này còn một số hạn chế, đó là: Một số cơ sở còn lúng túng.", True),
        ("Các chuyên đề cơ bản gồm: lịch sử Đảng; Điều lệ Đảng.", True),
        ("Một số đảng bộ trực thuộc có số lượng đảng viên mới kết nạp cao trong năm gồm:", True),
        ("Huyện Tuần Giáo, tỉnh Điện Biên:", False),
    ],
)
def test_list_introductions(sentence: str, is_list: bool) -> None:
    assert introduces_list(sentence) is is_list


ENUMERATED = (
    "Việc rà soát tập trung vào các nhóm đối tượng sau đây của từng chi bộ:\n\n"
    "Thứ nhất, đảng viên dự bị không đủ điều kiện.\n\n"
    "Thứ hai, đảng viên bỏ sinh hoạt đảng 3 tháng.\n\n"
    "Hai là, đảng viên không làm nhiệm vụ sau 12 tháng.\n\n"
    "Ngoài ra, việc rà soát còn xét đảng viên suy thoái."
)


def _enumerated_candidates(end: int = len(ENUMERATED)) -> list[Candidate]:
    """The candidates of ENUMERATED's article, retrieved as one passage up to ``end``."""
    view = build_view("a", "Rà soát đảng viên", "2019-05-17", ENUMERATED)
    evidence = Evidence(
        n=1, chunk_id="a:0", article_id="a", title="Rà soát đảng viên", date="2019-05-17",
        origin="a.txt", text=ENUMERATED[:end], start=0, end=end, score=1.0,
    )  # fmt: skip
    return candidates([evidence], lambda _: view)


def test_a_list_written_as_ordinal_paragraphs_is_one_candidate() -> None:
    found = {c.text[:12]: c for c in _enumerated_candidates()}
    listed = found["Việc rà soát"]
    assert listed.text.endswith("sau 12 tháng.")  # every item, not the paragraph after them


@pytest.mark.parametrize(("ratio_list", "list_first"), [(0.2, True), (0.0, False)])
def test_a_how_answer_is_the_list_when_it_scores_close_to_the_best_sentence(
    ratio_list: float, list_first: bool
) -> None:
    cands = _enumerated_candidates()
    row = [0.0] * len(FEATURES)
    row[INDEX["cover_context"]] = row[INDEX["slot_context"]] = row[INDEX["content_context"]] = 1.0
    # The list scores a third of the closing sentence, the single items less still.
    chance = {"Việc": 0.3, "Ngoài": 0.9}
    scored = [Scored(c, row, chance.get(c.text.split()[0], 0.25)) for c in cands]
    scored.sort(key=lambda s: -s.probability)
    shipped = load_ranker()
    selection = replace(shipped.selection, ratio_list=ratio_list, threshold=0.1, min_cover=0.0)
    answerer = ExtractiveAnswerer(ranker=replace(shipped, selection=selection))
    query = analyse("Những trường hợp đảng viên nào thuộc diện rà soát?")
    chosen = answerer.select(Ranking(query, scored))
    assert (chosen[0].candidate.last > chosen[0].candidate.index) is list_first


def _passage(text: str, start: int, end: int) -> Evidence:
    return Evidence(
        n=1, chunk_id=f"a:{start}", article_id="a", title="Xiêng My", date="2024-05-01",
        origin="a.txt", text=text[start:end], start=start, end=end, score=1.0,
    )  # fmt: skip


def test_sentences_between_two_retrieved_passages_of_an_article_are_candidates() -> None:
    first = "Xã Xiêng My gặp khó khi tạo nguồn vì thanh niên đi làm ăn xa."
    middle = "Xã đưa bộ đội xuất ngũ, giáo viên, con dâu, con rể vào diện bồi dưỡng."
    last = "Nhờ mở rộng nguồn, xã giữ được kết quả phát triển đảng viên."
    text = f"{first}\n\n{middle}\n\n{last}"
    view = build_view("a", "Xiêng My", "2024-05-01", text)
    around = [_passage(text, 0, len(first)), _passage(text, text.index(last), len(text))]
    found = {c.text: c for c in candidates(around, lambda _: view)}
    filled = found[middle]
    assert filled.rank == 2  # the worse of the two passages' ranks
    assert filled.evidence.citation(1, filled.start, filled.end).quote == middle
    # A passage alone, or two passages far apart, leave the rest of the article unread.
    assert middle not in {c.text for c in candidates(around[:1], lambda _: view)}
    far = f"{first}\n\n{middle * 20}\n\n{last}"
    view = build_view("a", "Xiêng My", "2024-05-01", far)
    apart = [_passage(far, 0, len(first)), _passage(far, far.index(last), len(far))]
    assert len(candidates(apart, lambda _: view)) == 2


@pytest.mark.parametrize("another_answer", [False, True])
def test_scraps_of_a_report_about_another_year_are_refused(another_answer: bool) -> None:
    first, second, third, *_ = _enumerated_candidates()

    def row(**values: float) -> list[float]:
        out = [0.0] * len(FEATURES)
        for name, value in values.items():
            out[INDEX[name]] = value
        return out

    ranker = Ranker(
        weights={"year_other": -4.0, "has_asked": 2.0, "lacks_asked": 0.5},
        bias=-1.5,
        selection=Selection(threshold=0.1, min_cover=0.0, period_dominance=0.5),
    )
    # The year asked is not reported: the sentence that answers is about another year (0.62
    # but for its year), what is left of the report holds no figure of the asked kind (0.27).
    scored = [
        Scored(first, row(year_other=1, has_asked=1), 0.05, "period"),
        Scored(second, row(lacks_asked=1), ranker.probability(row(lacks_asked=1))),
    ]
    if another_answer:  # … unless a likely sentence of the asked year gives the asked measure
        scored.append(Scored(third, row(), ranker.probability(row())))
    scored.sort(key=lambda s: -s.probability)
    answerer = ExtractiveAnswerer(ranker=ranker)
    query = analyse("Năm 2020 huyện Tuần Giáo kết nạp bao nhiêu đảng viên?")
    ranking = Ranking(query, scored)
    chosen = answerer.select(ranking)
    assert bool(chosen) is another_answer
    if not another_answer:
        assert "không nêu số liệu này cho năm 2020" in answerer.refusal(query, ranking).text


@pytest.mark.parametrize("content", [0.0, 1.0])
def test_a_best_sentence_that_only_names_what_was_asked_does_not_block_the_answer(
    content: float,
) -> None:
    # A headline holding the place and year asked and little else ranks first; the sentence
    # with the figure is second. The headline cannot be the answer; the figure's sentence is,
    # unless it too covers too little of the question (then the reason is said).
    first, second, *_ = _enumerated_candidates()

    def row(content_context: float) -> list[float]:
        out = [0.0] * len(FEATURES)
        out[INDEX["cover_context"]] = out[INDEX["slot_context"]] = 1.0
        out[INDEX["content_context"]] = content_context
        return out

    scored = [Scored(first, row(0.0), 0.4), Scored(second, row(content), 0.3)]
    answerer = ExtractiveAnswerer(
        ranker=Ranker(weights={}, bias=0.0, selection=Selection(threshold=0.1, min_content=0.15))
    )
    ranking = Ranking(analyse("Năm 2019 rà soát được bao nhiêu đảng viên?"), scored)
    chosen = answerer.select(ranking)
    assert [s.candidate for s in chosen[:1]] == ([second] if content else [])
    reason = answerer.refusal_reason(ranking)
    assert (reason is None) is bool(content)
    assert content or "content_context" in str(reason)


def test_a_list_running_past_its_passage_is_cited_whole() -> None:
    end = ENUMERATED.index("Thứ hai")  # the passage holds the introduction and one item
    [listed] = [c for c in _enumerated_candidates(end) if c.last > c.index]
    citation = listed.evidence.citation(1, listed.start, listed.end)
    assert citation.quote == listed.text and citation.quote.endswith("sau 12 tháng.")


@pytest.mark.parametrize(
    ("paragraph", "is_item"),
    [
        ("Thứ nhất, đảng viên dự bị không đủ điều kiện.", True),
        ("Thứ tư: đảng viên bỏ sinh hoạt đảng.", True),
        ("Hai là, đảng viên không làm nhiệm vụ.", True),
        ("Thứ Ba, 15/05/2007, 07:29", False),  # a dateline's weekday
        ("Thứ trưởng Bộ Nội vụ dự lễ.", False),
    ],
)
def test_ordinal_list_items(paragraph: str, is_item: bool) -> None:
    assert bool(ORDINAL_ITEM_RE.match(paragraph)) is is_item


def test_a_list_is_cut_between_items_around_its_figure() -> None:
    items = "".join(
        f"\n- Đảng bộ xã Số {n}: kết nạp {n} đảng viên, đạt {90 + n}%;" for n in range(30)
    )
    text = "Kết quả của các đảng bộ như sau:" + items
    start, end = shorten(text, (text.index("115%"), text.index("115%") + 4), lines=True)
    assert text[start:end].startswith("- Đảng bộ xã Số 25: kết nạp 25 đảng viên")
    assert "115%" in text[start:end] and len(text[start:end]) <= 420


# --- picking the answer out of a sentence ---------------------------------------------------
def test_the_share_asked_with_a_count_is_the_one_stated_with_it() -> None:
    """In a list of units each with a count and a share, the share picked is the one of the
    unit whose count the fact table backs, not the first of the list."""
    question = analyse("Quận Cái Răng kết nạp bao nhiêu đảng viên, đạt bao nhiêu % chỉ tiêu?")
    text = (
        "- Đảng bộ Khối Cơ quan thành phố: kết nạp 318 đảng viên, đạt 127,2%;\n"
        "- Đảng bộ quận Cái Răng: kết nạp 115 đảng viên, đạt 104,5%;"
    )
    backed = [(text.index("115"), 6.0), (text.index("318"), 4.5)]
    picked = [p.text for p in pick_figures(question, text, backed)]
    assert picked == ["115 đảng viên", "104,5%"]


@pytest.mark.parametrize(
    ("question", "sentence", "picked"),
    [
        ("Tuần Giáo kết nạp bao nhiêu đảng viên?",
         "Huyện ủy Tuần Giáo có 60 TCCSĐ và đã kết nạp được 470 đảng viên.", ["470 đảng viên"]),
        ("Tỉnh có bao nhiêu đảng viên là người Mông?",
         "Hiện tỉnh có trên 90 đảng viên là người dân tộc Mông.", ["trên 90 đảng viên"]),
        ("Kết nạp bao nhiêu, đạt bao nhiêu % chỉ tiêu?",
         "Xã đã kết nạp 13 đảng viên mới, đạt 118% chỉ tiêu huyện giao.",
         ["13 đảng viên", "118%"]),
        ("Trong số 135 người được kết nạp có bao nhiêu người dân tộc thiểu số?",
         "Trong số 135 người được kết nạp, có 70 đảng viên là người dân tộc thiểu số.",
         ["70 đảng viên"]),
        # Pupils are counted as "em"; a class's attendees are people, not classes.
        ("Năm 2024 có bao nhiêu học sinh được kết nạp?",
         "Kết quả, 56 người được kết nạp, trong đó 12 em là học sinh.", ["12 em"]),
        ("Lớp bồi dưỡng tháng 3/2024 có bao nhiêu học viên?",
         "Tổ chức 1 lớp bồi dưỡng vào tháng 3/2024 với 285 sinh viên tham dự.",
         ["285 sinh viên"]),
    ],
)  # fmt: skip
def test_figures_picked_for_the_direct_line(
    question: str, sentence: str, picked: list[str]
) -> None:
    assert [p.text for p in pick_figures(analyse(question), sentence)] == picked


def test_a_count_of_things_does_not_answer_a_count_of_people_even_when_the_table_backs_it() -> None:
    # The fact table may read "Lớp … bao nhiêu học viên" as a count of classes and back the
    # "1 lớp" strongly: the people asked still come from the figure that counts people.
    question = analyse("Lớp bồi dưỡng tháng 3/2024 của trường có bao nhiêu học viên?")
    sentence = "Tổ chức 1 lớp bồi dưỡng vào tháng 3/2024 với 285 sinh viên tham dự."
    backed = [(sentence.index("1 lớp"), 3.0)]
    assert [p.text for p in pick_figures(question, sentence, backed)] == ["285 sinh viên"]


@pytest.mark.parametrize(
    ("question", "sentence", "picked"),
    [
        ("Lớp học từ ngày nào đến ngày nào?", "Lớp học diễn ra trong 5 ngày, từ ngày 15 đến "
         "19/12/2025.", "từ ngày 15 đến 19/12/2025"),
        ("Ai chủ trì hội nghị?", "Đồng chí Nguyễn Thành Tâm, Bí thư Tỉnh ủy chủ trì hội nghị.",
         "Nguyễn Thành Tâm"),
        ("Huyện ủy ra công văn số mấy?", "Ban Thường vụ Huyện ủy ban hành Công văn số "
         "722-CV/HU về tạo nguồn.", "722-CV/HU"),
    ],
)  # fmt: skip
def test_dates_names_and_documents_picked(question: str, sentence: str, picked: str) -> None:
    assert [p.text for p in pick_answer(analyse(question), sentence)] == [picked]


def test_a_long_sentence_is_cut_to_the_clauses_around_its_answer() -> None:
    sentence = ", ".join(f"mệnh đề số {i} nói về một việc khác" for i in range(20))
    sentence += ", đã kết nạp 470 đảng viên, " + ", ".join("thêm mệnh đề" for _ in range(10))
    at = sentence.index("470")
    start, end = shorten(sentence, (at, at + 13))
    assert start <= at < at + 13 <= end
    assert end - start <= 460
    assert start > 0


# --- questions about several places ---------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "kind", "parts"),
    [
        ("Huyện Sơn Động (Bắc Giang) năm 2017 và Đảng bộ Khối các cơ quan tỉnh Hải Dương năm "
         "2022, nơi nào kết nạp được nhiều đảng viên hơn?", "compare",
         ["Huyện Sơn Động (Bắc Giang) năm 2017 kết nạp được bao nhiêu đảng viên?",
          "Đảng bộ Khối các cơ quan tỉnh Hải Dương năm 2022 kết nạp được bao nhiêu đảng viên?"]),
        ("So sánh số đảng viên mới được kết nạp ở huyện Tuần Giáo và ở thành phố Lai Châu.",
         "compare", ["số đảng viên mới được kết nạp ở huyện Tuần Giáo là bao nhiêu?",
                     "số đảng viên mới được kết nạp ở thành phố Lai Châu là bao nhiêu?"]),
        ("Cộng lại, huyện Thới Lai (Cần Thơ, đầu năm 2017) và huyện Thạnh Phú (Bến Tre, đến "
         "tháng 9/2019) kết nạp được bao nhiêu đảng viên mới?", "total",
         ["huyện Thới Lai (Cần Thơ, đầu năm 2017) kết nạp được bao nhiêu đảng viên mới?",
          "huyện Thạnh Phú (Bến Tre, đến tháng 9/2019) kết nạp được bao nhiêu đảng viên mới?"]),
        ("Năm 2023, huyện Xuân Trường (Nam Định) và Đảng bộ Khối Doanh nghiệp tỉnh Bắc Ninh, bên "
         "nào kết nạp được nhiều đảng viên hơn?", "compare",
         ["Năm 2023, huyện Xuân Trường (Nam Định) kết nạp được bao nhiêu đảng viên?",
          "Năm 2023, Đảng bộ Khối Doanh nghiệp tỉnh Bắc Ninh kết nạp được bao nhiêu đảng viên?"]),
        # "A hay B …": or; the comparative need not follow "nhiều" at once.
        ("Năm 2023, huyện Sơn Khê (Hòa Sơn) hay huyện Phước An kết nạp được nhiều đảng viên "
         "hơn?", "compare",
         ["Năm 2023, huyện Sơn Khê (Hòa Sơn) kết nạp được bao nhiêu đảng viên?",
          "Năm 2023, huyện Phước An kết nạp được bao nhiêu đảng viên?"]),
        # Typed without accents, in lower case: the same parts, worded the same way.
        ("so sanh so dang vien moi duoc ket nap o huyen tuan giao va o thanh pho lai chau",
         "compare", ["so dang vien moi duoc ket nap o huyen tuan giao la bao nhieu?",
                     "so dang vien moi duoc ket nap o thanh pho lai chau la bao nhieu?"]),
        ("cong lai huyen son khe va thi xa phuoc an thi ket nap duoc bao nhieu dang vien",
         "total", ["huyen son khe ket nap duoc bao nhieu dang vien?",
                   "thi xa phuoc an ket nap duoc bao nhieu dang vien?"]),
        ("dang bo huyen tuan giao va dang bo huyen nui thanh, noi nao co nhieu dang vien hon",
         "compare", ["dang bo huyen tuan giao co bao nhieu dang vien?",
                     "dang bo huyen nui thanh co bao nhieu dang vien?"]),
    ],
)  # fmt: skip
def test_multi_place_questions_split_into_one_question_per_place(
    question: str, kind: str, parts: list[str]
) -> None:
    query = analyse(question)
    assert is_multi(query) == kind
    assert [p.question for p in split_parts(query)] == parts


# Each part's answer: (the quote its figure comes from, the place the fact table knows for that
# figure). The first part of every question is answered by Sơn Động's own sentence.
SON_DONG = ("Năm 2017, huyện Sơn Động kết nạp được 175 đảng viên mới.", "huyện Sơn Động")
MULTI_QUESTION = "Cộng lại, huyện Sơn Động và huyện Lục Nam kết nạp được bao nhiêu đảng viên mới?"


@pytest.mark.parametrize(
    ("second", "lines", "summed"),
    [
        # The figure is Lục Nam's: added up.
        (("Huyện Lục Nam kết nạp 120 đảng viên mới.", "huyện Lục Nam"),
         ["- huyện Sơn Động: 175 đảng viên [1]", "- huyện Lục Nam: 120 đảng viên [2]"], True),
        # The province's total, in a sentence that does not name Lục Nam: shown as the
        # province's, nothing added.
        (("Toàn tỉnh Bắc Giang kết nạp 2.100 đảng viên mới.", "tỉnh Bắc Giang"),
         ["- huyện Sơn Động: 175 đảng viên [1]",
          "- huyện Lục Nam: không tìm thấy số riêng; câu trích nêu 2.100 đảng viên của tỉnh "
          "Bắc Giang [2]"], False),
        # The table gave the figure its sentence's wider place, but the sentence names Lục Nam:
        # taken at its word.
        (("Đảng bộ huyện Lục Nam (tỉnh Bắc Giang) kết nạp 120 đảng viên mới.", "tỉnh Bắc Giang"),
         ["- huyện Sơn Động: 175 đảng viên [1]", "- huyện Lục Nam: 120 đảng viên [2]"], True),
        # The part's best sentence counts workers, not members: shown, nothing added.
        (("Huyện Lục Nam có 203 công nhân được kết nạp.", "huyện Lục Nam"),
         ["- huyện Sơn Động: 175 đảng viên [1]", "- huyện Lục Nam: 203 công nhân [2]"], False),
    ],
)  # fmt: skip
def test_a_total_adds_only_the_asked_places_figures(
    second: tuple[str, str], lines: list[str], summed: bool
) -> None:
    answers = [SON_DONG, second]
    places: dict[str, str] = {}

    def answer_one(query: Query) -> Answer:
        quote, place = answers[len(places)]
        places[quote] = place
        citation = Citation(1, f"a{len(places)}", "Tin", None, "/tin.txt", quote, 0, len(quote))
        return Answer(query.text, quote, False, [citation])

    answer = answer_multi(
        analyse(MULTI_QUESTION), "total", answer_one, None, lambda c, _: places[c.quote]
    )
    assert answer is not None and not answer.refused
    shown = answer.text.split("\n")
    assert shown[1:3] == lines
    assert ("Cộng lại:" in answer.text) is summed
    assert ("Không cộng hay so sánh" in answer.text) is not summed
    assert [c.quote for c in answer.citations] == [SON_DONG[0], second[0]]


def test_each_part_states_the_figure_its_own_answer_leads_with() -> None:
    """A part's answer may quote a sentence for context before the one its direct line states
    ("203 công nhân … chiếm 52,2%" before the table's 389): the part's figure is the direct
    line's."""
    context = "Năm 2023 có 203 công nhân được kết nạp, chiếm 52,2% tổng số đảng viên kết nạp."
    table = "Năm 2023 — Số đảng viên kết nạp: 389."
    calls: list[str] = []

    def answer_one(query: Query) -> Answer:
        calls.append(query.text)
        if len(calls) == 1:
            quote = SON_DONG[0]
            return Answer(
                query.text,
                quote,
                False,
                [Citation(1, "a1", "Tin", None, "/a.txt", quote, 0, len(quote))],
            )
        cited = [
            Citation(n, "a2", "Tin", None, "/b.txt", q, 0, len(q))
            for n, q in enumerate([context, table], start=1)
        ]
        return Answer(query.text, "389 [2]", False, cited, lead=2)

    question = (
        "Huyện Sơn Động và Khối Doanh nghiệp tỉnh Bắc Ninh, nơi nào kết nạp nhiều đảng viên hơn?"
    )
    answer = answer_multi(analyse(question), "compare", answer_one)
    assert answer is not None
    assert "- Khối Doanh nghiệp tỉnh Bắc Ninh: 389 [2]" in answer.text
    assert "Bắc Ninh nhiều hơn: 389 so với 175 đảng viên." in answer.text
    assert [c.quote for c in answer.citations] == [SON_DONG[0], table]


@pytest.mark.parametrize(
    ("units", "head", "alike"),
    [
        ({"đảng viên", ""}, "dang vien", True),
        ({"đảng viên", "quần chúng ưu tú"}, "dang vien", True),  # admitted: the new members
        ({"đảng viên", "công nhân"}, "dang vien", False),  # workers among the new members
        ({"học sinh", "em"}, "em", True),
        ({"em", "quần chúng ưu tú"}, "em", True),  # the pupils admitted may be they
        ({"em", "công nhân"}, "em", False),
        ({"sinh viên", "quần chúng ưu tú"}, "hoc vien", True),  # a class's attendees
        ({"sinh viên", "quần chúng ưu tú"}, None, True),  # "bao nhiêu người"
        ({"sinh viên", "quần chúng ưu tú"}, "dang vien", False),
        ({"lớp", "quần chúng ưu tú"}, "hoc vien", False),
        ({"%", "đảng viên"}, None, False),
    ],
)  # fmt: skip
def test_only_figures_counting_the_same_thing_are_added_or_compared(
    units: set[str], head: str | None, alike: bool
) -> None:
    assert counted_alike(units, head) is alike


def test_one_place_is_not_a_comparison() -> None:
    assert is_multi(analyse("Huyện Tuần Giáo kết nạp nhiều đảng viên hơn năm trước không?")) is None


# --- the weights file -----------------------------------------------------------------------
def test_the_shipped_weights_cover_every_feature_and_were_fitted() -> None:
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert list(data["features"]) == list(FEATURES)
    ranker = load_ranker()
    assert any(abs(w) > 0.1 for w in ranker.weights.values())
    assert 0 < ranker.selection.threshold < 1
    assert "tuning half" in ranker.meta["fitted_on"]


def test_weights_for_unknown_features_are_refused(tmp_path: Path) -> None:
    data = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    data["features"]["no_such_feature"] = 1.0
    with pytest.raises(ValueError, match="no_such_feature"):
        Ranker.from_json(data)


# --- the whole answerer on the sample articles ----------------------------------------------
def test_a_figure_answer_starts_with_a_direct_line_then_quotes(samples_bot: Tinbot) -> None:
    answer = samples_bot.answer("Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?")
    first, *rest = answer.text.split("\n")
    assert _has(first, "470") and first.endswith("[1]")
    assert "Tuần Giáo" in first  # the place the fact table knows for the figure
    assert rest and rest[0].startswith("“")
    assert answer.citations[0].quote in answer.text
    assert len(answer.text) < 1200


def test_a_year_the_articles_do_not_report_is_refused_saying_so(samples_bot: Tinbot) -> None:
    answer = samples_bot.answer("Huyện Tuần Giáo kết nạp được bao nhiêu đảng viên năm 2009?")
    assert answer.refused
    assert has_number(answer.text, "2009")
    # What the articles do report is shown, cited, but the answer stays a refusal.
    assert answer.citations and answer.citations[0].quote in answer.text


def test_a_place_no_article_names_is_refused(samples_bot: Tinbot) -> None:
    answer = samples_bot.answer("Tỉnh Cao Bằng kết nạp bao nhiêu đảng viên mới trong năm 2023?")
    assert answer.refused and not answer.citations
    # Typed as on a phone: the same place, the same refusal.
    assert samples_bot.answer("tinh cao bang nam 2023 ket nap bao nhieu dang vien moi").refused


def test_off_topic_questions_are_refused(samples_bot: Tinbot) -> None:
    assert samples_bot.answer("Giá vàng hôm nay là bao nhiêu?").refused


@pytest.mark.parametrize(
    ("question", "kept", "dropped"),
    [
        (
            "Dự báo thời tiết Hà Nội cuối tuần này thế nào?",
            {"thoi", "tiet", "thoi_tiet", "cuoi_tuan"},
            {"ha", "noi", "ha_noi", "noi_cuoi"},
        ),
        (
            # The level word before a name is the name's ("huyện Sơn Động").
            "Huyện Sơn Động (Bắc Giang) kết nạp bao nhiêu đảng viên?",
            {"ket_nap", "dang_vien"},
            {"son", "dong", "son_dong", "bac_giang", "huyen_son", "huyen"},
        ),
        (
            "What is the population of Ho Chi Minh City?",
            {"dan", "so", "dan_so"},
            {"thanh", "pho", "thanh_pho", "ho", "chi", "minh"},
        ),
        (
            # The kind of an organisation belongs to its name; the year asked is the period.
            "Học phí Trường Đại học Hùng Vương năm 2025 là bao nhiêu?",
            {"hoc_phi", "phi"},
            {"truong", "dai", "truong_dai", "dai_hoc", "nam", "2025", "nam_2025"},
        ),
        (
            "Dân số thành phố Hồ Chí Minh năm 2023 là bao nhiêu người?",
            {"dan_so", "nguoi"},
            {"nam", "2023", "nam_2023", "thanh_pho", "minh"},
        ),
        (
            # … unless the question uses its syllables elsewhere too.
            "Thành phố Vinh có bao nhiêu thanh niên được kết nạp?",
            {"thanh", "thanh_nien", "ket_nap"},
            {"pho", "thanh_pho", "vinh"},
        ),
    ],
)
def test_a_questions_content_is_its_words_besides_the_names_it_gives(
    question: str, kept: set[str], dropped: set[str]
) -> None:
    query = analyse(question)
    terms = question_terms(query, lambda words, _exact: dict.fromkeys(words, 1), 100)
    content = content_weights(query, terms)
    assert kept <= content.keys() <= terms.folded_weights.keys()
    assert not dropped & content.keys()


@pytest.mark.parametrize(
    "question",
    [
        "Thời tiết ở Tuần Giáo cuối tuần này thế nào?",
        "Đặc sản nổi tiếng của Tuần Giáo là gì?",
        "What is the best hotel in Tuan Giao?",
    ],
)
def test_a_question_that_shares_only_a_name_with_the_articles_is_refused(
    samples_bot: Tinbot, question: str
) -> None:
    # Every sample article is about Tuần Giáo: without the content check each of these was
    # answered with a quote that names the district and nothing else of the question.
    explained = samples_bot.explain(question, top=1)
    assert explained["decision"] == "refuse"
    assert explained["refusal"]  # the maintainer is told which step refused
    candidates = explained["candidates"]
    assert isinstance(candidates, list)
    assert not candidates or candidates[0]["features"]["content_context"]["value"] < 0.15


def test_explain_shows_features_effects_and_the_decision(samples_bot: Tinbot) -> None:
    explained = samples_bot.explain("Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?")
    assert explained["decision"] == "answer"
    best = explained["candidates"][0]  # type: ignore[index]
    assert set(best["features"]) == set(FEATURES)
    assert 0 <= best["probability"] <= 1
    assert any(abs(f["effect"]) > 0 for f in best["features"].values())


def test_a_comparison_cites_each_place_and_says_which_is_more(samples_bot: Tinbot) -> None:
    answer = samples_bot.answer(
        "Đảng bộ huyện Tuần Giáo và Đảng bộ huyện Núi Thành, nơi nào có nhiều đảng viên hơn?"
    )
    assert not answer.refused
    assert _has(answer.text, "3.790") and _has(answer.text, "5.279")
    assert "Núi Thành nhiều hơn" in answer.text
    assert len({c.article_id for c in answer.citations}) == 2


# --- how-questions and the unit asked about -------------------------------------------------
# Written for these tests (not from any corpus): a how-article whose introduction repeats the
# question's words while the later sentences say what was done, and a province's report with a
# list of its districts.
HOW_ARTICLE = """Chi bộ bản Mường Chiềng tạo nguồn kết nạp đảng viên trong thanh niên

Ngày đăng: 05/09/2024

Những năm gần đây, Chi bộ bản Mường Chiềng, xã Tân Minh luôn xác định tạo nguồn kết nạp đảng \
viên trong thanh niên là nhiệm vụ trọng tâm.

Công tác tạo nguồn kết nạp đảng viên của chi bộ được lãnh đạo xã đánh giá cao.

Mỗi đảng viên được phân công kèm cặp một đoàn viên ưu tú, thường xuyên gặp gỡ, động viên và \
giao việc cụ thể để thử thách.

Chi bộ phối hợp với Chi đoàn tổ chức các đợt lao động tình nguyện, qua đó phát hiện những \
thanh niên nhiệt tình, có uy tín trong bản.

Những đoàn viên tiêu biểu được cử đi học lớp bồi dưỡng nhận thức về Đảng ngay trong năm.

Nhờ cách làm này, năm 2024 chi bộ đã kết nạp 3 đảng viên trẻ.
"""
HOW_SENTENCES = ("kèm cặp một đoàn viên", "lao động tình nguyện", "lớp bồi dưỡng nhận thức")
DISTRICTS_ARTICLE = """Đảng bộ tỉnh Vĩnh Phúc: kết nạp 2.150 đảng viên mới

Ngày đăng: 12/06/2023

Từ đầu năm 2023 đến nay, Đảng bộ tỉnh Vĩnh Phúc đã kết nạp được 2.150 đảng viên mới, đạt 80% \
chỉ tiêu năm do Tỉnh ủy đề ra.

Nhiều đơn vị có kết quả kết nạp cao:

- Đảng bộ huyện Tam Dương: kết nạp 240 đảng viên, đạt 105%;
- Đảng bộ huyện Lập Thạch: kết nạp 198 đảng viên, đạt 96%;
- Đảng bộ thành phố Vĩnh Yên: kết nạp 310 đảng viên, đạt 110%.
"""

SCREENING_ARTICLE = """Hòa Sơn rà soát, sàng lọc đội ngũ đảng viên

Năm 2019, Tỉnh ủy Hòa Sơn tổ chức 2 đợt rà soát, sàng lọc đội ngũ đảng viên để thực hiện Chỉ \
thị số 28-CT/TW ngày 21/1/2019 của Ban Bí thư về nâng cao chất lượng kết nạp đảng viên.

Theo hướng dẫn của Ban Tổ chức Tỉnh ủy, việc rà soát, sàng lọc đưa những người không còn đủ \
tư cách ra khỏi Đảng tập trung vào các nhóm đối tượng sau:

Thứ nhất, đảng viên dự bị không đủ điều kiện để chuyển thành đảng viên chính thức.

Thứ hai, đảng viên không bảo đảm tiêu chuẩn chính trị theo Quy định số 126-QĐ/TW, ngày \
28/2/2018 của Bộ Chính trị.

Thứ ba, đảng viên bỏ sinh hoạt đảng hoặc không đóng đảng phí 3 tháng trong năm mà không có lý \
do chính đáng.

Ngoài ra, diện rà soát còn gồm những đảng viên có biểu hiện suy thoái về tư tưởng chính trị.
"""


@pytest.fixture(scope="module")
def written_bot(
    tmp_path_factory: pytest.TempPathFactory, embedder: CountingEmbedder
) -> Iterator[Tinbot]:
    from bot.settings import Settings

    folder = tmp_path_factory.mktemp("written")
    (folder / "muong_chieng.txt").write_text(HOW_ARTICLE, encoding="utf-8")
    (folder / "vinh_phuc.txt").write_text(DISTRICTS_ARTICLE, encoding="utf-8")
    (folder / "hoa_son.txt").write_text(SCREENING_ARTICLE, encoding="utf-8")
    with Tinbot(Settings(data_dir=folder / "data"), embedder) as service:
        assert service.ingest([str(SAMPLES), str(folder)]).count("added") == 8
        yield service


@pytest.mark.parametrize(
    "question",
    [
        "Chi bộ bản Mường Chiềng tạo nguồn kết nạp đảng viên trong thanh niên bằng cách nào?",
        "Chi bộ bản Mường Chiềng (Tân Minh) làm gì để tạo nguồn kết nạp đảng viên?",
        "chi bo ban muong chieng tao nguon ket nap dang vien nhu the nao",
    ],
)
def test_a_how_question_quotes_what_was_done_not_only_the_introduction(
    written_bot: Tinbot, question: str
) -> None:
    answer = written_bot.answer(question)
    assert not answer.refused
    assert any(s in answer.text for s in HOW_SENTENCES), answer.text
    assert len(answer.text) <= 1200


def test_a_how_question_whose_answer_is_a_list_quotes_the_list(written_bot: Tinbot) -> None:
    # The second item cites a rule of 2018: the date a document was issued is not the period
    # the list is about, so the list still answers a question about 2019.
    answer = written_bot.answer(
        "Năm 2019, Hòa Sơn rà soát những trường hợp đảng viên nào để đưa ra khỏi Đảng?"
    )
    assert not answer.refused
    for item in ("Thứ nhất", "Quy định số 126-QĐ/TW", "không đóng đảng phí 3 tháng"):
        assert item in answer.text, answer.text
    assert len(answer.text) <= 1200


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("theo Quy định số 126-QĐ/TW, ngày 28/2/2018 của Bộ Chính trị", set()),
        ("Chỉ thị số 28-CT/TW ngày 21/1/2019; năm 2020 kết nạp 30 đảng viên", {"2020"}),
        ("Đề án 20-ĐA/TU (Thành ủy) 24/10/2022", set()),
        ("Nghị quyết 28 năm 2019", {"2019"}),  # no issue date: the year may be the period
        ("ngày 28/2/2018, huyện kết nạp 30 đảng viên", {"2018"}),
    ],
)
def test_the_date_a_cited_document_was_issued_is_no_period(text: str, years: set[str]) -> None:
    assert years_in(text) == years


def test_a_district_asked_with_its_province_gets_the_district_figure(written_bot: Tinbot) -> None:
    answer = written_bot.answer(
        "Huyện Lập Thạch (tỉnh Vĩnh Phúc) kết nạp bao nhiêu đảng viên trong năm 2023?"
    )
    first = answer.text.split("\n")[0]
    assert _has(first, "198") and not _has(first, "2.150"), answer.text


def _one_passage(
    text: str, title: str = "", date: str | None = None, article_id: str = "a"
) -> list[Candidate]:
    """The candidate sentences of ``text``, retrieved whole as the one passage of an article."""
    view = build_view(article_id, title, date, text)
    evidence = Evidence(
        n=1, chunk_id=f"{article_id}:0", article_id=article_id, title=title, date=date,
        origin=f"{article_id}.txt", text=text, start=0, end=len(text), score=1.0,
    )  # fmt: skip
    return candidates([evidence], lambda _: view)


def test_a_photo_caption_is_never_quoted() -> None:
    from bot.answering.extractive import mismatch

    text = (
        "Ảnh: Khám sức khỏe được tổ chức chặt chẽ để tuyển chọn thanh niên.\n\n"
        "Huyện làm tốt khâu sơ tuyển, nắm chắc sức khỏe của từng thanh niên."
    )
    query = analyse("Huyện làm gì để tuyển chọn thanh niên?")
    terms = question_terms(query, lambda ts, exact: dict.fromkeys(ts, 1), 10)
    caption, sentence = featurize(query, terms, _one_passage(text))
    assert (mismatch(query, caption), mismatch(query, sentence)) == ("caption", None)


@pytest.mark.parametrize(
    ("question", "article", "narrowest"),
    [
        ("Huyện Thới Lai (TP Cần Thơ) kết nạp?", "thành phố Cần Thơ, huyện Thới Lai", "thoi lai"),
        ("Tỉnh Bắc Giang, huyện Sơn Động kết nạp?", "huyện Sơn Động, tỉnh Bắc Giang", "son dong"),
        ("Xã Tú Lý (huyện Đà Bắc) có bao nhiêu?", "huyện Đà Bắc … xã Tú Lý", "tu ly"),
        # Levels alike: the one the article names least is the unit asked about.
        ("Huyện Ý Yên và huyện Vụ Bản?", "huyện Ý Yên, huyện Ý Yên, huyện Vụ Bản", "vu ban"),
        # The asked place the article does not name is not the unit asked about there.
        ("Huyện Lập Thạch (tỉnh Vĩnh Phúc) kết nạp?", "tỉnh Vĩnh Phúc", None),
        ("Năm 2023 kết nạp bao nhiêu đảng viên?", "huyện Ý Yên", None),
    ],
)  # fmt: skip
def test_the_narrowest_place_asked_is_the_unit_asked_about(
    question: str, article: str, narrowest: str | None
) -> None:
    view = build_view("a", "", None, article)
    assert specific_place(analyse(question), view.folded_words) == narrowest


def test_plan_or_result_is_read_figure_by_figure_from_the_fact_table() -> None:
    # Both sentences name a "mục tiêu"; only the first one's figure is a plan.
    article = prepare(load(str(SAMPLES / "000_f0ce5db119e1970c.txt")))
    facts = extract_facts(article)
    query = analyse("tuan giao ket nap bao nhieu dang vien")
    terms = question_terms(query, lambda ts, exact: dict.fromkeys(ts, 1), 10)
    cands = _one_passage(article.text, article.title, article.date, article.article_id)
    rows = featurize(query, terms, cands, lambda _: facts)
    plan = {
        figure: row[INDEX["target_mismatch"]]
        for c, row in zip(cands, rows, strict=True)
        for figure in ("kết nạp 150 đảng viên/năm", "đã kết nạp được 470 đảng viên")
        if figure in c.text
    }
    assert plan == {"kết nạp 150 đảng viên/năm": 1.0, "đã kết nạp được 470 đảng viên": 0.0}


def test_a_figure_the_fact_table_gives_the_asked_place_is_marked_so() -> None:
    """A city's report lists its districts: the district's own line, not the city's total,
    holds the figure the fact table gives the district asked about."""
    text = (
        "Thành phố Cần Thơ kết nạp 1.614 đảng viên\n\nTừ đầu năm 2017 đến nay, Đảng bộ thành phố "
        "Cần Thơ đã kết nạp được 1.614 đảng viên mới.\n\n- Đảng bộ huyện Thới Lai: kết nạp 195 "
        "đảng viên, đạt 102,6%;\n- Đảng bộ huyện Cờ Đỏ: kết nạp 123 đảng viên, đạt 68,3%."
    )
    article = Article("can-tho", "can-tho.md", "Thành phố Cần Thơ", "2017-09-01", None, text, "h")
    query = analyse("Huyện Thới Lai (TP Cần Thơ) kết nạp bao nhiêu đảng viên năm 2017?")
    terms = question_terms(query, lambda ts, exact: dict.fromkeys(ts, 1), 10)
    cands = _one_passage(text, article.title, article.date, article.article_id)
    facts = extract_facts(article)
    rows = featurize(query, terms, cands, lambda _: facts)
    marked = {
        c.text[:20]: row[INDEX["fact_place_match"]] for c, row in zip(cands, rows, strict=True)
    }
    assert marked == {
        "Thành phố Cần Thơ kế": 0.0,
        "Từ đầu năm 2017 đến ": 0.0,
        "- Đảng bộ huyện Thới": 1.0,
        "- Đảng bộ huyện Cờ Đ": 0.0,
    }


def test_how_questions_weigh_their_own_features_and_figure_questions_do_not() -> None:
    cands = _one_passage(HOW_ARTICLE, "Tiêu đề")
    for question, descriptive in (
        ("Chi bộ bản Mường Chiềng tạo nguồn bằng cách nào?", True),
        ("Chi bộ bản Mường Chiềng kết nạp bao nhiêu đảng viên?", False),
    ):
        query = analyse(question)
        terms = question_terms(query, lambda ts, exact: dict.fromkeys(ts, 1), 10)
        for row in featurize(query, terms, cands):
            own = [name for name in FEATURES if name.startswith("descriptive_")]
            for name in own:
                base = row[INDEX[name.removeprefix("descriptive_")]]
                assert row[INDEX[name]] == (base if descriptive else 0.0), (question, name)


def _composed_from_two(title: str, text: str, question: str) -> Answer:
    """The answer composed from the first two sentences of ``text``, the first ranked best."""
    from bot.answering.extractive import ExtractiveAnswerer, Scored

    first, second = _one_passage(text, title)[:2]
    chosen = [Scored(first, [], 0.6), Scored(second, [], 0.5)]
    return ExtractiveAnswerer().compose(analyse(question), chosen)


def test_the_direct_line_takes_the_figure_that_fits_the_question() -> None:
    """The best-ranked sentence may hold only a date; the figure asked for, in the next quote,
    is the one the direct line gives."""
    answer = _composed_from_two(
        "Khai giảng lớp bồi dưỡng",
        "Ngày 23-3, Trung tâm Bồi dưỡng chính trị huyện Cái Bè khai giảng lớp bồi dưỡng nhận "
        "thức về Đảng. Tham gia lớp học có 120 học viên.",
        "Lớp bồi dưỡng nhận thức về Đảng ở Cái Bè có bao nhiêu học viên?",
    )
    direct, quote1, quote2 = answer.text.split("\n")
    assert _has(direct, "120") and direct.endswith("[2]"), answer.text
    assert quote1.endswith("[1]") and "23-3" in quote1 and _has(quote2, "120")


@pytest.mark.parametrize(
    ("text", "question", "stated"),
    [
        # Asked how many members were admitted, "203 công nhân" (the workers among them) is
        # not the answer; the table's 389 members in the next quote is.
        ("Năm 2023 có 203 công nhân trực tiếp sản xuất được kết nạp.\n\n"
         "Năm 2023 — Số đảng viên kết nạp: 389; Tổ chức đảng thành lập mới: 6.",
         "Năm 2023 Khối Doanh nghiệp kết nạp được bao nhiêu đảng viên?", ["389"]),
        # Asked for a count and a share of the plan, both come from the quote that gives both,
        # not the count alone from the headline ranked above it.
        ("Năm 2022 Nha Trang kết nạp được 20 đảng viên trong các doanh nghiệp.\n\n"
         "Trong năm 2022, các tổ chức đảng đã kết nạp được 20 đảng viên mới, đạt 125% kế hoạch.",
         "Năm 2022 Nha Trang kết nạp được bao nhiêu đảng viên, đạt bao nhiêu % kế hoạch?",
         ["20 đảng viên", "125%"]),
    ],
)  # fmt: skip
def test_the_direct_line_passes_over_a_quote_that_answers_a_part(
    text: str, question: str, stated: list[str]
) -> None:
    answer = _composed_from_two("Phát triển đảng viên", text, question)
    direct = answer.text.split("\n")[0]
    assert all(_has(direct, figure) for figure in stated), answer.text
    assert direct.endswith("[2]") and answer.lead == 2


def test_a_comparison_of_members_with_workers_is_not_made() -> None:
    quotes = [SON_DONG[0], "Huyện Lục Nam có 203 công nhân được kết nạp."]

    def answer_one(query: Query) -> Answer:
        quote = quotes.pop(0)
        citation = Citation(1, f"a{len(quotes)}", "Tin", None, "/tin.txt", quote, 0, len(quote))
        return Answer(query.text, quote, False, [citation])

    question = "Huyện Sơn Động và huyện Lục Nam, nơi nào kết nạp được nhiều đảng viên hơn?"
    answer = answer_multi(analyse(question), "compare", answer_one)
    assert answer is not None
    assert "Không cộng hay so sánh: các số tìm được đếm những thứ khác nhau" in answer.text
    assert "nhiều hơn" not in answer.text


def _view_of(view: ArticleView, _evidence: Evidence) -> ArticleView:
    return view


def test_a_publishers_name_places_a_report_that_never_names_its_province() -> None:
    text = (
        "Sáng 5/3, lớp bồi dưỡng nhận thức về Đảng khóa II khai giảng tại Trường Đại học "
        "Hùng Vương với 120 học viên.\n\nLớp học kéo dài 5 ngày."
    )
    evidence = Evidence(
        n=1, chunk_id="a:0", article_id="a", title="Khai giảng lớp bồi dưỡng", date=None,
        origin="a.html", text=text, start=0, end=len(text), score=1.0,
    )  # fmt: skip
    query = analyse("Lớp bồi dưỡng nhận thức về Đảng của tỉnh Phú Thọ khai giảng ở đâu?")
    terms = question_terms(query, lambda ts, exact: dict.fromkeys(ts, 1), 10)
    views = {
        publisher: build_view("a", "Khai giảng lớp bồi dưỡng", None, text, publisher)
        for publisher in (None, "Báo Phú Thọ điện tử")
    }
    for publisher, place in ((None, 0.0), ("Báo Phú Thọ điện tử", 1.0)):
        cands = candidates([evidence], functools.partial(_view_of, views[publisher]))
        rows = featurize(query, terms, cands)
        assert {row[INDEX["place_article"]] for row in rows} == {place}
        # The name is the article's context, not a sentence of it.
        assert all("Phú Thọ" not in c.text for c in cands)
        assert all(row[INDEX["entity_sentence"]] == 0.0 for row in rows)


# --- the part of those counted, school years, and what a how-question asks about ---------------
def _facts_of(body: str, date: str = "2024-04-26") -> list[Fact]:
    text = f"Bắc Sơn phát triển đảng viên\n\n{body}"
    return extract_facts(Article("bac-son", "bac-son.txt", "Bắc Sơn", date, None, text, "h"))


@pytest.mark.parametrize(
    ("asked", "fact_years", "overlap"),
    [
        ("Năm học 2021-2022", "Năm học 2022-2023", False),  # school years meet at an end
        ("Giai đoạn 2020-2025", "Nhiệm kỳ 2015-2020", False),  # so do consecutive terms
        ("Giai đoạn 2020-2025", "Năm 2020", True),  # a year is inside the span
        ("Năm 2022", "Năm học 2022-2023", True),
        ("Năm học 2022-2023", "Năm học 2022-2023", True),
    ],
)
def test_spans_that_only_meet_at_an_end_are_other_periods(
    asked: str, fact_years: str, overlap: bool
) -> None:
    from bot.answering.fact_question import question_spec, years_overlap

    [fact] = _facts_of(f"{fact_years}, Đảng bộ huyện Bắc Sơn kết nạp 137 đảng viên.")
    spec = question_spec(analyse(f"{asked} huyện Bắc Sơn kết nạp bao nhiêu đảng viên?"))
    assert years_overlap(fact, spec.years) is overlap


@pytest.mark.parametrize(
    ("asked", "other"),
    [
        # Since a year the stretch "từ khi thành lập đến nay" may start in: not another period.
        ("Từ khi thành lập năm 2014 đến nay, chi bộ kết nạp được mấy đảng viên?", False),
        # One year asked: a count added up since an unknown start is not that year's.
        ("Năm 2024 chi bộ kết nạp được mấy đảng viên?", True),
    ],
)
def test_a_stretch_from_a_start_without_a_year_runs_up_to_the_publication(
    asked: str, other: bool
) -> None:
    from bot.answering.fact_question import other_period, question_spec

    [fact] = _facts_of("Từ khi thành lập đến nay, chi bộ mới kết nạp được 2 đảng viên.")
    assert (fact.period, fact.year_from, fact.year_to) == ("từ khi thành lập đến nay", None, 2024)
    assert other_period(fact, question_spec(analyse(asked))) is other


@pytest.mark.parametrize(
    ("question", "segments"),
    [
        ("Năm học 2021-2022 Trường Đại học Cần Thơ kết nạp bao nhiêu sinh viên?", ()),
        ("Trường THPT Số 1 Tây Sơn (trung học phổ thông) kết nạp bao nhiêu học sinh?", ()),
        ("Tỷ lệ đảng viên mới có trình độ đại học trở lên là bao nhiêu?", ("trinh_do",)),
        ("Năm 2023 huyện Bắc Sơn kết nạp bao nhiêu đảng viên nữ?", ("nu",)),
    ],
)
def test_a_school_named_in_a_question_is_not_a_level_of_education_asked(
    question: str, segments: tuple[str, ...]
) -> None:
    from bot.answering.fact_question import question_spec

    assert question_spec(analyse(question)).segments == segments


@pytest.mark.parametrize(
    ("question", "kind", "target"),
    [
        # The share of a plan reached is a result, however the share is written.
        ("Năm 2024 xã Tú Lý kết nạp được bao nhiêu đảng viên, đạt bao nhiêu % chỉ tiêu?",
         "ket_nap", False),
        ("xa tu ly ket nap duoc bao nhieu dang vien, dat bao nhieu % chi tieu", "ket_nap", False),
        ("Những đảng bộ nào kết nạp đảng viên vượt 100% kế hoạch?", "ty_le_dat_chi_tieu", False),
        ("Năm 2024 tỉnh đặt chỉ tiêu kết nạp bao nhiêu đảng viên?", "ket_nap", True),
        ("nam 2024 tinh dat chi tieu ket nap bao nhieu dang vien", "ket_nap", True),
        # The people counted, not the organisations or the class the question also names.
        ("Các tổ chức đảng trong doanh nghiệp kết nạp được bao nhiêu đảng viên?", "ket_nap", False),
        ("Lớp bồi dưỡng có bao nhiêu học viên?", None, False),
        ("Huyện mở bao nhiêu lớp bồi dưỡng?", "lop_boi_duong", False),
        ("Xã có bao nhiêu chi bộ?", "chi_bo", False),
    ],
)  # fmt: skip
def test_what_a_figure_question_asks_of_the_fact_table(
    question: str, kind: str | None, target: bool
) -> None:
    from bot.answering.fact_question import question_spec

    spec = question_spec(analyse(question))
    assert (spec.kind, spec.target) == (kind, target)


@pytest.mark.parametrize(
    ("head", "unit", "fits"),
    [
        ("dang vien", "dang vien", True),
        ("dang vien", "quan chung uu tu", True),  # those admitted, counted as candidates
        ("hoc sinh", "em", True),
        ("hoc vien", "sinh vien", True),  # the attendees who are students
        ("hoc sinh", "nguoi", True),  # people: nothing says they are others than asked
        ("dang vien", "cong nhan", False),  # the workers among the members: a part
        ("dang vien", "lop", False),  # a count of things
        (None, "lop", True),
    ],
)
def test_a_figure_counts_what_is_asked_or_something_else(
    head: str | None, unit: str, fits: bool
) -> None:
    from bot.answering.compose import unit_fit

    assert (unit_fit(head, unit) >= 0) == fits


def test_a_student_figure_answers_how_many_students_not_how_many_members() -> None:
    from bot.answering.fact_question import exact_match, question_spec, score_fact

    body = "Năm 2023, Đảng bộ huyện Bắc Sơn kết nạp 389 đảng viên, trong đó có 203 công nhân."
    members, workers = _facts_of(body)
    assert workers.unit == "công nhân" and workers.kind == "ket_nap"
    how_many_members = question_spec(analyse("Năm 2023 Bắc Sơn kết nạp bao nhiêu đảng viên?"))
    assert exact_match(members, how_many_members) and not exact_match(workers, how_many_members)
    how_many_workers = question_spec(analyse("Năm 2023 Bắc Sơn kết nạp bao nhiêu công nhân?"))
    workers_score = score_fact(workers, how_many_workers)
    assert workers_score is not None
    assert workers_score > (score_fact(workers, how_many_members) or 0)


def test_abbreviated_ethnic_minorities_name_the_part_asked() -> None:
    from bot.answering.extractive import segment_missing
    from bot.answering.fact_question import question_spec

    query = analyse("Năm 2023 huyện Bắc Sơn kết nạp bao nhiêu đảng viên người dân tộc thiểu số?")
    spec = question_spec(query)
    assert not segment_missing(query, spec, "Kết nạp 120 đảng viên, trong đó 70 người DTTS.")
    assert segment_missing(query, spec, "Kết nạp 120 đảng viên, trong đó 70 đoàn viên.")


UNREPORTED_PART_ARTICLE = """Bắc Sơn kết nạp 389 đảng viên trong năm 2023

Ngày đăng: 20/01/2024

Năm 2023, Đảng bộ huyện Bắc Sơn kết nạp 389 đảng viên mới, đạt 120% chỉ tiêu, trong đó có \
203 công nhân trực tiếp sản xuất.

Các chi bộ phân công đảng viên kèm cặp từng quần chúng ưu tú.
"""


@pytest.fixture
def part_bot(tmp_path: Path, embedder: CountingEmbedder) -> Iterator[Tinbot]:
    from bot.settings import Settings

    (tmp_path / "bac_son.txt").write_text(UNREPORTED_PART_ARTICLE, encoding="utf-8")
    with Tinbot(Settings(data_dir=tmp_path / "data"), embedder) as service:
        service.ingest([str(tmp_path / "bac_son.txt")])
        yield service


def test_a_part_of_those_counted_that_the_article_never_names_is_refused(
    part_bot: Tinbot,
) -> None:
    whole = part_bot.answer("Năm 2023 huyện Bắc Sơn kết nạp bao nhiêu đảng viên?")
    assert not whole.refused and _has(whole.text, "389"), whole.text
    women = part_bot.answer("Năm 2023 huyện Bắc Sơn kết nạp bao nhiêu đảng viên nữ?")
    assert women.refused, women.text


def test_the_direct_line_never_states_another_periods_figure() -> None:
    table = "Năm 2021 — Số đảng viên kết nạp: 312.\nNăm 2023 — Số đảng viên kết nạp: 389."
    facts = _facts_of(table)
    assert [(f.figure, f.year_from) for f in facts] == [("312", 2021), ("389", 2023)]
    text = f"Bắc Sơn phát triển đảng viên\n\n{table}"
    rows = [c for c in _one_passage(text, "Bắc Sơn", "2024-04-26", "bac-son") if "312" in c.text]
    # "nữ" matches no fact of the table: its figures are picked by words alone, and the first
    # one (2021's) leads; the fact table dates it to 2021, so it is quoted but not stated.
    query = analyse("Năm 2023 huyện Bắc Sơn kết nạp bao nhiêu đảng viên nữ?")
    plain = ExtractiveAnswerer(facts=None).compose(query, [Scored(rows[0], [], 0.5)])
    assert plain.text.startswith("312")
    answer = ExtractiveAnswerer(facts=_StaticFacts(facts)).compose(  # type: ignore[arg-type]
        query, [Scored(rows[0], [], 0.5)]
    )
    direct, quote = answer.text.split("\n", 1)
    assert "312" not in direct and "312" in quote, answer.text


def _sentences_and_answerer(text: str, *, date: str) -> tuple[list[Candidate], ExtractiveAnswerer]:
    """The candidate sentences of one article (its title the first line) retrieved whole as one
    passage, and an answerer that reads the article's facts."""
    article = Article("a", "a.md", text.split("\n")[0], date, None, text, "h")
    facts = _StaticFacts(extract_facts(article))
    cands = _one_passage(text, article.title, date)
    return cands, ExtractiveAnswerer(facts=facts)  # type: ignore[arg-type]


def test_the_direct_line_states_the_asked_units_figure_over_its_parents() -> None:
    """Asked about a district named with its city, the city's total (the best-ranked sentence)
    is quoted, but the district's own line is the figure stated."""
    cands, answerer = _sentences_and_answerer(
        "Thành phố Cần Thơ kết nạp 1.614 đảng viên\n\nTừ đầu năm 2017 đến nay, Đảng bộ thành "
        "phố Cần Thơ đã kết nạp được 1.614 đảng viên mới.\n\n- Đảng bộ huyện Thới Lai: kết "
        "nạp 195 đảng viên, đạt 102,6%;\n- Đảng bộ huyện Cờ Đỏ: kết nạp 123 đảng viên.",
        date="2017-09-01",
    )
    city = next(c for c in cands if c.text.startswith("Từ đầu"))
    district = next(c for c in cands if "Thới Lai" in c.text)
    chosen = [Scored(city, [], 0.6), Scored(district, [], 0.5)]
    asked = answerer.compose(analyse("Huyện Thới Lai (TP Cần Thơ) kết nạp bao nhiêu?"), chosen)
    direct = asked.text.split("\n")[0]
    assert direct.startswith("195 đảng viên — huyện Thới Lai") and direct.endswith("[2]")
    # Asked about the city, its total leads.
    city_asked = answerer.compose(analyse("Thành phố Cần Thơ kết nạp bao nhiêu?"), chosen)
    assert city_asked.text.startswith("1.614 đảng viên"), city_asked.text


def test_the_direct_line_states_the_asked_units_figure_of_a_list_of_units() -> None:
    """A sentence lists units each with its figure: the one asked is stated, not the first."""
    cands, answerer = _sentences_and_answerer(
        "Cà Mau kết nạp đảng viên\n\nMột số đảng bộ có số lượng kết nạp cao như: Đảng bộ thành "
        "phố Cà Mau kết nạp 156 đảng viên; Đảng bộ huyện Trần Văn Thời kết nạp 142 đảng viên; "
        "Đảng bộ huyện U Minh kết nạp 97 đảng viên.",
        date="2024-07-01",
    )
    [listing] = [c for c in cands if "156" in c.text]
    for question, stated in (
        ("Đảng bộ huyện Trần Văn Thời kết nạp được bao nhiêu đảng viên?", "142 đảng viên"),
        ("Huyện U Minh kết nạp được bao nhiêu đảng viên?", "97 đảng viên"),
    ):
        answer = answerer.compose(analyse(question), [Scored(listing, [], 0.6)])
        assert answer.text.startswith(stated), answer.text


def test_the_direct_line_states_a_place_only_where_it_is_named() -> None:
    """The table carries a report's district over to a regiment's figure; the direct line
    states that place only when the question, the quote or the headline names it."""
    cands, answerer = _sentences_and_answerer(
        "Trung đoàn 12 chú trọng phát triển đảng viên\n\nĐơn vị đóng quân tại huyện Sơn Khê. "
        "Năm 2023, Đảng ủy Trung đoàn 12 đã kết nạp 47 đảng viên.",
        date="2024-01-10",
    )
    [sentence] = [c for c in cands if "47" in c.text]
    assert answerer.facts is not None
    [fact] = [f for f in answerer.facts.of_article("a") if f.value == 47]
    assert fact.place == "huyện Sơn Khê"  # carried from the sentence before
    for question, direct in (
        ("Trung đoàn 12 kết nạp bao nhiêu đảng viên năm 2023?", "47 đảng viên — năm 2023 [1]"),
        ("Năm 2023 huyện Sơn Khê kết nạp bao nhiêu đảng viên?",
         "47 đảng viên — huyện Sơn Khê, năm 2023 [1]"),
    ):  # fmt: skip
        answer = answerer.compose(analyse(question), [Scored(sentence, [], 0.6)])
        assert answer.text.split("\n")[0] == direct, answer.text


class _StaticFacts:
    """The fact table's one call the answerer makes, over facts extracted here."""

    def __init__(self, facts: list[Fact]) -> None:
        self.facts = facts

    def of_article(self, article_id: str) -> list[Fact]:
        return [f for f in self.facts if f.article_id == article_id]


SOLUTIONS_THEN_DIFFICULTIES = """Bắc Sơn phát triển đảng viên trong doanh nghiệp

Để đạt kết quả trên, Đảng ủy Khối đã thực hiện đồng bộ nhiều giải pháp:
- Gặp gỡ, đối thoại với chủ doanh nghiệp;
- Tổ chức lớp bồi dưỡng nhận thức về Đảng vào ngày nghỉ cuối tuần.

Công tác phát triển đảng viên trong doanh nghiệp vẫn còn một số khó khăn. Công nhân thường \
xuyên thay đổi chỗ làm. Công nhân làm việc theo ca nên khó bố trí sinh hoạt.
"""


@pytest.mark.parametrize("focus_named", [True, False])
def test_what_difficulties_quotes_the_sentences_after_the_one_naming_them_not_a_list_of_solutions(
    focus_named: bool,
) -> None:
    text = SOLUTIONS_THEN_DIFFICULTIES
    cands = [c for c in _one_passage(text, "Bắc Sơn", "2024-04-26") if not c.text.startswith("-")]
    chance = {"Công tác": 0.5, "Để đạt": 0.45, "Công nhân thường": 0.2, "Công nhân làm": 0.2}

    def scored(c: Candidate) -> Scored:
        row = [0.0] * len(FEATURES)
        row[INDEX["cover_context"]] = row[INDEX["slot_context"]] = 1.0
        row[INDEX["content_context"]] = 1.0
        row[INDEX["focus"]] = float(focus_named and "khó khăn" in c.text)
        return Scored(c, row, next(p for k, p in chance.items() if c.text.startswith(k)))

    ranking = sorted(
        (scored(c) for c in cands if c.text[:5] != "Bắc S"), key=lambda s: -s.probability
    )
    shipped = load_ranker()
    selection = replace(shipped.selection, ratio_list=0.2, threshold=0.1, min_cover=0.0)
    answerer = ExtractiveAnswerer(ranker=replace(shipped, selection=selection))
    query = analyse("Phát triển đảng viên trong doanh nghiệp ở Bắc Sơn vướng những khó khăn gì?")
    quoted = [s.candidate.text for s in answerer.select(Ranking(query, ranking))]
    if focus_named:
        assert quoted[0].startswith("Công tác") and not any("giải pháp" in q for q in quoted)
        for follower in ("Công nhân thường", "Công nhân làm"):
            assert any(q.startswith(follower) for q in quoted), quoted
    else:  # nothing says what the list is about: the list close to the best is the answer
        assert "giải pháp" in quoted[0]
