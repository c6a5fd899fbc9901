"""Telegram HTML rendering, message splitting and callback data. Every rendered message is checked
with the stand-in's parser, which refuses what Telegram refuses."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.telegram.callback_data import FeedbackRef, PageRef, SourceRef, decode, encode, fits
from bot.telegram.format import (
    MAX_MESSAGE,
    answer_buttons,
    esc,
    format_date,
    page_buttons,
    pages,
    render_answer,
    render_ingest_report,
    render_passage,
    render_sources_page,
    render_stats,
    split_message,
    telegram_length,
)
from bot.types import (
    Answer,
    ArticleInfo,
    Citation,
    IngestReport,
    IngestResult,
    Passage,
    Stats,
)
from tests.telegram_standin import BadRequest, parse_html

URL = "https://baodienbien.vn/bai-viet?id=1&x=<2>"


def citation(
    n: int, origin: str, title: str = "Tuần Giáo <b>chú trọng</b> & phát triển"
) -> Citation:
    return Citation(n, f"a{n:015d}", title, "2018-04-13", origin, "kết nạp 470 đảng viên", 10, 31)


def answer(*citations: Citation, text: str = "“… kết nạp 470 <đảng viên> & …” [1]") -> Answer:
    return Answer(question="q", text=text, refused=False, citations=list(citations))


def visible(html_text: str) -> str:
    return parse_html(html_text)


def test_escape_covers_telegram_specials() -> None:
    assert esc('<b>"A" & B</b>') == '&lt;b&gt;"A" &amp; B&lt;/b&gt;'


def test_answer_renders_markers_and_compact_source_list() -> None:
    html_text = render_answer(answer(citation(1, URL), citation(2, "samples/corpus/000.txt")))
    shown = visible(html_text)
    assert "kết nạp 470 <đảng viên> & …” [1]" in shown
    lines = shown.split("\n")
    assert lines[-3] == "Nguồn:"
    assert lines[-2] == "[1] Tuần Giáo <b>chú trọng</b> & phát triển — 13/04/2018 — baodienbien.vn"
    # A file origin is not a link; the path says nothing to a phone user.
    assert lines[-1] == "[2] Tuần Giáo <b>chú trọng</b> & phát triển — 13/04/2018"
    assert 'href="https://baodienbien.vn/bai-viet?id=1&amp;x=&lt;2&gt;"' in html_text


def test_a_scraped_files_link_and_publisher_are_shown_with_its_source() -> None:
    scraped = replace(
        citation(1, "news/nb_11.html"),
        link="https://baophutho.vn/khai-giang-lop.html",
        publisher="Báo Phú Thọ <điện tử>",
    )
    html_text = render_answer(answer(scraped))
    assert visible(html_text).split("\n")[-1] == (
        "[1] Tuần Giáo <b>chú trọng</b> & phát triển — Báo Phú Thọ <điện tử> — 13/04/2018 — "
        "baophutho.vn"
    )
    assert 'href="https://baophutho.vn/khai-giang-lop.html"' in html_text


def test_the_sources_page_gives_a_scraped_articles_link_and_publisher() -> None:
    scraped = ArticleInfo(
        "a1", "Khai giảng lớp", "2025-03-05", "news/nb_11.txt", 3, "t",
        link="https://baophutho.vn/khai-giang.html", publisher="Báo Phú Thọ điện tử",
    )  # fmt: skip
    html_text = render_sources_page([scraped], 0)
    assert visible(html_text).split("\n")[-1] == (
        "[1] Khai giảng lớp — Báo Phú Thọ điện tử — 05/03/2025 — baophutho.vn"
    )


def test_follow_up_shows_the_question_answered() -> None:
    html_text = render_answer(answer(), understood_as="Lạng Sơn <kết nạp> bao nhiêu?")
    assert visible(html_text).startswith("Hiểu câu hỏi là: Lạng Sơn <kết nạp> bao nhiêu?\n\n")


def test_english_answers_get_english_labels() -> None:
    english = Answer("q", "The articles say: … [1]", False, [citation(1, URL)], language="en")
    assert "Sources:" in visible(render_answer(english, understood_as="x"))
    assert "Understood as: x" in visible(render_answer(english, understood_as="x"))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("2018-04-13", "13/04/2018"), ("2019-08-15T09:13:00", "15/08/2019"), ("2020", "2020")],
)
def test_dates_are_shown_day_first(raw: str, shown: str) -> None:
    assert format_date(raw) == shown
    assert format_date(None) is None


def test_passage_bolds_the_quote_inside_trimmed_context() -> None:
    passage = Passage(
        article_id="a1",
        title="Tuần Giáo & <Điện Biên>",
        date="2018-04-13",
        origin=URL,
        before="ên Đảng bộ huyện <luôn> chú trọng. ",
        quote="Huyện ủy đã kết nạp được 470 đảng viên",
        after=", trong đó có 426 đảng viên là đoàn viên thanh ni",
    )
    html_text = render_passage(1, passage)
    shown = visible(html_text)
    assert shown.startswith("[1] Tuần Giáo & <Điện Biên>\n13/04/2018 — baodienbien.vn\n\n")
    # Partial words at the cut edges are dropped and marked with an ellipsis.
    assert shown.endswith(
        "…Đảng bộ huyện <luôn> chú trọng. Huyện ủy đã kết nạp được 470 đảng viên, "
        "trong đó có 426 đảng viên là đoàn viên thanh…"
    )
    assert "<b>Huyện ủy đã kết nạp được 470 đảng viên</b>" in html_text


def test_passage_without_context_or_url() -> None:
    passage = Passage("a1", "T", None, "x.txt", "", "Toàn bộ.", "")
    assert visible(render_passage(None, passage)) == "T\n\nToàn bộ."


def test_sources_are_paged() -> None:
    articles = [
        ArticleInfo(f"a{i}", f"Bài <{i}>", "2020-01-0" + str(i % 9 + 1), f"f{i}.txt", 3, "t")
        for i in range(11)
    ]
    assert pages(11, 4) == 3
    assert pages(0, 4) == 1
    first = visible(render_sources_page(articles, 0, 4))
    assert first.startswith("Bài viết đã nạp (11) — trang 1/3")
    assert "[1] Bài <0>" in first
    assert "[5]" not in first
    last = visible(render_sources_page(articles, 99, 4))
    assert "trang 3/3" in last
    assert "[11] Bài <10>" in last
    assert visible(render_sources_page([], 0)) == "Chưa có bài viết nào được nạp."
    assert [b.text for b in page_buttons(0, 3)[0]] == ["Sau ▶"]
    assert [b.text for b in page_buttons(1, 3)[0]] == ["◀ Trước", "Sau ▶"]
    assert [b.callback for b in page_buttons(2, 3)[0]] == [PageRef(1)]
    assert page_buttons(0, 1) == []


def test_stats_and_ingest_report_are_escaped() -> None:
    shown = visible(render_stats(Stats(5, 42, "2024-01-02T03:04:05+00:00"), votes=(3, 1)))
    assert "Số bài viết: 5" in shown
    assert "Số đoạn đã lập chỉ mục: 42" in shown
    assert "Góp ý: 👍 3 · 👎 1" in shown
    assert "Lần nạp gần nhất: 02/01/2024 03:04 UTC" in shown
    assert "Lần nạp gần nhất: chưa có" in visible(render_stats(Stats(0, 0, None)))
    report = IngestReport(
        [
            IngestResult("a.txt", "added", "a1", "Bài <mới>", chunks=4),
            IngestResult("b<x>.pdf", "failed", reason="b<x>.pdf: too large (> 20 MB)"),
            IngestResult("c.txt", "unchanged", "c1", "C", 2, reason="same text as d.txt"),
        ]
    )
    shown = visible(render_ingest_report(report))
    assert "✅ Đã thêm: Bài <mới> — 4 đoạn" in shown
    assert "❌ Không nạp được: b<x>.pdf — b<x>.pdf: too large (> 20 MB)" in shown
    assert "✅ Không đổi: C — 2 đoạn (same text as d.txt)" in shown
    assert shown.endswith("Thêm 1, cập nhật 0, không đổi 1, lỗi 1.")


# --- splitting ---------------------------------------------------------------------------------


def test_short_messages_are_not_split() -> None:
    assert split_message("<b>ngắn</b>") == ["<b>ngắn</b>"]
    assert split_message("  \n ") == []


def test_long_answers_split_on_paragraph_boundaries() -> None:
    paragraphs = [f"Đoạn {i}: " + "đảng viên &amp; quần chúng " * 29 + "hết." for i in range(20)]
    text = "\n\n".join(paragraphs)
    parts = split_message(text)
    assert len(parts) > 1
    for part in parts:
        assert telegram_length(part) <= MAX_MESSAGE
        parse_html(part)
        # Every part holds whole paragraphs.
        assert all(p.startswith("Đoạn ") for p in part.split("\n\n"))
    assert "\n\n".join(parts) == text


def test_tags_open_at_a_cut_are_closed_and_reopened() -> None:
    text = '<i>Trích: <a href="https://x.vn/?a=1&amp;b=2">' + "chữ " * 3000 + "</a></i> hết."
    parts = split_message(text, limit=1000)
    assert len(parts) > 10
    for part in parts:
        assert telegram_length(part) <= 1000
        parse_html(part)
    assert parts[0].startswith('<i>Trích: <a href="https://x.vn/?a=1&amp;b=2">chữ')
    assert all(p.startswith('<i><a href="https://x.vn/?a=1&amp;b=2">') for p in parts[1:])
    assert parts[-1].endswith("</a></i> hết.")


def test_emoji_count_double_and_words_without_spaces_still_split() -> None:
    parts = split_message("🙂" * 3000)
    assert [telegram_length(p) for p in parts] == [4096, 1904]
    glued = split_message("x" * 9000)
    assert [len(p) for p in glued] == [4096, 4096, 808]


def test_entities_are_never_cut() -> None:
    text = "&amp;&lt;&gt;" * 1000
    for part in split_message(text, limit=100):
        parse_html(part)
        assert telegram_length(part) <= 100


_atoms = st.one_of(
    st.text(alphabet="ađảng viên<>&\"' 🙂\n", min_size=1, max_size=12).map(esc),
    st.sampled_from(["\n\n", "\n", " "]),
)


@st.composite
def telegram_html(draw: st.DrawFn) -> str:
    """Random valid Telegram HTML: escaped text in nested b/i/a/code tags."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 30))):
        piece = "".join(draw(st.lists(_atoms, min_size=1, max_size=8)))
        tag = draw(st.sampled_from([None, "b", "i", "a", "code"]))
        if tag == "a":
            piece = f'<a href="https://x.vn/?q=1&amp;r=2">{piece}</a>'
        elif tag:
            outer = draw(st.sampled_from(["", "b", "i"]))
            piece = f"<{tag}>{piece}</{tag}>"
            if outer and outer != tag:
                piece = f"<{outer}>{piece}</{outer}>"
        out.append(piece)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(text=telegram_html(), limit=st.integers(60, 400))
