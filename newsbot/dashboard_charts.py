"""The dashboard page's charts, drawn by matplotlib as inline SVG (no script, nothing fetched).

Each chart is a matplotlib Figure saved as SVG with text kept as text (svg.fonttype none) and
ids that do not change from one render to the next (svg.hashsalt); the page embeds the
`<svg class="chart">` element, the XML prolog, DOCTYPE and metadata stripped. Every id is
prefixed with the chart's name, as the four charts share the page's ids. Each drawn bar is a
`<g class="bar">` with a `<title>` (its label, value and series: the browser shows it on
hover). matplotlib is imported on the first chart only: it takes a moment to import.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# (name, colour, one value per label; None: nothing that day)
Series = tuple[str, str, Sequence[float | None]]
# The size on the page (pixels at 100 dpi), the margins of the plot within it.
WIDTH, HEIGHT, DPI = 560, 260, 100
LEFT, RIGHT, TOP, BOTTOM = 48, 10, 34, 30
_ID = re.compile(r'(\bid="|url\(#|href="#)')
_BAR = re.compile(r'<g id="([\w-]+-bar-\d+-\d+)">')


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """Stacked bars, one per label (dates: every few labelled); bars of 0 are not drawn."""
    titles: dict[str, str] = {}
    with _style():
        figure, ax = _figure(HEIGHT)
        base = [0.0] * len(labels)
        for s, (name, colour, values) in enumerate(series):
            shown = [i for i, v in enumerate(values) if v]
            heights = [float(values[i] or 0) for i in shown]
            bars = ax.bar(
                shown, heights, bottom=[base[i] for i in shown], color=colour, label=name,
                width=0.85,
            )  # fmt: skip
            for i, bar in zip(shown, bars, strict=True):
                bar.set_gid(f"bar-{s}-{i}")
                titles[f"bar-{s}-{i}"] = f"{labels[i]}: {values[i]} {name}"
                base[i] += float(values[i] or 0)
        _axes(ax, title, labels, series, top=max([*base, 1.0]) * 1.05)
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _svg(figure, title, titles)


def hbar_chart(
    title: str, labels: Sequence[str], name: str, colour: str, values: Sequence[int]
) -> str:
    """One horizontal bar per label, the first on top, the value at its end."""
    rows, left, right = max(len(labels), 1), 200, 50
    titles: dict[str, str] = {}
    with _style():
        figure, ax = _figure(TOP + 22 * rows + 10, left=left, right=right, bottom=10)
        y = list(range(len(labels)))
        bars = ax.barh(y, values, height=0.72, color=colour, label=name)
        for i, bar in enumerate(bars):
            bar.set_gid(f"bar-0-{i}")
            titles[f"bar-0-{i}"] = f"{labels[i]}: {values[i]} {name}"
        ax.bar_label(bars, padding=3, fontsize=8)
        ax.set_yticks(y, [label if len(label) <= 30 else label[:29] + "…" for label in labels])
        ax.set_ylim(rows - 0.5, -0.5)
        ax.set_xlim(0, max([*values, 1]))
        # The title from the figure's left edge, over the labels: no value axis, the values
        # are at the bars' ends.
        ax.set_title(title, loc="left", x=-(left - 10) / (WIDTH - left - right), pad=8)
        _legend(ax, 1)
        ax.tick_params(axis="y", length=0, labelsize=8)
        ax.xaxis.set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        if not labels:
            ax.text(0, 0, "no passage cited yet", va="center", fontsize=9)
            ax.set_yticks([])
        return _svg(figure, title, titles)


def line_chart(
    title: str, labels: Sequence[str], series: Sequence[Series], top: float | None = None
) -> str:
    """Lines over the labels, a dot on each value; a missing one (a day without questions)
    breaks the line."""
    found = [v for s in series for v in s[2] if v is not None]
    with _style():
        figure, ax = _figure(HEIGHT)
        for name, colour, values in series:
            ys = [float("nan") if v is None else float(v) for v in values]
            ax.plot(range(len(labels)), ys, color=colour, label=name, linewidth=1.6,
                    marker="o", markersize=3)  # fmt: skip
        _axes(ax, title, labels, series, top=top if top is not None else max([*found, 1.0]) * 1.1)
        return _svg(figure, title, {})


@contextmanager
def _style() -> Iterator[None]:
    # Imported here: matplotlib takes a moment to import and only the charts need it.
    import matplotlib

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text as <text>, in the page's fonts
            "svg.hashsalt": "newsbot-dashboard",  # the same ids on every render
            "font.family": "sans-serif",
            "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans", "Liberation Sans"],
            "font.size": 7.5,
            "axes.titlesize": 10,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#888",
            "xtick.color": "#444",
            "ytick.color": "#444",
            "grid.color": "#ddd",
            "legend.fontsize": 8,
        }
    ):
        yield


def _figure(
    height: int, left: int = LEFT, right: int = RIGHT, bottom: int = BOTTOM
) -> tuple[Figure, Axes]:
    """A figure of WIDTH x `height` pixels, its plot `left`, `right`, TOP and `bottom` pixels
    in from the edges (fixed margins: no layout pass to pay for)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / DPI, height / DPI), dpi=DPI)
    figure.subplots_adjust(
        left=left / WIDTH, right=1 - right / WIDTH, top=1 - TOP / height, bottom=bottom / height
    )
    return figure, figure.add_subplot()


def _axes(
    ax: Axes, title: str, labels: Sequence[str], series: Sequence[Series], top: float
) -> None:
    """The title on the left above the plot, the legend on the right, a date every few days,
    the value axis from 0 with light grid lines."""
    ax.set_title(title, loc="left", pad=8)
    _legend(ax, len(series))
    step = max(len(labels) // 8, 1)
    ax.set_xticks(range(0, len(labels), step), labels[::step])
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(0, top)
    ax.grid(axis="y")
    ax.set_axisbelow(True)


def _svg(figure: Figure, title: str, titles: dict[str, str]) -> str:
    """The figure as an `<svg class="chart">` element to embed in the page."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    prefix = re.sub(r"\W+", "-", title.lower()).strip("-")
    svg = _ID.sub(rf"\1{prefix}-", svg)
    svg = _BAR.sub(
        lambda m: (
            f'<g id="{m[1]}" class="bar"><title>'
            f"{html.escape(titles[m[1].removeprefix(prefix + '-')])}</title>"
        ),
        svg,
    )
    label = html.escape(title)
    return svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{label}" ', 1)


def _legend(ax: Axes, columns: int) -> None:
    """The legend in one row above the plot's right end."""
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=columns, frameon=False,
              borderaxespad=0.2, handlelength=1, handleheight=1, columnspacing=1.2)  # fmt: skip
