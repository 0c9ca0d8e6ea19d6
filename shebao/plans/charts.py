"""Charts drawn on the server as SVG: a grouped bar chart, a plan-against-actual
line chart and a progress ring.

Each chart is a `<figure>` holding the SVG (role "img", named by its
`<title>` and aria-label, summarised by its `<desc>`) and a table of the very
numbers it draws, so that a screen reader, a keyboard user and a printout
get the figures without the picture. No script, no external file: the page
works offline and under a strict content security policy.

Lengths are computed with Decimal like every figure here and written with one
decimal; a missing value (None) draws nothing and reads "—" in the table.
Plan and actual differ in shape as well as colour (outlined against filled
bars, dashed against solid lines), so the charts read in greyscale too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from shebao.plans.figures import PlanFigures, percent
from shebao.plans.models import PlanKind

Number = Decimal | int | None

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 34, 42
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
GRID_LINES = 4
# Series styles in order: the first is the plan (outlined), the second the actual (filled).
STYLES = [
    {"fill": "#dbe6f3", "stroke": "#3b5b8c", "dash": "6 4"},
    {"fill": "#2f6f4f", "stroke": "#2f6f4f", "dash": ""},
    {"fill": "#b5651d", "stroke": "#b5651d", "dash": "2 3"},
]


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Number]
    # Index into STYLES; None: by the series' place (plan first, actual second).
    style: int | None = None

    def look(self, index: int) -> dict[str, str]:
        return STYLES[(self.style if self.style is not None else index) % len(STYLES)]


def _n(value: Decimal | int) -> str:
    """A length in the SVG, one decimal."""
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def shown(value: Number) -> str:
    """A figure as the table shows it."""
    if value is None:
        return "—"
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):,}"
    return f"{value:,}"


def _nice_top(value: Decimal) -> Decimal:
    """The top of the axis: GRID_LINES steps of 1, 2, 2.5, 3 or 5 × 10^k, the
    smallest that reaches `value` (2.5 only from 10 up, so counts tick whole)."""
    if value <= 0:
        return Decimal(GRID_LINES)
    wanted = value / GRID_LINES
    power = Decimal(10) ** wanted.adjusted()
    steps = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(3), Decimal(5), Decimal(10))
    for step in steps:
        size = power * step
        if size >= wanted and (size >= 10 or size == size.to_integral_value()):
            return size * GRID_LINES
    return power * 10 * GRID_LINES


def _fit(label: str, width: Decimal) -> str:
    """The label cut to the width (Chinese characters are twice as wide as Latin ones)."""
    room = int(width / Decimal("6.5"))
    units = 0
    for index, character in enumerate(label):
        units += 2 if ord(character) >= 0x2E80 else 1
        if units > room:
            return label[: max(index - 1, 1)] + "…"
    return label


def _table(
    title: str, category_label: str, categories: Sequence[str], series: Sequence[Series]
) -> SafeString:
    head = format_html_join("", '<th scope="col">{}</th>', ((s.label,) for s in series))
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (
                category,
                format_html_join(
                    "", '<td class="num">{}</td>', ((shown(s.values[i]),) for s in series)
                ),
            )
            for i, category in enumerate(categories)
        ),
    )
    return format_html(
        '<table class="chart-data"><caption>{}</caption><thead><tr><th scope="col">{}</th>{}'
        "</tr></thead><tbody>{}</tbody></table>",
        title,
        category_label,
        head,
        body,
    )


def _frame(chart_id: str, title: str, summary: str, content: SafeString) -> SafeString:
    return format_html(
        '<svg class="chart-svg" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'aria-describedby="{}-desc" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif" font-size="12">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        title,
        chart_id,
        chart_id,
        title,
        chart_id,
        summary,
        content,
    )


def _axes(top: Decimal, unit: str) -> SafeString:
    """Horizontal grid lines with their values, and the base line."""
    parts = []
    for step in range(GRID_LINES + 1):
        value = top * step / GRID_LINES
        y = TOP + PLOT_H - Decimal(PLOT_H) * step / GRID_LINES
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d0d5db" stroke-width="1"/>'
                '<text x="{}" y="{}" text-anchor="end" fill="#555">{}</text>',
                LEFT,
                WIDTH - RIGHT,
                _n(y),
                _n(y),
                LEFT - 6,
                _n(y + 4),
                shown(value),
            )
        )
    if unit:
        parts.append(format_html('<text x="4" y="{}" fill="#555">{}</text>', TOP - 14, unit))
    return mark_safe("".join(parts))  # noqa: S308 - built from format_html parts


def _legend(series: Sequence[Series], *, lines: bool) -> SafeString:
    parts, x = [], LEFT
    for index, item in enumerate(series):
        style = item.look(index)
        if lines:
            mark = format_html(
                '<line x1="{}" x2="{}" y1="12" y2="12" stroke="{}" stroke-width="2.5" '
                'stroke-dasharray="{}"/>',
                x,
                x + 18,
                style["stroke"],
                style["dash"],
            )
        else:
            mark = format_html(
                '<rect x="{}" y="6" width="14" height="12" fill="{}" stroke="{}" '
                'stroke-width="1.5"/>',
                x,
                style["fill"],
                style["stroke"],
            )
        parts.append(
            format_html('{}<text x="{}" y="16" fill="#222">{}</text>', mark, x + 22, item.label)
        )
        x += 40 + 12 * len(item.label)
    return mark_safe("".join(parts))  # noqa: S308 - built from format_html parts


def _top(series: Sequence[Series]) -> Decimal:
    values = [Decimal(v) for s in series for v in s.values if v is not None]
    return _nice_top(max(values, default=Decimal(0)))


def _x_labels(categories: Sequence[str], centre: list[Decimal]) -> SafeString:
    """The category names under the plot; where they would collide (months of a
    year), only their last part ("2026-03" → "03"): the table has them whole."""
    slot = Decimal(PLOT_W) / max(len(categories), 1)
    if any(len(label) * 7 > slot for label in categories):
        categories = [label.rsplit("-", 1)[-1] for label in categories]
    return format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" fill="#222">{}</text>',
        (
            (_n(x), HEIGHT - BOTTOM + 16, _fit(label, slot))
            for x, label in zip(centre, categories, strict=True)
        ),
    )


def _summary(categories: Sequence[str], series: Sequence[Series]) -> str:
    return "; ".join(
        f"{category}: " + ", ".join(f"{s.label} {shown(s.values[i])}" for s in series)
        for i, category in enumerate(categories)
    )


def bar_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    category_label: str = "",
    unit: str = "",
) -> SafeString:
    """Grouped bars: one group per category, one bar per series."""
    top = _top(series)
    group = Decimal(PLOT_W) / max(len(categories), 1)
    bar = group * Decimal("0.8") / max(len(series), 1)
    bars, centres = [], []
    for i, category in enumerate(categories):
        left = LEFT + group * i + group * Decimal("0.1")
        centres.append(LEFT + group * i + group / 2)
        for j, item in enumerate(series):
            value = item.values[i]
            if value is None:
                continue
            height = Decimal(PLOT_H) * Decimal(value) / top
            style = item.look(j)
            bars.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}" '
                    'stroke-width="1.5"><title>{} · {}: {}</title></rect>',
                    _n(left + bar * j),
                    _n(TOP + PLOT_H - height),
                    _n(max(bar - 2, Decimal(1))),
                    _n(height),
                    style["fill"],
                    style["stroke"],
                    category,
                    item.label,
                    shown(value),
                )
            )
    content = (
        _legend(series, lines=False)
        + _axes(top, unit)
        + mark_safe("".join(bars))  # noqa: S308 - built from format_html parts
        + _x_labels(categories, centres)
    )
    return format_html(
        '<figure class="chart" id="{}">{}{}</figure>',
        chart_id,
        _frame(chart_id, title, _summary(categories, series), content),
        _table(title, category_label or _("Item"), categories, series),
    )


def line_chart(
    *,
    chart_id: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    category_label: str = "",
    unit: str = "",
) -> SafeString:
    """Plan against actual over the months: one line per series, a gap where a value is None."""
    top = _top(series)
    step = Decimal(PLOT_W) / max(len(categories), 1)
    xs = [LEFT + step * i + step / 2 for i in range(len(categories))]
    lines = []
    for j, item in enumerate(series):
        style = item.look(j)
        runs: list[list[str]] = [[]]
        marks = []
        for i, value in enumerate(item.values):
            if value is None:
                runs.append([])
                continue
            y = TOP + PLOT_H - Decimal(PLOT_H) * Decimal(value) / top
            runs[-1].append(f"{_n(xs[i])},{_n(y)}")
            marks.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="3.5" fill="{}"><title>{} · {}: {}</title></circle>',
                    _n(xs[i]),
                    _n(y),
                    style["stroke"],
                    categories[i],
                    item.label,
                    shown(value),
                )
            )
        for run in runs:
            if run:
                lines.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" '
                        'stroke-dasharray="{}"/>',
                        " ".join(run),
                        style["stroke"],
                        style["dash"],
                    )
                )
        lines.extend(marks)
    content = (
        _legend(series, lines=True)
        + _axes(top, unit)
        + mark_safe("".join(lines))  # noqa: S308 - built from format_html parts
        + _x_labels(categories, xs)
    )
    return format_html(
        '<figure class="chart" id="{}">{}{}</figure>',
        chart_id,
        _frame(chart_id, title, _summary(categories, series), content),
        _table(title, category_label or _("Month"), categories, series),
    )


RING_SIZE, RING_RADIUS, RING_WIDTH = 140, 52, 14
# The circumference 2πr to four decimals: the arc is a dash of its share of it.
RING_CIRCUMFERENCE = Decimal("326.7256")


def progress_ring(
    *, chart_id: str, title: str, actual: Number, target: Number, unit: str = ""
) -> SafeString:
    """How far the actual has come towards the target, as a ring and a per cent."""
    share = percent(actual, target)
    drawn = min(share, Decimal(100)) if share is not None else Decimal(0)
    arc = RING_CIRCUMFERENCE * drawn / 100
    centre = RING_SIZE // 2
    label = f"{shown(share)}%" if share is not None else "—"
    summary = _("%(actual)s of %(target)s%(unit)s") % {
        "actual": shown(actual),
        "target": shown(target),
        "unit": f" {unit}" if unit else "",
    }
    svg = format_html(
        '<svg class="chart-ring" viewBox="0 0 {} {}" width="{}" height="{}" role="img" '
        'aria-label="{}: {}" aria-describedby="{}-desc" xmlns="http://www.w3.org/2000/svg" '
        'font-family="system-ui, sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        '<circle cx="{}" cy="{}" r="{}" fill="none" stroke="#e3e7ec" stroke-width="{}"/>'
        '<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{}" stroke-width="{}" '
        'stroke-dasharray="{} {}" transform="rotate(-90 {} {})"/>'
        '<text x="{}" y="{}" text-anchor="middle" font-size="22" font-weight="600" '
        'fill="#222">{}</text></svg>',
        RING_SIZE,
        RING_SIZE,
        RING_SIZE,
        RING_SIZE,
        title,
        label,
        chart_id,
        chart_id,
        title,
        chart_id,
        summary,
        centre,
        centre,
        RING_RADIUS,
        RING_WIDTH,
        centre,
        centre,
        RING_RADIUS,
        STYLES[1]["stroke"],
        RING_WIDTH,
        _n(arc),
        _n(RING_CIRCUMFERENCE),
        centre,
        centre,
        centre,
        centre + 8,
        label,
    )
    table = format_html(
        '<table class="chart-data"><caption>{}</caption><tbody>'
        '<tr><th scope="row">{}</th><td class="num">{}</td></tr>'
        '<tr><th scope="row">{}</th><td class="num">{}</td></tr>'
        '<tr><th scope="row">{}</th><td class="num">{}</td></tr></tbody></table>',
        title,
        _("Target"),
        shown(target),
        _("Actual"),
        shown(actual),
        _("Progress"),
        label,
    )
    return format_html('<figure class="chart ring" id="{}">{}{}</figure>', chart_id, svg, table)


# --- the charts of each plan's dashboard ----------------------------------------------


def plan_charts(figures: PlanFigures) -> list[SafeString]:
    """The charts of one plan against reality, each with its table of numbers."""
    plan, actual = _("Plan"), _("Actual")
    year = figures.year
    base = f"chart-{figures.kind}"
    if figures.kind == PlanKind.APPLICATION:
        rows = [r for r in figures.rows if r.measure == "applications"]
        return [
            bar_chart(
                chart_id=f"{base}-channels",
                title=_("Applications by channel, %(year)s") % {"year": year},
                categories=[r.label for r in rows],
                series=[
                    Series(plan, [r.target for r in rows]),
                    Series(actual, [r.actual for r in rows]),
                ],
                category_label=_("Channel"),
                unit=_("applications"),
            )
        ]
    if figures.kind == PlanKind.COST:
        months = figures.by_month("cost")
        vendors = [r for r in figures.rows if r.measure == "cost" and r.month is None]
        fees = figures.total("fee_income")
        charts = [
            line_chart(
                chart_id=f"{base}-months",
                title=_("Production cost so far against the budget, %(year)s") % {"year": year},
                categories=[r.label for r in months],
                series=[
                    Series(_("Budget, pro rata"), [r.target for r in months]),
                    Series(actual, [r.actual for r in months]),
                ],
                unit=_("CNY"),
            ),
            bar_chart(
                chart_id=f"{base}-vendors",
                title=_("Production cost by vendor, %(year)s") % {"year": year},
                categories=[r.label for r in vendors],
                series=[Series(actual, [r.actual for r in vendors], style=1)],
                category_label=_("Vendor"),
                unit=_("CNY"),
            ),
        ]
        if fees is not None:
            charts.append(
                progress_ring(
                    chart_id=f"{base}-fees",
                    title=_("Fee income against the expected"),
                    actual=fees.actual,
                    target=fees.target,
                    unit=_("CNY"),
                )
            )
        return charts
    if figures.kind == PlanKind.COLLECTION:
        months = figures.by_month("collected")
        total = figures.total("collected")
        charts = [
            line_chart(
                chart_id=f"{base}-months",
                title=_("Persons collected by the end of each month, %(year)s") % {"year": year},
                categories=[r.label for r in months],
                series=[
                    Series(plan, [r.target for r in months]),
                    Series(actual, [r.actual for r in months]),
                ],
                unit=_("persons"),
            )
        ]
        if total is not None:
            charts.append(
                progress_ring(
                    chart_id=f"{base}-total",
                    title=_("Target population collected"),
                    actual=total.actual,
                    target=total.target,
                    unit=_("persons"),
                )
            )
        return charts
    months = figures.by_month("handed_over")
    outlets = [r for r in figures.totals if r.measure == "handed_over" and r.key]
    return [
        bar_chart(
            chart_id=f"{base}-months",
            title=_("Cards handed over by month, all outlets, %(year)s") % {"year": year},
            categories=[f"{r.month}" for r in months],
            series=[
                Series(plan, [r.target for r in months]),
                Series(actual, [r.actual for r in months]),
            ],
            category_label=_("Month"),
            unit=_("cards"),
        ),
        bar_chart(
            chart_id=f"{base}-outlets",
            title=_("Cards handed over by outlet, %(year)s") % {"year": year},
            categories=[r.label for r in outlets],
            series=[
                Series(plan, [r.target for r in outlets]),
                Series(actual, [r.actual for r in outlets]),
            ],
            category_label=_("Outlet"),
            unit=_("cards"),
        ),
    ]
