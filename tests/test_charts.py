"""Charts of figures: planned as panels that never mix measures, drawn as a real PNG."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from bot.charts import plan_chart, render_png
from bot.errors import TinbotError
from index.store import ArticleStore
from ingest.facts import Fact, extract_facts
from ingest.loaders import LoadLimits, load
from ingest.pipeline import prepare
from tests.conftest import SAMPLES

BASE = Fact(
    article_id="a1",
    kind="ket_nap",
    segment=None,
    measure="count",
    value=0.0,
    high=None,
    denominator=None,
    bound="exact",
    unit="đảng viên",
    figure="",
    target=False,
    per_year=False,
    place="huyện Tuần Giáo",
    place_key="huyen tuan giao",
    period="năm 2016",
    year_from=2016,
    year_to=2016,
    sentence="",
    start=0,
    end=0,
    figure_start=0,
    figure_end=0,
)


def fact(value: float, **changes: object) -> Fact:
    return replace(BASE, value=value, **changes)  # type: ignore[arg-type]


def test_new_members_totals_and_shares_get_separate_panels() -> None:
    chart = plan_chart(
        [
            fact(120, period="năm 2016"),
            fact(135, period="năm 2017", year_from=2017, year_to=2017),
            fact(1135, kind="tong_dang_vien", period="năm 2017"),
            fact(3790, kind="tong_dang_vien", period="năm 2018", article_id="a2"),
            fact(36.6, measure="percent", segment="nu", period="năm 2017"),
        ],
        "Huyện Tuần Giáo",
    )
    assert chart is not None
    titles = [p.title for p in chart.panels]
    assert titles == [
        "Đảng viên mới kết nạp",
        "Tổng số đảng viên",
        "Đảng viên mới kết nạp (nữ) (%)",
    ]
    members, totals, shares = chart.panels
    # Only what varies labels a bar: here the period.
    assert [(b.label, b.text) for b in members.bars] == [
        ("năm 2016", "120 [1]"),
        ("năm 2017", "135 [1]"),
    ]
    # Vietnamese number format, and each bar names its source.
    assert [b.text for b in totals.bars] == ["1.135 [1]", "3.790 [2]"]
    assert [b.text for b in shares.bars] == ["36,6% [1]"]
    assert chart.sources == ["a1", "a2"]
    assert not members.percent and shares.percent


def test_places_label_the_bars_when_they_vary_and_targets_stand_apart() -> None:
    chart = plan_chart(
        [
            fact(470, place="huyện Tuần Giáo"),
            fact(95, place="huyện Mường Ảng", place_key="huyen muong ang", article_id="b"),
            fact(150, target=True),
            fact(150, per_year=True),
        ],
        "So sánh",
    )
    assert chart is not None
    assert [b.label for b in chart.panels[0].bars] == ["Huyện Tuần Giáo", "Huyện Mường Ảng"]
    assert {p.title for p in chart.panels[1:]} == {
        "Chỉ tiêu: đảng viên mới kết nạp",
        "Đảng viên mới kết nạp, mỗi năm",
    }


@pytest.mark.parametrize(
    "facts",
    [
        [],
        [fact(470)],
        # A ratio repeats a count; a figure with a note disagrees with its parts.
        [fact(247, measure="ratio", denominator=470), fact(0.06, note="sai tỷ lệ")],
        # The same figure told twice is one bar.
        [fact(470), fact(470, article_id="a2")],
    ],
)
def test_fewer_than_two_figures_make_no_chart(facts: list[Fact]) -> None:
    assert plan_chart(facts, "x") is None


def test_a_sample_article_is_drawn_as_a_png() -> None:
    raw = load(
        str(sorted(SAMPLES.glob("*.txt"))[0]),
        LoadLimits(max_bytes=10**7, allow_private_urls=False, timeout=5),
    )
    facts = extract_facts(prepare(raw))
    chart = plan_chart(facts, "Huyện Tuần Giáo")
    assert chart is not None
    panel = chart.panels[0]
    assert panel.title == "Đảng viên mới kết nạp"
    assert ("tổng số", "470 [1]") in [(b.label, b.text) for b in panel.bars]
    for p in chart.panels:
        assert len({"%" in b.text for b in p.bars}) == 1, p  # one measure per axis
    image = Image.open(io.BytesIO(render_png(chart)))
    assert image.format == "PNG"
    assert image.width >= 800 and image.height >= 300


def test_facts_command_draws_the_chart_and_keeps_json_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_facts import MUONG_CHA, _put, _run_facts

    store = ArticleStore(tmp_path / "tinbot.sqlite3")
    _put(store, MUONG_CHA)
    store.close()
    png = tmp_path / "muong-cha.png"
    assert _run_facts(["--place", "muong cha", "--json", "--plot", str(png)], tmp_path) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)  # the chart's note went to stderr
    assert f"chart written to {png}" in captured.err
    assert f"[1] {MUONG_CHA.title}" in captured.err
    assert Image.open(png).format == "PNG"
    with pytest.raises(TinbotError, match="nothing to chart"):
        _run_facts(["--place", "Hà Nội", "--plot", str(tmp_path / "none.png")], tmp_path)
    assert not (tmp_path / "none.png").exists()
