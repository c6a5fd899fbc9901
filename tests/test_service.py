"""The service end to end on the real sample articles, real Chroma, SQLite and bundled model."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest

from bot.service import Tinbot
from bot.types import REFUSAL_EN, REFUSAL_VI
from tests.conftest import SAMPLES
from tests.helpers import MUONG_ANG, CountingEmbedder, has_number, to_cp1258


def _counts(service: Tinbot) -> tuple[int, int, int, int]:
    stats = service.stats()
    return stats.articles, stats.chunks, service.lexical.index_rows(), service.vectors.count()


def test_samples_are_indexed_consistently(samples_bot: Tinbot) -> None:
    articles, chunks, lexical, vectors = _counts(samples_bot)
    assert articles == 5
    assert chunks == lexical == vectors > 20
    titles = {a.title for a in samples_bot.articles()}
    assert any("Núi Thành" in t for t in titles)


def test_reingesting_unchanged_samples_embeds_nothing(
    samples_bot: Tinbot, embedder: CountingEmbedder
) -> None:
    before = embedder.documents_embedded
    counts = _counts(samples_bot)
    report = samples_bot.ingest([str(SAMPLES)])
    assert report.count("unchanged") == 5
    assert embedder.documents_embedded == before
    assert _counts(samples_bot) == counts


@pytest.mark.parametrize(
    ("question", "figure", "source"),
    [
        ("Huyện ủy Tuần Giáo kết nạp được bao nhiêu đảng viên?", "470", "000_"),
        ("huyen uy tuan giao ket nap duoc bao nhieu dang vien", "470", "000_"),
        ("How many party members does Tuan Giao district have?", "3.790", "000_"),
        ("Đảng bộ thành phố Kon Tum có bao nhiêu đảng viên là người có đạo?", "215", "002_"),
    ],
)
def test_answers_quote_the_figure_and_cite_the_exact_sentence(
    samples_bot: Tinbot, question: str, figure: str, source: str
) -> None:
    answer = samples_bot.answer(question)
    assert not answer.refused
    assert figure in answer.text
    first = answer.citations[0]
    assert Path(first.origin).name.startswith(source)
    assert figure in first.quote
    article = samples_bot.store.get(first.article_id)
    assert article is not None
    assert article.text[first.start : first.end] == first.quote
    assert f"[{first.n}]" in answer.text


def test_english_questions_get_english_framing(samples_bot: Tinbot) -> None:
    answer = samples_bot.answer("How many party members does Tuan Giao district have?")
    assert answer.language == "en"
    assert "Quoted from the articles (in Vietnamese):" in answer.text.splitlines()[1]


@pytest.mark.parametrize(
    ("question", "refusal"),
    [
        ("Thành phố Hà Nội kết nạp bao nhiêu đảng viên trong năm 2021?", REFUSAL_VI),
        ("Giá vàng hôm nay là bao nhiêu?", REFUSAL_VI),
        ("What is the price of gold in Hanoi today?", REFUSAL_EN),
    ],
)
def test_questions_the_articles_do_not_answer_are_refused(
    samples_bot: Tinbot, question: str, refusal: str
) -> None:
    answer = samples_bot.answer(question)
    assert answer.refused
    assert answer.text == refusal
    assert answer.citations == []


def test_passage_gives_context_around_a_quote(samples_bot: Tinbot) -> None:
    citation = samples_bot.answer("Tuần Giáo kết nạp bao nhiêu đảng viên?").citations[0]
    passage = samples_bot.passage(citation.article_id, citation.start, citation.end, 100)
    assert passage is not None
    assert passage.quote == citation.quote
    assert 0 < len(passage.before) <= 100
    assert samples_bot.passage(citation.article_id, 10, 5) is None
    assert samples_bot.passage("nope", 0, 1) is None


def test_changed_article_replaces_its_passages(bot: Tinbot, tmp_path: Path) -> None:
    path = tmp_path / "muong-ang.txt"
    path.write_text(MUONG_ANG, encoding="utf-8")
    assert bot.ingest([str(path)]).count("added") == 1
    assert has_number(bot.answer("Mường Ảng kết nạp bao nhiêu đảng viên mới năm 2021?").text, "95")

    path.write_text(MUONG_ANG.replace("95 đảng viên", "97 đảng viên"), encoding="utf-8")
    report = bot.ingest([str(path)])
    assert report.count("updated") == 1
    articles, chunks, lexical, vectors = _counts(bot)
    assert articles == 1 and chunks == lexical == vectors
    answer = bot.answer("Mường Ảng kết nạp bao nhiêu đảng viên mới năm 2021?")
    assert "97" in answer.text and "95 đảng viên" not in answer.text
    assert bot.lexical.search("95") == []


def test_same_text_from_another_origin_is_not_indexed_twice(bot: Tinbot, tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(MUONG_ANG, encoding="utf-8")
    second.write_text(MUONG_ANG, encoding="utf-8")
    bot.ingest([str(first)])
    counts = _counts(bot)
    result = bot.ingest([str(second)]).results[0]
    assert result.status == "unchanged"
    assert result.reason and "a.txt" in result.reason
    assert _counts(bot) == counts


def test_cp1258_and_decomposed_text_are_read_correctly(bot: Tinbot, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes(to_cp1258(MUONG_ANG))
    decomposed = tmp_path / "decomposed.txt"
    decomposed.write_text(unicodedata.normalize("NFD", MUONG_ANG), encoding="utf-8")
    report = bot.ingest([str(legacy)])
    assert report.count("added") == 1, report.results
    # The same words, decomposed: recognised as the same text, not a second article.
    assert bot.ingest([str(decomposed)]).results[0].status == "unchanged"
    answer = bot.answer("Tỷ lệ đảng viên nữ ở Mường Ảng là bao nhiêu?")
    assert has_number(answer.text, "42,1%")
    article = bot.store.get(answer.citations[0].article_id)
    assert article is not None
    assert unicodedata.is_normalized("NFC", article.text)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"   \n\n  \n", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        ("huge.txt", ("đảng viên " * 300_000).encode(), "large"),
        ("broken.html", b"<html><body><div><p>\x00\x00<<<>>></div", ""),
        ("notes.docx", b"PK\x03\x04", "not supported"),
    ],
)
def test_bad_input_fails_clearly_and_leaves_the_index_as_it_was(
    bot: Tinbot, tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    good = tmp_path / "good.txt"
    good.write_text(MUONG_ANG, encoding="utf-8")
    bot.ingest([str(good)])
    counts = _counts(bot)
    bad = tmp_path / name
    bad.write_bytes(content)
    bot.settings = bot.settings.with_(max_source_mb=1.0)
    report = bot.ingest([str(bad)])
    [result] = report.results
    assert result.status == "failed"
    assert result.reason and reason in result.reason.lower()
    assert _counts(bot) == counts


def test_missing_path_is_reported_not_raised(bot: Tinbot, tmp_path: Path) -> None:
    report = bot.ingest([str(tmp_path / "nope.txt")])
    assert report.count("failed") == 1
    assert "nope.txt" in (report.results[0].reason or "")


def test_folder_ingest_is_recursive(bot: Tinbot, tmp_path: Path) -> None:
    nested = tmp_path / "in" / "deeper"
    nested.mkdir(parents=True)
    shutil.copy(SAMPLES / "003_b59c7ee6d4b859d5.txt", nested)
    (tmp_path / "in" / "a.txt").write_text(MUONG_ANG, encoding="utf-8")
    assert bot.ingest([str(tmp_path / "in")]).count("added") == 2


# One press office's template filled in for four cities: the figure sentence names no city.
CITY_TEMPLATE = """Đảng bộ thành phố chú trọng công tác phát triển đảng viên

