"""Each ingest stage on the real sample articles and on hostile input."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import EmptySourceError, IngestError, SourceTooLargeError, UnsupportedSourceError
from ingest.chunking import chunk_article, chunk_spans, split_sentences
from ingest.clean import clean_text
from ingest.loaders import (
    LoadLimits,
    decode,
    expand_source,
    load,
    load_bytes,
    load_html,
    publisher_of,
)
from ingest.metadata import extract_metadata, parse_date
from ingest.models import RawDocument
from ingest.pipeline import article_id_for, prepare
from tests.conftest import SAMPLES
from tests.helpers import to_cp1258

SAMPLE_FILES = sorted(SAMPLES.glob("*.txt"))


def _sample(name: str) -> str:
    return next(p for p in SAMPLE_FILES if p.name.startswith(name)).read_text(encoding="utf-8")


# --- loading -----------------------------------------------------------------------------------
def test_encodings_are_decoded_to_nfc() -> None:
    text = "Đảng bộ huyện Tuần Giáo kết nạp 470 đảng viên, chiếm 90,6%."
    nfd = unicodedata.normalize("NFD", text)
    for data in (
        text.encode("utf-8"),
        nfd.encode("utf-8"),
        b"\xef\xbb\xbf" + text.encode("utf-8"),
        text.encode("utf-16"),  # with BOM
        to_cp1258(text),
    ):
        assert decode(data) == text


def test_binary_and_empty_input_are_refused() -> None:
    with pytest.raises(UnsupportedSourceError, match="binary"):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(EmptySourceError):
        load_bytes(b" \n\t\n", filename="x.txt", origin="x.txt")
    with pytest.raises(UnsupportedSourceError, match="not supported"):
        load_bytes(b"PK\x03\x04", filename="x.docx", origin="x.docx")


def test_size_cap_is_checked_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 2048)
    with pytest.raises(SourceTooLargeError, match="too large"):
        load(str(big), LoadLimits(max_bytes=1024))


def _paragraphs(sentence: str) -> str:
    """Six numbered paragraphs: enough text for the extractor to take it as the article."""
    return "".join(f"<p>Đoạn {i}: {sentence}</p>" for i in range(6))


def test_html_main_text_is_extracted_and_scripts_dropped() -> None:
    body = _paragraphs(
        "Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới trong năm 2021, đạt 110% chỉ tiêu."
    )
    html = (
        "<html><head><title>Mường Ảng kết nạp đảng viên</title>"
        "<script>alert('x')</script><style>p{}</style></head><body>"
        "<nav>Trang chủ | Tin tức</nav><article><h1>Mường Ảng kết nạp đảng viên</h1>"
        f"{body}<img src=x onerror=alert(1)></article></body></html>"
    ).encode()
    raw = load_bytes(html, filename="a.html", origin="a.html")
    assert "95 đảng viên" in raw.text
    assert "alert" not in raw.text and "<" not in raw.text
    assert raw.title == "Mường Ảng kết nạp đảng viên"


def test_html_paragraphs_are_separated_as_in_text_files_and_a_list_stays_with_its_intro() -> None:
    html = (
        "<html><body><article><h1>Tây Sơn phát triển đảng viên</h1>"
        "<p>Năm 2023, Đảng bộ huyện Tây Sơn kết nạp 120 đảng viên mới, đạt 104% chỉ tiêu.</p>"
        "<p>Để đạt kết quả trên, Huyện ủy đã thực hiện nhiều giải pháp:</p>"
        "<ul><li>Giao chỉ tiêu cho từng chi bộ;</li><li>Phân công đảng viên kèm cặp.</li></ul>"
        "<p>Bên cạnh đó, công tác phát triển đảng viên vẫn còn khó khăn.</p>"
        "</article></body></html>"
    )
    paragraphs = load_html(html, "a.html").text.split("\n\n")
    assert paragraphs[1].startswith("Năm 2023") and paragraphs[3].startswith("Bên cạnh đó")
    assert paragraphs[2].split("\n") == [
        "Để đạt kết quả trên, Huyện ủy đã thực hiện nhiều giải pháp:",
        "- Giao chỉ tiêu cho từng chi bộ;",
        "- Phân công đảng viên kèm cặp.",
    ]


@pytest.mark.parametrize(
    ("head", "title", "publisher"),
    [
        (
            "<title>Khai giảng lớp | Báo Phú Thọ điện tử</title>",
            "Khai giảng lớp",
            "Báo Phú Thọ điện tử",
        ),
        ("<title>Kết nạp đảng viên - Báo Lai Châu</title>", "Kết nạp đảng viên", "Báo Lai Châu"),
        # The extractor's headline came from <h1>: only a pipe marks the site's name.
        (
            "<title>Đảng ủy khối: Kết nạp | Báo Long An Online</title>",
            "Lễ kết nạp",
            "Báo Long An Online",
        ),
        ("<title>Đảng ủy khối - Kết nạp</title>", "Lễ kết nạp", None),
        ("<title>Kết nạp đảng viên</title>", "Kết nạp đảng viên", None),
        (
            '<meta content="Báo Đồng Khởi" property="og:site_name"><title>A | B</title>',
            "A",
            "Báo Đồng Khởi",
        ),
        (
            '<meta property="og:site_name" content="Tuổi Trẻ &amp; Đời sống">',
            "A",
            "Tuổi Trẻ & Đời sống",
        ),
    ],
)
def test_the_publisher_comes_from_the_site_name_or_the_page_titles_suffix(
    head: str, title: str, publisher: str | None
) -> None:
    assert publisher_of(f"<html><head>{head}</head><body></body></html>", title) == publisher


@pytest.mark.parametrize("tag", ["<meta ", "<title", "<meta og:site_name content='"])
def test_a_hostile_head_has_no_publisher(tag: str) -> None:
    assert publisher_of(tag * 40_000, "T") is None
    # Junk before a real head still leaves its site name readable.
    page = tag * 1_000 + '<meta property="og:site_name" content="Báo Lai Châu">'
    assert publisher_of(page, "T") == "Báo Lai Châu"


def test_an_html_articles_publisher_is_kept_with_it() -> None:
    body = _paragraphs(
        "Lớp bồi dưỡng nhận thức về Đảng khóa II khai giảng tại Trường Đại học Hùng Vương."
    )
    html = (
        "<html><head><title>Khai giảng lớp bồi dưỡng | Báo Phú Thọ điện tử</title></head><body>"
        f"<article><h1>Khai giảng lớp bồi dưỡng</h1>{body}</article></body></html>"
    ).encode()
    article = prepare(load_bytes(html, filename="a.html", origin="a.html"))
    assert article.title == "Khai giảng lớp bồi dưỡng"
    assert article.extra["publisher"] == "Báo Phú Thọ điện tử"
    assert "Báo Phú Thọ" not in article.text


def test_html_without_article_text_is_empty() -> None:
    with pytest.raises(IngestError):
        load_bytes(b"<html><body><div></div></body></html>", filename="a.html", origin="a.html")


def test_folder_expansion_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "b.docx").write_text("x", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.txt").write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.html").write_text("x", encoding="utf-8")
    found = [Path(p).name for p in expand_source(str(tmp_path)).origins]
    assert found == ["a.txt", "d.html"]
    with pytest.raises(IngestError, match="no such file"):
        expand_source(str(tmp_path / "missing"))
    with pytest.raises(UnsupportedSourceError, match="scheme"):
        expand_source("ftp://example.com/a.txt")


# --- cleaning and metadata ---------------------------------------------------------------------
def test_cleaning_removes_scraped_noise_and_keeps_the_article() -> None:
    raw = _sample("000")
    text = clean_text(raw)
    lines = text.split("\n")
    assert "." not in lines and "1" not in lines
    assert "\n\n\n" not in text
    assert "kết nạp được 470 đảng viên" in text
    # Reader comments and the other-articles tail are gone.
    kon_tum = clean_text(_sample("002"))
    assert "Giàng A Mua" not in kon_tum and "Các tin khác" not in kon_tum
    assert "Phản hồi" not in kon_tum
    lai_chau = clean_text(_sample("004"))
    assert "Mang ấm no, hạnh phúc" not in lai_chau
    assert lai_chau.endswith("tạo thêm sức mạnh cho Đảng.")


_BODY = (
    "Theo Chỉ thị, từ nay đến năm 2025, toàn tỉnh phấn đấu kết nạp ít nhất 7.000 đảng viên mới. "
    "Chỉ tiêu được giao cụ thể cho từng đảng bộ trực thuộc, bảo đảm đúng tiêu chuẩn, điều kiện, "
    "quy trình, thủ tục kết nạp."
)


@pytest.mark.parametrize(
    "tail",
    [
        "Viết bình luận mới\n\nTHĂM DÒ Ý KIẾN\nTheo bạn, điều gì thu hút người tài?\n\n"
        "THÔNG TIN CẦN BIẾT\nNhiều mây, có mưa, có nơi mưa vừa. Gió tây nam cấp 3.",
        "Tin, bài liên quan:\nĐồn Biên phòng giúp xã xóa bản trắng đảng viên.",
        "Gửi bình luận\nHọ tên của bạn. Email của bạn.",
        "Thăm dò ý kiến\nBạn đọc báo in hay báo điện tử?",
    ],
)
def test_a_pages_comment_form_poll_and_weather_are_not_the_article(tail: str) -> None:
    assert clean_text(f"{_BODY}\n\n{tail}") == _BODY


def test_cleaning_never_empties_a_short_unpunctuated_note() -> None:
    note = "Ghi chú họp chi bộ\nKết nạp đảng viên mới\nTạo nguồn"
    assert clean_text(note) == note


@pytest.mark.parametrize(
    ("name", "title", "date", "author"),
    [
        (
            "000",
            "Huyện Tuần Giáo, tỉnh Điện Biên: Chú trọng công tác phát triển đảng viên là người "
            "tại chỗ",
            "2018-04-13",
            "CTV - Phong Lâm/BTC Tỉnh ủy Điện Biên",
        ),
        (
            "001",
            "Đảng ủy Khối các cơ quan tỉnh Lạng Sơn nâng cao chất lượng công tác phát triển "
            "đảng viên",
            "2019-08-15",
            "Nguyễn Thị Lan Anh - Ban Tổ chức Đảng ủy Khối CCQ tỉnh",
        ),
        ("002", "Tạo nguồn phát triển đảng viên là người có đạo ở TP. Kon Tum", None, None),
        ("003", "Huyện ủy Núi Thành chú trọng phát triển đảng viên mới", None, None),
    ],
)
def test_metadata_of_the_sample_articles(
    name: str, title: str, date: str | None, author: str | None
) -> None:
    meta = extract_metadata(clean_text(_sample(name)))
    assert (meta.title, meta.date, meta.author) == (title, date, author)


def test_untitled_article_gets_its_opening_words_as_title() -> None:
    meta = extract_metadata(clean_text(_sample("004")))
    assert meta.title.startswith("Là đảng viên trẻ") and meta.title.endswith("…")
    assert len(meta.title) <= 95


_HEADLINE = "Đồn Biên phòng Mường Lèo giúp xã biên giới xóa bản trắng đảng viên"
_LEAD = (
    "(Biên phòng) - Sau hai năm phối hợp với Đồn Biên phòng Mường Lèo, xã biên giới Mường Lèo "
    "đã xóa bản trắng đảng viên. Năm 2022, Đảng ủy xã kết nạp 27 đảng viên."
)


@pytest.mark.parametrize(
    ("header", "date"),
    [
        # A byline above the dateline, the headline below it.
        (f"Ngọc Anh - Văn Thịnh\nThứ Hai, 22/05/2023 09:15\n{_HEADLINE}", "2023-05-22"),
        # The site and its section first, the author and the author's office after.
        (
            "Tạp chí Xây dựng Đảng\nNhân tố mới - Điển hình mới\n"
            f"{_HEADLINE}\nThS. Trần Văn Lộc\nBan Tổ chức Tỉnh ủy Sơn La\n17:20, ngày 28-07-2024",
            "2024-07-28",
        ),
        # The dateline first, then a breadcrumb; the byline under the headline.
        (
            "Cập nhật: 07:42 | 14/11/2023\nBáo Biên phòng > Xây dựng Đảng > Tin tức\n"
            f"{_HEADLINE}\nMạnh Hùng",
            "2023-11-14",
        ),
        # A scraper's date field with the time of day.
        (
            f"date 2022-08-03 07:15:00\n{_HEADLINE}\nBáo Sơn La - Chuyên mục: Xây dựng Đảng",
            "2022-08-03",
        ),
        # A dateline that also names the section.
        (f"{_HEADLINE}\nThứ sáu, 29/12/2023 | 16:05 GMT+7 | Chính trị\nNhật Linh", "2023-12-29"),
    ],
)
def test_the_headline_is_the_header_line_its_lead_restates(header: str, date: str) -> None:
    article = prepare(RawDocument(origin="/x/a.txt", text=f"{header}\n\n{_LEAD}"))
    assert (article.title, article.date) == (_HEADLINE, date)


def test_a_tables_rows_become_sentences_that_name_their_columns() -> None:
    table = (
        "| Năm | Số đảng viên kết nạp | Trong đó: công nhân |\n|---|---|---|\n"
        "| 2022 | 347 | 171 |\n| 2023 | 389 | |"
    )
    text = clean_text(f"{_LEAD}\n\n{table}\n\n| Chỉ tiêu | Kết quả |\n| Kết nạp đảng viên | 742 |")
    assert text.split("\n\n")[1:] == [
        "Năm 2022 — Số đảng viên kết nạp: 347; Trong đó: công nhân: 171.\n"
        "Năm 2023 — Số đảng viên kết nạp: 389.",
        "Kết nạp đảng viên — Kết quả: 742.",
    ]
    assert clean_text(text) == text
    # A table is a paragraph of its own, even where the page put none around it.
    assert clean_text(f"{_LEAD}\n| Năm | Kết nạp |\n| 2022 | 347 |\nNguồn: Ban Tổ chức.") == (
        f"{_LEAD}\n\nNăm 2022 — Kết nạp: 347.\n\nNguồn: Ban Tổ chức."
    )
    # A lone row, or a line with pipes that is no table, stays as written.
    assert clean_text(f"{_LEAD}\n| Năm | 2022 |") == f"{_LEAD}\n| Năm | 2022 |"


def test_share_buttons_are_no_text_and_no_byline() -> None:
    text = f"{_HEADLINE}\n\n{_LEAD}\n\nNgọc Anh\nChia sẻ Facebook | In bài\nChia sẻ: Zalo"
    article = prepare(RawDocument(origin="/x/a.txt", text=text))
    assert "Chia sẻ" not in article.text and "In bài" not in article.text
    assert article.author == "Ngọc Anh"
    # A sentence that starts with the same words stays.
    assert "Chia sẻ kinh nghiệm" in clean_text(f"{_LEAD}\nChia sẻ kinh nghiệm tạo nguồn.")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("13/04/2018", "2018-04-13"),
        ("15-08-2019 09:13", "2019-08-15"),
        ("Thứ Sáu, 13/04/2018, [GMT+7]", "2018-04-13"),
        ("2022-12-31", "2022-12-31"),
        ("31/02/2020", None),
        ("không có ngày", None),
    ],
)
def test_dates(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


# --- chunking ----------------------------------------------------------------------------------
def test_sentences_do_not_split_on_abbreviations_or_numbers() -> None:
    text = (
        "Thành ủy TP. Kon Tum có 3.790 đảng viên, chiếm 90,6% tổng số. TS. Nguyễn Văn A phát "
        "biểu. Năm 2022 kết nạp 2.5 lần!\nDòng mới không dấu chấm"
    )
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "Thành ủy TP. Kon Tum có 3.790 đảng viên, chiếm 90,6% tổng số.",
        "TS. Nguyễn Văn A phát biểu.",
        "Năm 2022 kết nạp 2.5 lần!",
        "Dòng mới không dấu chấm",
    ]


def test_chunks_of_a_sample_article_overlap_and_slice_exactly() -> None:
    article = prepare(RawDocument(origin="/x/000.txt", text=_sample("000")))
    chunks = chunk_article(article, size=600, overlap=150)
    assert len(chunks) > 5
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text) <= 600
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))
    # Every sentence of the article lies wholly inside some chunk.
    for s, e in split_sentences(article.text):
        assert any(c.start <= s and e <= c.end for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_a_paragraph_that_fits_stays_in_one_chunk() -> None:
    article = prepare(RawDocument(origin="/x/001.txt", text=_sample("001")))
    chunks = chunk_article(article, size=600, overlap=150)
    assert any("hạn chế, đó là:" in c.text and "lúng túng" in c.text for c in chunks)


def test_article_identity_follows_the_origin() -> None:
    a = prepare(RawDocument(origin="/x/a.txt", text=_sample("003")))
    b = prepare(RawDocument(origin="/x/b.txt", text=_sample("003")))
    assert a.article_id == article_id_for("/x/a.txt") != b.article_id
    assert a.content_hash == b.content_hash


# --- properties --------------------------------------------------------------------------------
_vietnamese = st.text(
    alphabet=st.sampled_from(
        list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ")
        + list("ùúủũụừứửữựỳýỷỹỵ .,;:!?%/-\n\t0123456789TPĐ…“”\"'()\u00a0\u0301\u0323")
    ),
    max_size=600,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(_vietnamese, st.text(max_size=300)))
def test_cleaning_and_chunking_never_crash_and_offsets_slice_exactly(text: str) -> None:
    cleaned = clean_text(text)
    assert unicodedata.is_normalized("NFC", cleaned)
    assert clean_text(cleaned) == cleaned
    for s, e in split_sentences(cleaned):
        assert cleaned[s:e] == cleaned[s:e].strip() and e > s
    spans = chunk_spans(cleaned, 80, 20)
    for (s, e), (s2, _) in zip(spans, spans[1:], strict=False):
        assert s < s2 and e > s
    covered = "".join(cleaned[s:e] for s, e in spans)
    assert set(covered) >= set(cleaned.replace("\n", "").replace(" ", ""))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_either_load_as_nfc_text_or_fail_clearly(data: bytes) -> None:
    try:
        raw = load_bytes(data, filename="x.txt", origin="x.txt")
    except IngestError as exc:
        error = str(exc)
    else:
        assert unicodedata.is_normalized("NFC", raw.text)
        return
    assert error.startswith("x.txt: ")


def test_pdf_page_cap_and_pdf_without_text_are_refused() -> None:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    with pytest.raises(SourceTooLargeError, match="3 pages"):
        load_bytes(data, filename="a.pdf", origin="a.pdf", limits=LoadLimits(max_pdf_pages=2))
    # Blank pages, as a scan without a text layer: nothing to index.
    with pytest.raises(EmptySourceError, match="no extractable text"):
        load_bytes(data, filename="a.pdf", origin="a.pdf")
    with pytest.raises(IngestError, match="unreadable PDF"):
        load_bytes(b"%PDF-1.4 not really", filename="b.pdf", origin="b.pdf")
