"""Facts: extraction on the real sample articles (and one written for these tests), the fact table
in the real SQLite store, answering each type of question from facts, and ``tinbot facts``."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.answering.fact_format import format_facts
from bot.answering.facts import FactsAnswerer, _without_qualifiers
from bot.cli import add_facts_parser
from bot.settings import Settings
from bot.types import Answer
from index.facts import FactStore
from index.store import ArticleStore
from ingest.clean import clean_text
from ingest.facts import Fact, extract_facts
from ingest.facts_eval import load_articles, load_labels, score
from ingest.models import Article
from tests.conftest import REPO, SAMPLES
from tests.helpers import has_number

TUAN_GIAO = "000_f0ce5db119e1970c.txt"
LANG_SON = "001_b3634b2c3e59b832.txt"
KON_TUM = "002_9d856003cf5341a9.txt"
NUI_THANH = "003_b59c7ee6d4b859d5.txt"
LAI_CHAU = "004_ae9b805c924deab1.txt"


def _written(slug: str, title: str, date: str, body: str) -> Article:
    """An article written for these tests: its text opens with its title, as scraped ones do."""
    return Article(
        article_id=slug,
        origin=f"{slug}.txt",
        title=title,
        date=date,
        author=None,
        text=f"{title}\n\n{body}",
        content_hash=slug,
    )


# Written for these tests in the style of the samples, with one share that contradicts its parts.
MUONG_CHA = _written(
    "muong-cha",
    "Huyện Mường Chà: Nâng cao chất lượng phát triển đảng viên",
    "2022-08-01",
    """Năm 2021, Đảng bộ huyện Mường Chà kết nạp 112 đảng viên mới, đạt 124% chỉ tiêu.

Trong đó có 48 đảng viên nữ, chiếm 42,9%; 95 đảng viên là người dân tộc thiểu số (chiếm 8,5%).

Tính đến ngày 30/6/2022, toàn huyện có 2.416 đảng viên sinh hoạt tại 41 tổ chức cơ sở đảng.

