"""Charts of reported figures: a PNG for ``/stats``, figure answers and ``tinbot facts --plot``.

A chart is planned first (pure data: panels of labelled bars, testable without drawing) and then
drawn with matplotlib's Agg backend, which needs no display. Each panel holds one kind of figure
in one measure — new members, totals and shares never share an axis, because bars of 470
members next to a 90,6% share would read as a comparison that means nothing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.answering.fact_format import capitalised, period_of
from ingest.facts import KINDS, SEGMENTS, Fact
from ingest.numbers import format_number, format_percent

MAX_PANELS = 4
MAX_BARS = 12
# Reading order of panels: recruitment first, then the totals it grows.
_KIND_ORDER = {kind: i for i, kind in enumerate(KINDS)}


@dataclass
class Bar:
    label: str
    value: float
    value_text: str  # as a Vietnamese reader writes it: "1.135", "90,6%"
    article_id: str
    source: int = 0  # 1-based number of the article in ``Chart.sources``

    @property
    def text(self) -> str:
        return f"{self.value_text} [{self.source}]"


@dataclass
class Panel:
    title: str
    percent: bool
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    panels: list[Panel]
    sources: list[str]  # article ids, numbered [1], [2], … in this order


def _panel_key(fact: Fact) -> tuple[str, str, bool, bool]:
    return (fact.kind, fact.measure, fact.target, fact.per_year)


def _panel_title(fact: Fact, segments_vary: bool) -> str:
    title = KINDS.get(fact.kind, fact.kind)
    if fact.segment and not segments_vary:
        title += f" ({SEGMENTS.get(fact.segment, fact.segment)})"
    if fact.target:
        title = f"chỉ tiêu: {title}"
    if fact.per_year:
        title += ", mỗi năm"
    if fact.measure == "percent":
        title += " (%)"
    return capitalised(title)


def _bar_label(fact: Fact, *, places: bool, periods: bool, segments: bool) -> str:
    parts: list[str] = []
    if places:
        parts.append(capitalised(fact.place))
    if segments:
        parts.append(SEGMENTS.get(fact.segment, fact.segment) if fact.segment else "tổng số")
    if periods or not parts:
        parts.append(period_of(fact))
    return " · ".join(parts)


def plan_chart(facts: Sequence[Fact], title: str) -> Chart | None:
    """Panels of the facts worth drawing, or None when fewer than two figures compare.

    Ratios ("247/470") repeat a count already charted, so they are left out. Panels with the
    most bars come first, ties in the order of ``KINDS`` (recruitment before totals)."""
    groups: dict[tuple[str, str, bool, bool], list[Fact]] = {}
    for fact in facts:
        # A figure with a note disagrees with its own parts: not drawn as if it were sure.
        if fact.measure in ("count", "percent") and not fact.note:
            groups.setdefault(_panel_key(fact), []).append(fact)
    panels: list[tuple[tuple[int, int], Panel]] = []
    for key, members in groups.items():
        places = len({f.place_key for f in members}) > 1
        periods = len({period_of(f) for f in members}) > 1
        segments = len({f.segment for f in members}) > 1
        panel = Panel(_panel_title(members[0], segments), percent=members[0].measure == "percent")
        seen: set[str] = set()
        for fact in members:
            label = _bar_label(fact, places=places, periods=periods, segments=segments)
            if label in seen or len(panel.bars) >= MAX_BARS:
                continue  # the same figure told again (or by another article): drawn once
            seen.add(label)
            value = format_percent(fact.value, 2) if panel.percent else format_number(fact.value)
            panel.bars.append(Bar(label, fact.value, value, fact.article_id))
        rank = (-len(panel.bars), _KIND_ORDER.get(key[0], len(_KIND_ORDER)))
        panels.append((rank, panel))
    chosen = [p for _, p in sorted(panels, key=lambda item: item[0])[:MAX_PANELS]]
    if sum(len(p.bars) for p in chosen) < 2:
        return None
    # Sources numbered in the order the drawn bars cite them, so the caption has no gaps.
    sources: list[str] = []
    for panel in chosen:
        for bar in panel.bars:
            if bar.article_id not in sources:
                sources.append(bar.article_id)
            bar.source = sources.index(bar.article_id) + 1
    return Chart(title, chosen, sources)


def render_png(chart: Chart) -> bytes:
    """The chart as PNG bytes: horizontal bars (long Vietnamese labels stay readable on a
    phone), each labelled with its value and source."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    heights = [0.9 + 0.42 * len(panel.bars) for panel in chart.panels]
    figure = Figure(figsize=(8.0, 0.7 + sum(heights)), dpi=110)
    axes = figure.subplots(len(chart.panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    figure.suptitle(chart.title, fontsize=13, fontweight="bold")
    for ax, panel in zip(axes, chart.panels, strict=True):
        labels = [bar.label for bar in panel.bars][::-1]
        values = [bar.value for bar in panel.bars][::-1]
        texts = [bar.text for bar in panel.bars][::-1]
        bars = ax.barh(labels, values, color="#c0392b" if panel.percent else "#2e86c1")
        ax.bar_label(bars, labels=texts, padding=3, fontsize=9)
        ax.set_title(panel.title, fontsize=10, loc="left")
        ax.set_xlim(0, max(values) * 1.3 if max(values) > 0 else 1)
        ax.tick_params(axis="y", labelsize=9)
        ax.set_xticks([])  # every bar carries its value; a scale would only repeat it
        ax.spines[["top", "right", "bottom"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def caption(chart: Chart, titles: dict[str, str]) -> str:
    """The chart's sources, "[n] title" per line, within a photo caption's 1,024 characters."""
    lines = [f"[{n}] {titles.get(a, a)}" for n, a in enumerate(chart.sources, start=1)]
    text = "\n".join(lines)
    if len(text) > 900:
        text = text[:900].rsplit("\n", 1)[0] + "\n…"
    return text


def answer_chart(figures: Sequence[Fact], question: str) -> Chart | None:
    """A chart for a fact answer whose figures span places or periods (a comparison, a
    total, a list); None for one place in one period, which a sentence says better."""
    places = {f.place_key for f in figures}
    periods = {(f.year_from, f.year_to) for f in figures}
    if len(places) < 2 and len(periods) < 2:
        return None
    title = question if len(question) <= 70 else question[:69].rsplit(" ", 1)[0] + "…"
    return plan_chart(figures, title)