Thành phố {city} là đô thị trẻ của vùng Tây Bắc, có {wards} phường và 2 xã. Những năm qua, cấp ủy
các cấp luôn xác định xây dựng đội ngũ đảng viên là nhiệm vụ then chốt, gắn với xây dựng hệ thống
chính trị cơ sở và phát triển kinh tế - xã hội của địa phương.

Các chi bộ khu dân cư rà soát quần chúng ưu tú, giao đảng viên giúp đỡ từng người, mở lớp bồi
dưỡng nhận thức về Đảng ngay tại phường, xã để người lao động không phải đi xa. Ban Tổ chức theo
dõi sát hồ sơ, tránh để quần chúng chờ lâu sau khi học xong lớp cảm tình Đảng.

Từ năm 2016 đến nay, Đảng bộ thành phố kết nạp được {admitted} đảng viên mới.
"""
CITIES = {"Lai Châu": 425, "Điện Biên Phủ": 512, "Sơn La": 380, "Lào Cai": 290}


def test_a_figure_comes_from_the_article_about_the_place_asked(bot: Tinbot, tmp_path: Path) -> None:
    ids = {}
    for n, (city, admitted) in enumerate(CITIES.items()):
        path = tmp_path / f"city{n}.txt"
        path.write_text(
            CITY_TEMPLATE.format(city=city, wards=n + 4, admitted=admitted), encoding="utf-8"
        )
        assert bot.ingest([str(path)]).count("added") == 1
        article = bot.store.by_origin(str(path))
        assert article is not None
        ids[city] = article.article_id

    for city, admitted in CITIES.items():
        question = f"Thành phố {city} kết nạp được bao nhiêu đảng viên mới?"
        figures = [h for h in bot.search(question, k=10) if "kết nạp được" in h.chunk.text]
        assert figures[0].chunk.article_id == ids[city], city
        assert city not in figures[0].chunk.text
        answer = bot.answer(question)
        assert str(admitted) in answer.text, (city, answer.text)
        assert {c.article_id for c in answer.citations} == {ids[city]}