Năm 2022, Huyện ủy phấn đấu kết nạp 100 đảng viên mới trở lên. Hằng năm, Huyện ủy mở 4 lớp \
bồi dưỡng nhận thức về Đảng.
""",
)


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return load_articles(SAMPLES)


@pytest.fixture(scope="module")
def facts_by_file(articles: dict[str, Article]) -> dict[str, list[Fact]]:
    return {name: extract_facts(article) for name, article in articles.items()}


def _one(facts: list[Fact], figure: str) -> Fact:
    found = [f for f in facts if f.figure.startswith(figure)]
    assert len(found) == 1, [f.figure for f in facts]
    return found[0]


# --- extraction ---------------------------------------------------------------------------------


def test_every_fact_quotes_its_sentence_exactly(
    articles: dict[str, Article], facts_by_file: dict[str, list[Fact]]
) -> None:
    for name, facts in facts_by_file.items():
        text = articles[name].text
        assert facts, name
        for fact in facts:
            assert text[fact.start : fact.end] == fact.sentence
            assert fact.start <= fact.figure_start < fact.figure_end <= fact.end
            assert text[fact.figure_start : fact.figure_end] == fact.figure


def test_new_members_with_their_parts_place_and_period(
    facts_by_file: dict[str, list[Fact]],
) -> None:
    facts = facts_by_file[TUAN_GIAO]
    admitted = _one(facts, "470")
    assert (admitted.kind, admitted.segment, admitted.target) == ("ket_nap", None, False)
    assert admitted.place == "huyện Tuần Giáo"
    assert (admitted.period, admitted.year_from, admitted.year_to) == (
        "từ năm 2016 đến 31-3-2018",
        2016,
        2018,
    )
    women = _one(facts, "36,6%")
    assert (women.kind, women.segment, women.measure, women.whole) == (
        "ket_nap",
        "nu",
        "percent",
        470.0,
    )
    assert women.note is None  # 172/470 is 36,6%
    local = _one(facts, "247/470")
    assert (local.measure, local.value, local.denominator, local.segment) == (
        "ratio",
        247.0,
        470.0,
        "tai_cho",
    )


def test_totals_targets_ranges_and_rates(facts_by_file: dict[str, list[Fact]]) -> None:
    total = _one(facts_by_file[TUAN_GIAO], "3.790")
    assert (total.kind, total.value, total.year_to) == ("tong_dang_vien", 3790.0, 2018)
    quota = _one(facts_by_file[TUAN_GIAO], "150")
    assert (quota.kind, quota.target, quota.per_year, quota.year_from) == (
        "ket_nap",
        True,
        True,
        2015,
    )
    classes = [f for f in facts_by_file[LANG_SON] if f.kind == "lop_boi_duong"]
    assert [(f.value, f.high, f.per_year) for f in classes] == [(2.0, 3.0, True)] * 2
    target = _one(facts_by_file[NUI_THANH], "từ 110")
    assert (target.target, target.bound, target.year_from) == (True, "min", 2023)


def test_generic_places_resolve_to_the_articles_place(
    facts_by_file: dict[str, list[Fact]],
) -> None:
    # "Đảng bộ thành phố kết nạp được 425": the city named elsewhere in the article.
    assert _one(facts_by_file[LAI_CHAU], "425").place == "thành phố Lai Châu"
    # "Đảng bộ phường vượt 185%": the ward, not the city.
    exceeded = _one(facts_by_file[LAI_CHAU], "185%")
    assert (exceeded.kind, exceeded.place) == ("ty_le_dat_chi_tieu", "phường Đông Phong")
    # "toàn huyện có 664": the district of the title.
    assert _one(facts_by_file[NUI_THANH], "664").place == "huyện Núi Thành"
    assert _one(facts_by_file[LANG_SON], "738").place == "Khối các cơ quan tỉnh Lạng Sơn"


def test_a_share_that_contradicts_its_parts_gets_a_note(
    facts_by_file: dict[str, list[Fact]],
) -> None:
    share = _one(facts_by_file[KON_TUM], "0,06%")
    assert (share.kind, share.segment, share.whole) == ("tong_dang_vien", "co_dao", 3442.0)
    assert share.note == "215/3.442 ≈ 6,2%, không phải 0,06%"


def test_not_every_number_is_a_fact(facts_by_file: dict[str, list[Fact]]) -> None:
    figures = {f.figure for facts in facts_by_file.values() for f in facts}
    # A duration, one person among many, a time zone: none is a figure worth a fact.
    assert not {"hơn 2 năm", "1", "7", "5 năm"} & figures


def test_extraction_matches_the_hand_labels(articles: dict[str, Article]) -> None:
    result = score(load_labels(REPO / "eval" / "facts_labels.jsonl"), articles)
    assert result.labels >= 40
    assert result.detection_precision == 1.0 and result.detection_recall == 1.0
    assert result.precision >= 0.95 and result.recall >= 0.95, result.errors


def test_an_article_not_used_for_tuning() -> None:
    facts = extract_facts(MUONG_CHA)
    summary = [(f.figure, f.kind, f.segment, f.target, f.year_from) for f in facts]
    assert summary == [
        ("112 đảng viên", "ket_nap", None, False, 2021),
        ("124%", "ty_le_dat_chi_tieu", None, False, 2021),
        ("48 đảng viên", "ket_nap", "nu", False, 2021),
        ("42,9%", "ket_nap", "nu", False, 2021),
        ("95 đảng viên", "ket_nap", "dan_toc_thieu_so", False, 2021),
        ("8,5%", "ket_nap", "dan_toc_thieu_so", False, 2021),
        ("2.416 đảng viên", "tong_dang_vien", None, False, 2022),
        ("41 tổ chức cơ sở", "to_chuc_dang", None, False, 2022),
        ("100 đảng viên", "ket_nap", None, True, 2022),
        ("4 lớp", "lop_boi_duong", None, False, None),
    ]
    assert {f.place for f in facts} == {"huyện Mường Chà"}
    notes = {f.figure: f.note for f in facts if f.note}
    assert notes == {"8,5%": "95/112 ≈ 84,8%, không phải 8,5%"}
    assert facts[-1].per_year and facts[-1].period == "hằng năm"


def test_a_tables_rows_are_facts_of_their_columns() -> None:
    body = clean_text(
        "Đảng bộ Khối Doanh nghiệp tỉnh Bắc Sơn kết nạp đảng viên qua các năm như sau:\n"
        "| Năm | Số đảng viên kết nạp | Tổ chức đảng thành lập mới |\n|---|---|---|\n"
        "| 2022 | 347 | 7 |\n| 2023 | 389 | 6 |"
    )
    facts = extract_facts(_written("bac-son", "Bắc Sơn phát triển đảng viên", "2024-04-26", body))
    summary = [(f.figure, f.unit, f.kind, f.year_from, f.year_to) for f in facts]
    assert summary == [
        ("347", "đảng viên", "ket_nap", 2022, 2022),
        ("7", "tổ chức đảng", "to_chuc_dang", 2022, 2022),
        ("389", "đảng viên", "ket_nap", 2023, 2023),
        ("6", "tổ chức đảng", "to_chuc_dang", 2023, 2023),
    ]


def test_students_and_workers_admitted_are_new_members_and_a_schools_roll_is_not() -> None:
    body = (
        "Năm học 2022-2023, Chi bộ Trường THPT Số 1 Tây Sơn kết nạp 5 học sinh, nâng tổng số "
        "học sinh được kết nạp từ năm 2018 đến nay lên 47 em. Trường có 1.250 học sinh."
    )
    facts = extract_facts(_written("tay-son", "Tây Sơn kết nạp học sinh", "2023-05-20", body))
    assert [(f.figure, f.kind) for f in facts] == [
        ("5 học sinh", "ket_nap"),
        ("47 em", "ket_nap"),
        ("1.250 học sinh", "khac"),
    ]
    assert [f.year_from for f in facts[:2]] == [2022, 2018]


def test_a_part_named_after_its_whole_is_of_the_wholes_kind() -> None:
    body = (
        "Toàn tỉnh kết nạp 957 đảng viên mới. Trong số 957 đảng viên mới có 35 đảng viên thuộc "
        "lớp trẻ. Kết quả, 56 người được kết nạp là đoàn viên. Đáng chú ý, 12 em trong số 56 "
        "đoàn viên nói trên được kết nạp theo mô hình mới. Anh là 1 trong 37 đảng viên trẻ."
    )
    facts = extract_facts(_written("ben-son", "Bến Sơn kết nạp đảng viên", "2019-09-17", body))
    assert [(f.figure, f.kind) for f in facts if f.kind == "ket_nap"] == [
        ("957 đảng viên", "ket_nap"),
        ("957 đảng viên", "ket_nap"),
        ("35 đảng viên", "ket_nap"),
        ("56 người", "ket_nap"),
        ("12 em", "ket_nap"),
    ]
    assert not [f for f in facts if f.value == 1]  # one person, not a figure


def test_a_stretch_of_years_counted_back_is_the_figures_own_period_and_place() -> None:
    body = (
        "Kết quả, năm 2023 toàn huyện kết nạp 172 đảng viên. Trong các xã, Pa Vệ Sủ là đơn vị "
        "dẫn đầu với 46 đảng viên được kết nạp trong 3 năm, tiếp đến là xã Thu Lũm với 38 đảng "
        "viên. Phường Đông Phong kết nạp 37 đảng viên trong 5 năm qua."
    )
    facts = extract_facts(_written("muong-te", "Huyện Mường Tè kết nạp", "2024-03-01", body))
    assert [(f.figure, f.place, f.period, f.year_from, f.year_to) for f in facts] == [
        ("172 đảng viên", "huyện Mường Tè", "năm 2023", 2023, 2023),
        # Not the year of the sentence before; not the commune named after the comma.
        ("46 đảng viên", "huyện Mường Tè", "trong 3 năm", 2021, 2024),
        ("38 đảng viên", "xã Thu Lũm", "trong 3 năm", 2021, 2024),
        ("37 đảng viên", "phường Đông Phong", "5 năm qua", 2019, 2024),
    ]


def test_a_place_in_brackets_after_another_only_says_where_that_one_is() -> None:
    body = (
        "Năm 2023, Đảng bộ xã Hòa Bình (huyện Sơn Khê, tỉnh Hòa Sơn) kết nạp 14 đảng viên.\n"
        "Chi bộ Trường THPT Lê Lợi (huyện Phước An) kết nạp 3 học sinh.\n"
        "Bon B’Rang, xã Đắk R’lung (huyện Sơn Khê) có 40 đảng viên. Chi bộ bon hiện có 20 đảng "
        "viên."
    )
    facts = extract_facts(_written("son-khe", "Sơn Khê kết nạp đảng viên", "2024-03-01", body))
    assert [(f.figure, f.place) for f in facts] == [
        ("14 đảng viên", "xã Hòa Bình"),
        # After an organisation, the bracket names its place.
        ("3 học sinh", "huyện Phước An"),
        # A name with an apostrophe is whole; the next sentence goes on with it, not its district.
        ("40 đảng viên", "xã Đắk R’lung"),
        ("20 đảng viên", "xã Đắk R’lung"),
    ]


@pytest.mark.parametrize(
    ("sentence", "place"),
    [
        # Folded, "Nhà" (nước) is "Nha" (Trang) and "Đại" (hội) "Đại" (Lộc): names are told from
        # organs by their accents and by the syllable after.
        ("Đảng bộ TP. Nha Trang kết nạp 20 đảng viên.", "thành phố Nha Trang"),
        ("Đảng bộ huyện Nhà Bè kết nạp 20 đảng viên.", "huyện Nhà Bè"),
        ("Đảng bộ huyện Đại Lộc kết nạp 20 đảng viên.", "huyện Đại Lộc"),
        ("Nghị quyết Đại hội Đảng bộ tỉnh Đại hội lần này giao 20 đảng viên.", "huyện Sơn Khê"),
        ("Ban Thường vụ Tỉnh ủy Hòa Sơn giao 20 đảng viên.", "tỉnh Hòa Sơn"),
        # The whole country's figure is not the article's place; a comparison with it is.
        ("Trên phạm vi cả nước, năm 2023 kết nạp 20 đảng viên.", "cả nước"),
        ("Năm 2023, toàn Đảng kết nạp 20 đảng viên.", "cả nước"),
        ("Huyện có số giáo dân đông nhất cả nước, với 20 đảng viên.", "huyện Sơn Khê"),
    ],
)
def test_names_after_a_level_word_are_told_from_organs(sentence: str, place: str) -> None:
    facts = extract_facts(_written("son-khe", "Huyện Sơn Khê", "2024-03-01", sentence))
    assert [f.place for f in facts] == [place]


def test_a_goal_set_is_a_target_and_a_goal_met_is_not() -> None:
    body = (
        "Nghị quyết đặt mục tiêu đến năm 2025 kết nạp ít nhất 600 đảng viên. Năm 2023, huyện "
        "đạt mục tiêu đề ra khi kết nạp 172 đảng viên."
    )
    facts = extract_facts(_written("muong-te", "Huyện Mường Tè kết nạp", "2024-03-01", body))
    assert [(f.figure, f.target) for f in facts] == [
        ("ít nhất 600 đảng viên", True),
        ("172 đảng viên", False),
    ]


def test_a_quota_to_develop_members_is_a_target_for_admissions() -> None:
    # "Phát triển đảng viên" (developing members) is admitting them: a quota for it is a plan.
    body = (
        "Năm 2024, giao chỉ tiêu toàn Đảng bộ tỉnh phát triển 1.905 đảng viên mới. Năm 2023, "
        "toàn tỉnh phát triển được 1.720 đảng viên mới."
    )
    facts = extract_facts(_written("hoa-son", "Hòa Sơn giao chỉ tiêu", "2024-03-01", body))
    assert [(f.figure, f.kind, f.target) for f in facts] == [
        ("1.905 đảng viên", "ket_nap", True),
        ("1.720 đảng viên", "ket_nap", False),
    ]


PROVINCE_REPORT = _written(
    "hoa-son",
    "Toàn tỉnh kết nạp 288 đảng viên trong 6 tháng",
    "2022-07-05",
    """Theo Ban Tổ chức Tỉnh ủy, tính đến ngày 30-6, các đảng bộ trực thuộc Tỉnh ủy đã kết nạp \
