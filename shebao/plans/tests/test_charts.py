"""The server-drawn charts: SVG that names itself, and the numbers it draws in
a table beside it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from shebao.plans.charts import Series, bar_chart, line_chart, plan_charts, progress_ring, shown
from shebao.plans.figures import PlanFigures, distribution_figures

SVG = "{http://www.w3.org/2000/svg}"


def parts(html):
    svg = re.search(r"<svg.*</svg>", html, re.S)
    table = re.search(r"<table.*</table>", html, re.S)
    assert svg and table
    return ElementTree.fromstring(svg.group(0)), ElementTree.fromstring(table.group(0))


def cells(table):
    return [[cell.text for cell in row] for row in table.iter("tr")]


def test_a_bar_chart_names_itself_and_tables_its_numbers():
    html = bar_chart(
        chart_id="c1",
        title="Applications by channel",
        categories=["Counter", "Online"],
        series=[Series("Plan", [Decimal(10), Decimal(4)]), Series("Actual", [Decimal(3), None])],
        category_label="Channel",
    )
    svg, table = parts(html)
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == "Applications by channel"
    assert svg.find(f"{SVG}title").text == "Applications by channel"
    assert "Counter: Plan 10, Actual 3" in svg.find(f"{SVG}desc").text
    # Three bars: the missing actual draws nothing.
    bars = svg.findall(f"{SVG}rect")
    drawn = [bar for bar in bars if bar.find(f"{SVG}title") is not None]
    assert len(drawn) == 3
    heights = {bar.find(f"{SVG}title").text: Decimal(bar.get("height")) for bar in drawn}
    # Bars are as tall as their values: the actual of 3 is 30% of the plan of 10.
    ratio = heights["Counter · Actual: 3"] / heights["Counter · Plan: 10"]
    assert abs(ratio - Decimal("0.3")) < Decimal("0.001")
    # The axis tops at the next round figure above the largest value: 12, in steps of 3.
    ticks = [text.text for text in svg.findall(f"{SVG}text")]
    assert {"0", "3", "6", "9", "12"} <= set(ticks)
    assert table.find("caption").text == "Applications by channel"
    assert cells(table) == [
        ["Channel", "Plan", "Actual"],
        ["Counter", "10", "3"],
        ["Online", "4", "—"],
    ]


def test_a_line_chart_breaks_where_a_month_has_no_value():
    html = line_chart(
        chart_id="c2",
        title="Collected",
        categories=["01", "02", "03", "04"],
        series=[Series("Plan", [1, 2, 3, 4]), Series("Actual", [1, 3, None, None])],
    )
    svg, table = parts(html)
    lines = svg.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [4, 2]
    assert lines[0].get("stroke-dasharray")  # the plan is dashed
    assert cells(table)[3] == ["03", "3", "—"]


def test_a_progress_ring_shows_the_share_and_its_numbers():
    html = progress_ring(chart_id="r", title="Distribution", actual=Decimal(3), target=Decimal(10))
    svg, table = parts(html)
    assert svg.get("aria-label") == "Distribution: 30%"
    assert svg.find(f"{SVG}text").text == "30%"
    arc = svg.findall(f"{SVG}circle")[1].get("stroke-dasharray").split()
    assert Decimal(arc[0]) == Decimal("98.0")  # 30% of the circumference 326.7
    assert [row[1] for row in cells(table)] == ["10", "3", "30%"]


def test_a_ring_over_the_target_is_full_and_says_so():
    svg, _table = parts(progress_ring(chart_id="r", title="t", actual=15, target=10))
    arc = svg.findall(f"{SVG}circle")[1].get("stroke-dasharray").split()
    assert arc[0] == arc[1]
    assert svg.find(f"{SVG}text").text == "150%"


def test_labels_are_escaped():
    html = bar_chart(
        chart_id="c3",
        title="<script>x</script>",
        categories=["A&B"],
        series=[Series("Plan", [1])],
    )
    assert "<script>" not in html and "&lt;script&gt;" in html and "A&amp;B" in html


def test_figures_are_shown_as_the_table_reads_them():
    assert shown(Decimal("1200.00")) == "1,200"
    assert shown(Decimal("19.67")) == "19.67"
    assert shown(None) == "—"


@pytest.mark.django_db
def test_each_plan_has_its_charts_each_with_a_table(area, outlet):
    figures = distribution_figures(area.code, 2026, dt.date(2026, 12, 31))
    assert isinstance(figures, PlanFigures)
    charts = plan_charts(figures)
    assert len(charts) == 2
    for chart in charts:
        assert chart.count("<svg") == 1 and chart.count("<table") == 1