def test_every_part_is_valid_html_within_the_limit(text: str, limit: int) -> None:
    parse_html(text)
    parts = split_message(text, limit=limit)
    for part in parts:
        assert telegram_length(part) <= limit
        assert parse_html(part).strip()
    # Nothing visible is lost or invented, apart from whitespace at the cuts.
    squeeze = re.compile(r"\s+")
    joined = squeeze.sub("", "".join(parse_html(p) for p in parts))
    assert joined == squeeze.sub("", parse_html(text))


def test_the_stand_in_refuses_what_telegram_refuses() -> None:
    for bad in ("a < b", "<b>x", "<script>x</script>", "x &nbsp y", "<b><i>x</b></i>"):
        with pytest.raises(BadRequest):
            parse_html(bad)


# --- callback data -----------------------------------------------------------------------------


def test_callback_data_round_trips_within_64_bytes() -> None:
    refs: list[SourceRef | FeedbackRef | PageRef] = [
        SourceRef("a" + "f" * 15, 123456, 123999, 12),
        SourceRef("a0", 0, 5),
        FeedbackRef(987654321, 1),
        FeedbackRef(3, -1),
        PageRef(41),
    ]
    for ref in refs:
        data = encode(ref)
        assert len(data.encode("utf-8")) <= 64
        assert decode(data) == ref