được 288 đảng viên (ĐV) mới.

Đứng đầu là Đảng bộ Công an tỉnh với 21 ĐV mới. Xếp sau là Đảng bộ huyện Phước An với 52 ĐV mới.

Đảng bộ huyện Sơn Khê mới kết nạp 13 ĐV mới. Tổng số đảng viên của Đảng bộ tỉnh Hòa Sơn là 20.952.
""",
)


def test_a_province_report_is_the_provinces_and_abbreviated_members_count() -> None:
    # The title names no place: the article's own place is the one its unnamed mentions
    # ("Tỉnh ủy", "Toàn tỉnh") are about, not the first district it names once.
    facts = extract_facts(PROVINCE_REPORT)
    summary = [(f.figure, f.kind, f.place) for f in facts if f.kind == "ket_nap"]
    assert summary == [
        ("288 đảng viên", "ket_nap", "tỉnh Hòa Sơn"),
        ("288 đảng viên", "ket_nap", "tỉnh Hòa Sơn"),
        ("21 ĐV", "ket_nap", "tỉnh Hòa Sơn"),
        ("52 ĐV", "ket_nap", "huyện Phước An"),
        ("13 ĐV", "ket_nap", "huyện Sơn Khê"),
    ]
    assert {f.unit for f in facts if "ĐV" in f.figure} == {"đảng viên"}


# --- the fact table -----------------------------------------------------------------------------


def _put(store: ArticleStore, article: Article) -> None:
    with store.transaction() as conn:
        store.put(conn, article, [], "")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ArticleStore]:
    store = ArticleStore(tmp_path / "tinbot.sqlite3")
    yield store
    store.close()


def test_replace_query_and_delete(store: ArticleStore) -> None:
    facts = FactStore(store.conn)
    _put(store, MUONG_CHA)
    extracted = extract_facts(MUONG_CHA)
    with store.transaction() as conn:
        assert facts.replace(conn, MUONG_CHA.article_id, extracted) == len(extracted)
    assert facts.query() == extracted  # every field survives the round trip
    assert [f.figure for f in facts.query(place="muong cha", year=2021, kind="ket_nap")] == [
        "112 đảng viên",
        "48 đảng viên",
        "42,9%",
        "95 đảng viên",
        "8,5%",
    ]
    assert [f.figure for f in facts.query(place="Mường Chà", year=2022, kind="ket_nap")] == [
        "100 đảng viên",
    ]
    assert facts.query(place="Tuần Giáo") == []
    # Replacing is not appending.
    with store.transaction() as conn:
        facts.replace(conn, MUONG_CHA.article_id, extracted[:2])
    assert facts.count() == 2
    with store.transaction() as conn:
        facts.delete(conn, MUONG_CHA.article_id)
    assert facts.count() == 0


def test_deleting_the_article_deletes_its_facts(store: ArticleStore) -> None:
    facts = FactStore(store.conn)
    _put(store, MUONG_CHA)
    facts.refresh(store)
    assert facts.count() > 0
    with store.transaction() as conn:
        store.delete(conn, MUONG_CHA.article_id)
    assert facts.count() == 0
    assert facts.stale_article_ids() == []


def test_refresh_reads_only_stale_articles(
    store: ArticleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = FactStore(store.conn)
    _put(store, MUONG_CHA)
    assert facts.stale_article_ids() == [MUONG_CHA.article_id]
    assert facts.refresh(store) == 1
    assert facts.refresh(store) == 0
    monkeypatch.setattr("index.facts.EXTRACTOR_VERSION", 99)
    assert facts.refresh(store) == 1  # an upgraded extractor re-reads what the old one wrote
    assert facts.count() == len(extract_facts(MUONG_CHA))


def test_an_articles_facts_are_cached_until_the_index_changes(
    store: ArticleStore, tmp_path: Path
) -> None:
    facts = FactStore(store.conn)
    _put(store, MUONG_CHA)
    facts.refresh(store)
    first = facts.of_article(MUONG_CHA.article_id)
    assert first == facts.query(article_id=MUONG_CHA.article_id) and first
    assert facts.of_article(MUONG_CHA.article_id) is first  # read once
    # Another process (its own connection) writes: the generation it bumps drops the cache.
    other = ArticleStore(tmp_path / "tinbot.sqlite3")
    try:
        with other.transaction() as conn:
            FactStore(other.conn).replace(conn, MUONG_CHA.article_id, first[:1])
            other.bump_generation(conn)
    finally:
        other.close()
    assert facts.of_article(MUONG_CHA.article_id) == first[:1]


def test_a_fact_of_another_article_is_refused(store: ArticleStore) -> None:
    facts = FactStore(store.conn)
    with pytest.raises(ValueError, match="given for"), store.transaction() as conn:
        facts.replace(conn, "other", extract_facts(MUONG_CHA))


# --- answering ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples_store(
    tmp_path_factory: pytest.TempPathFactory, articles: dict[str, Article]
) -> Iterator[ArticleStore]:
    store = ArticleStore(tmp_path_factory.mktemp("facts") / "tinbot.sqlite3")
    for article in articles.values():
        _put(store, article)
    FactStore(store.conn).refresh(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def answerer(samples_store: ArticleStore) -> FactsAnswerer:
    return FactsAnswerer(FactStore(samples_store.conn), samples_store)


def _answered(answerer: FactsAnswerer, question: str, store: ArticleStore) -> Answer:
    answer = answerer.answer(question)
    assert answer is not None, question
    assert not answer.refused
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}
    for citation in answer.citations:
        article = store.get(citation.article_id)
        assert article is not None
        assert article.text[citation.start : citation.end] == citation.quote
        assert f"“{citation.quote}” [{citation.n}]" in answer.text
    return answer


def _cited_files(answer: Answer) -> set[str]:
    return {Path(c.origin).name for c in answer.citations}


def _cited_for(answer: Answer, figure: str) -> str:
    """The file the [n] right after ``figure`` (on its line) cites."""
    line = next(line for line in answer.text.splitlines() if figure in line)
    n = int(re.findall(r"\[(\d+)\]", line[line.index(figure) :])[0])
    return Path(next(c.origin for c in answer.citations if c.n == n)).name


def test_figure_question_quotes_the_matching_fact(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer, "Năm 2022 Huyện ủy Núi Thành kết nạp bao nhiêu quần chúng ưu tú?", samples_store
    )
    assert answer.answerer == "facts:figure"
    assert answer.text.splitlines()[1].startswith("Huyện Núi Thành — đảng viên mới kết nạp: 120")
    assert _cited_files(answer) == {NUI_THANH}


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        (
            "Tỷ lệ đảng viên nữ trong số đảng viên mới kết nạp ở huyện Tuần Giáo là bao nhiêu?",
            "36,6%",
        ),
        ("Bao nhiêu thôn bản ở Tuần Giáo có chi bộ độc lập?", "207/237"),
        ("Số bản chưa có chi bộ ở Tuần Giáo giảm xuống còn bao nhiêu?", "20 bản"),
        ("Nhiệm kỳ 2015-2020 Tuần Giáo đặt mục tiêu kết nạp bao nhiêu đảng viên mỗi năm?", "150"),
        ("Bình quân mỗi năm thành phố Lai Châu kết nạp bao nhiêu đảng viên?", "85 đảng viên"),
        ("Trong số 215 đảng viên có đạo ở Kon Tum, bao nhiêu người là nữ?", "76"),
        ("nam 2023 nui thanh phan dau ket nap bao nhieu dang vien moi", "110"),
        ("How many new party members did Nui Thanh district admit in 2022?", "120"),
    ],
)
def test_figure_questions_pick_place_period_and_kind(
    answerer: FactsAnswerer, samples_store: ArticleStore, question: str, figure: str
) -> None:
    answer = _answered(answerer, question, samples_store)
    assert figure in answer.text.splitlines()[1]


XUAN_LAM = _written(
    "xuan-lam",
    "Xuân Lâm chú trọng phát triển đảng viên",
    "2024-03-12",
    """Giai đoạn 2020-2023, Đảng bộ huyện Xuân Lâm đã kết nạp được 1.126 đảng viên mới.