def test_oversized_callback_data_is_refused() -> None:
    ref = SourceRef("a" * 40, 10**8, 10**8 + 1, 999)
    assert not fits(ref)
    with pytest.raises(ValueError, match="64 bytes"):
        encode(ref)


@pytest.mark.parametrize(
    "data",
    [None, "", "x", "s:a1:5:1", "s:../../x:0:1", "f:1:x", "f::u", "p:-1", "p:1:2", "s:a1:1:2:3:4"],
)
def test_foreign_callback_data_decodes_to_none(data: str | None) -> None:
    assert decode(data) is None


def test_answer_buttons_open_sources_link_urls_and_take_feedback() -> None:
    rows = answer_buttons(answer(citation(1, URL), citation(2, "f.txt")), answer_id=7)
    texts = [[b.text for b in row] for row in rows]
    assert texts == [["📄 [1]", "📄 [2]"], ["🔗 [1]"], ["👍", "👎"]]
    assert rows[0][0].callback == SourceRef("a000000000000001", 10, 31, 1)
    assert rows[1][0].url == URL
    assert rows[2][0].callback == FeedbackRef(7, 1)
    assert rows[2][1].callback == FeedbackRef(7, -1)
    long_id = Citation(1, "a" * 60, "T", None, "f.txt", "q", 0, 1)
    assert answer_buttons(answer(long_id), answer_id=None) == []