Năm 2022 toàn huyện kết nạp 294 đảng viên. Riêng năm 2023, Đảng bộ huyện kết nạp 313 đảng viên.
""",
)


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        ("Năm 2023 huyện Xuân Lâm kết nạp bao nhiêu đảng viên?", "313"),
        ("Giai đoạn 2020-2023 huyện Xuân Lâm kết nạp bao nhiêu đảng viên?", "1.126"),
        ("Từ năm 2020 đến 2023 huyện Xuân Lâm kết nạp bao nhiêu đảng viên?", "1.126"),
    ],
)
def test_a_years_figure_is_not_one_added_up_over_several_years(
    store: ArticleStore, question: str, figure: str
) -> None:
    _put(store, XUAN_LAM)
    FactStore(store.conn).refresh(store)
    answer = _answered(FactsAnswerer(FactStore(store.conn), store), question, store)
    assert figure in answer.text.splitlines()[1]


def test_a_yearly_average_says_so(answerer: FactsAnswerer, samples_store: ArticleStore) -> None:
    answer = _answered(
        answerer, "Bình quân mỗi năm thành phố Lai Châu kết nạp bao nhiêu đảng viên?", samples_store
    )
    assert "85 đảng viên (từ năm 2015 đến nay, mỗi năm) [1]" in answer.text


def test_consistency_note_quotes_the_source(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer,
        "Tỷ lệ đảng viên là người có đạo ở Đảng bộ thành phố Kon Tum là bao nhiêu?",
        samples_store,
    )
    assert has_number(answer.text.splitlines()[1], "0,06%")
    assert "215/3.442 ≈ 6,2%, không phải 0,06% [1]" in answer.text
    assert answer.notes and "6,2%" in answer.notes[0]
    assert _cited_files(answer) == {KON_TUM}


def test_comparison_across_periods_says_they_differ(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer,
        "So sánh số đảng viên mới được kết nạp ở huyện Tuần Giáo và ở thành phố Lai Châu.",
        samples_store,
    )
    assert answer.answerer == "facts:compare"
    assert _cited_for(answer, "470 đảng viên") == TUAN_GIAO
    assert _cited_for(answer, "425 đảng viên") == LAI_CHAU
    assert "khoảng thời gian khác nhau" in answer.text
    assert "không so sánh trực tiếp" in answer.text
    assert "nhiều hơn" not in answer.text  # flows over different periods are not ranked


def test_comparison_of_stocks_names_the_larger(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer,
        "Đảng bộ huyện Tuần Giáo và Đảng bộ huyện Núi Thành, nơi nào có nhiều đảng viên hơn?",
        samples_store,
    )
    assert "Huyện Núi Thành nhiều hơn: 5.279 đảng viên so với 3.790 đảng viên" in answer.text
    assert "thời điểm khác nhau" in answer.text
    assert _cited_files(answer) == {TUAN_GIAO, NUI_THANH}


def test_total_states_its_parts(answerer: FactsAnswerer, samples_store: ArticleStore) -> None:
    answer = _answered(
        answerer,
        "Tổng số đảng viên của Đảng bộ huyện Tuần Giáo và Đảng bộ huyện Núi Thành cộng lại là "
        "bao nhiêu?",
        samples_store,
    )
    assert answer.answerer == "facts:total"
    assert "Cộng lại: 3.790 + 5.279 = 9.069." in answer.text
    assert _cited_for(answer, "3.790 đảng viên") == TUAN_GIAO
    assert _cited_for(answer, "5.279 đảng viên") == NUI_THANH


def test_list_of_new_members_per_article(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer, "Liệt kê số đảng viên mới kết nạp được nêu trong từng bài viết.", samples_store
    )
    assert answer.answerer == "facts:list"
    expected = {"470": TUAN_GIAO, "738": LANG_SON, "120": NUI_THANH, "425": LAI_CHAU}
    for figure, source in expected.items():
        assert _cited_for(answer, f"{figure} ") == source
    assert not any(line.startswith("- ") and "chỉ tiêu" in line for line in answer.text.split("\n"))


def test_list_of_places_over_target(answerer: FactsAnswerer, samples_store: ArticleStore) -> None:
    answer = _answered(
        answerer,
        "Những địa phương nào vượt chỉ tiêu kết nạp đảng viên, và vượt bao nhiêu?",
        samples_store,
    )
    over, under = answer.text.split("Chưa đạt chỉ tiêu:")
    assert "Huyện Núi Thành: đạt 133% chỉ tiêu, tức vượt 33%" in over
    assert "Phường Đông Phong: vượt 185% so với chỉ tiêu" in over
    # The ward's two counts back its share: 37 admitted against a target of 20.
    assert "kết nạp 37 đảng viên" in over and "chỉ tiêu 20 đảng viên" in over
    assert "98,4%" in under and "98,4%" not in over
    assert _cited_for(answer, "133%") == NUI_THANH
    assert _cited_for(answer, "185%") == LAI_CHAU


def test_superlative_over_stocks_names_the_top_and_refuses_to_rank_flows(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    stocks = _answered(answerer, "Địa phương nào có nhiều đảng viên nhất?", samples_store)
    assert "Cao nhất: huyện Núi Thành với 5.279 đảng viên." in stocks.text
    assert "thời điểm khác nhau" in stocks.text
    flows = _answered(answerer, "Nơi nào kết nạp ít đảng viên nhất?", samples_store)
    assert "không xếp hạng được" in flows.text
    assert "Thấp nhất" not in flows.text


def test_total_of_different_periods_is_flagged(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer,
        "Tổng số đảng viên mới kết nạp của Tuần Giáo và Lai Châu là bao nhiêu?",
        samples_store,
    )
    assert "Cộng lại: 470 + 425 = 895." in answer.text
    assert "tổng này cộng số liệu của những khoảng thời gian khác nhau" in answer.text


def test_a_target_never_answers_a_question_about_results(answerer: FactsAnswerer) -> None:
    # Tuần Giáo's only figure covering 2020 is its quota of 150 a year.
    assert answerer.answer("Tuần Giáo kết nạp bao nhiêu đảng viên năm 2020?") is None


def test_question_in_two_parts_answers_both(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer,
        "Huyện Núi Thành kết nạp bao nhiêu đảng viên năm 2022 và đặt mục tiêu bao nhiêu cho "
        "năm 2023?",
        samples_store,
    )
    assert answer.answerer == "facts:parts"
    first, second = answer.text.splitlines()[1:3]
    assert "120 quần chúng ưu tú" in first and "(năm 2022)" in first
    assert "chỉ tiêu" in second and "110 đảng viên" in second and "(năm 2023)" in second


@pytest.mark.parametrize(
    "question",
    [
        "Thành phố Hà Nội kết nạp bao nhiêu đảng viên trong năm 2021?",  # a place without facts
        "Giá vàng hôm nay là bao nhiêu?",  # nothing the facts count
        "Bài viết nào nói về phát triển đảng viên là người có đạo?",  # not a figure
        "Thành phố Lai Châu gặp khó khăn gì trong công tác phát triển đảng viên?",
        "Tuần Giáo có bao nhiêu trường học?",  # a kind no fact has
    ],
)
def test_questions_facts_cannot_answer_fall_through(answerer: FactsAnswerer, question: str) -> None:
    assert answerer.answer(question) is None


def test_english_questions_get_english_framing(
    answerer: FactsAnswerer, samples_store: ArticleStore
) -> None:
    answer = _answered(
        answerer, "How many party members does Tuan Giao district have?", samples_store
    )
    assert answer.language == "en"
    assert answer.text.startswith("From the articles")
    assert has_number(answer.text, "3.790")


def test_no_facts_no_answer(store: ArticleStore) -> None:
    answerer = FactsAnswerer(FactStore(store.conn), store)
    assert answerer.answer("Tuần Giáo kết nạp bao nhiêu đảng viên?") is None


# --- `tinbot facts` -----------------------------------------------------------------------------


def _run_facts(argv: list[str], data_dir: Path) -> int:
    parser = argparse.ArgumentParser()
    add_facts_parser(parser.add_subparsers())
    args = parser.parse_args(["facts", *argv])
    result: int = args.func(args, Settings(data_dir=data_dir))
    return result


def test_facts_command_lists_facts_with_their_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ArticleStore(tmp_path / "tinbot.sqlite3")
    _put(store, MUONG_CHA)  # facts are extracted by the command itself: the table is stale
    store.close()
    assert _run_facts(["--place", "muong cha", "--year", "2022", "--json"], tmp_path) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["figure"] for r in rows] == [
        "2.416 đảng viên",
        "41 tổ chức cơ sở",
        "100 đảng viên",
        "4 lớp",  # "hằng năm": every year up to the publication date
    ]
    assert rows[0]["sentence"] in MUONG_CHA.text
    assert rows[0]["origin"] == "muong-cha.txt"

    assert _run_facts(["--place", "Mường Chà", "--kind", "ket_nap"], tmp_path) == 0
    out = capsys.readouterr().out
    assert "Huyện Mường Chà — đảng viên mới kết nạp: 112 đảng viên (năm 2021)" in out
    assert "Lưu ý: 95/112 ≈ 84,8%, không phải 8,5%." in out

    assert _run_facts(["--place", "Hà Nội"], tmp_path) == 0
    assert "Không có số liệu" in capsys.readouterr().out


def test_facts_command_without_data_fails_clearly(tmp_path: Path) -> None:
    from bot.errors import TinbotError

    with pytest.raises(TinbotError, match="no articles ingested"):
        _run_facts([], tmp_path / "empty")


def test_format_facts_names_the_source(facts_by_file: dict[str, list[Fact]]) -> None:
    fact = _one(facts_by_file[NUI_THANH], "5.279")
    text = format_facts([fact], {fact.article_id: "Huyện ủy Núi Thành"})
    assert text.splitlines()[0].startswith("Huyện Núi Thành — tổng số đảng viên: 5.279")
    assert text.splitlines()[1].endswith("— Huyện ủy Núi Thành")


@pytest.mark.parametrize(
    ("question", "places", "asked"),
    [
        # A place in parentheses after another says where that one is: not compared.
        (
            "Huyện Sơn Động (Bắc Giang) năm 2017 và Khối các cơ quan tỉnh Hải Dương, nơi nào hơn?",
            ["huyện Sơn Động", "tỉnh Bắc Giang", "Khối các cơ quan tỉnh Hải Dương"],
            ["huyện Sơn Động", "Khối các cơ quan tỉnh Hải Dương"],
        ),
        (
            "Xã Ya Ly (Sa Thầy, Kon Tum) và xã Cư Đrăm (Krông Bông), nơi nào nhiều hơn?",
            ["xã Ya Ly", "huyện Sa Thầy", "tỉnh Kon Tum", "xã Cư Đrăm", "huyện Krông Bông"],
            ["xã Ya Ly", "xã Cư Đrăm"],
        ),
        # Named outside parentheses as well: asked about.
        (
            "Tỉnh Bắc Giang và huyện Sơn Động (Bắc Giang), nơi nào nhiều hơn?",
            ["tỉnh Bắc Giang", "huyện Sơn Động"],
            ["tỉnh Bắc Giang", "huyện Sơn Động"],
        ),
        # Nothing left without them: kept.
        ("Huyện Sơn Động (Bắc Giang) kết nạp bao nhiêu?", ["huyện Sơn Động"], ["huyện Sơn Động"]),
    ],
)
def test_places_named_in_parentheses_qualify_the_place_before_them(
    question: str, places: list[str], asked: list[str]
) -> None:
    assert _without_qualifiers(places, question) == asked


@pytest.mark.parametrize(
    ("sentence", "figures"),
    [
        # By how many a quota was exceeded is not how many joined.
        ("Đảng bộ Khối các cơ quan tỉnh Hải Dương kết nạp vượt chỉ tiêu 9 đảng viên.", []),
        (
            "Năm 2022, huyện kết nạp 120 đảng viên mới, vượt kế hoạch 15 đảng viên.",
            ["120 đảng viên"],
        ),
        (
            "Đến nay đã kết nạp được 139 đảng viên, vượt 9 đảng viên so với chỉ tiêu.",
            ["139 đảng viên"],
        ),
    ],
)
def test_an_excess_over_the_quota_is_not_an_admission(sentence: str, figures: list[str]) -> None:
    article = Article("a", "a.txt", "Tin", "2022-11-29", None, sentence, "h")
    admitted = [f.figure for f in extract_facts(article) if f.kind == "ket_nap"]
    assert admitted == figures
