"""The newsroom's report: /stats in Telegram, `newsbot stats` in the terminal, and its chart."""

from __future__ import annotations

import io
from collections.abc import Mapping

from bot.markup import MESSAGE_LIMIT, esc, shorten, tg_len
from bot.storage import LogStats

QUESTION_CHARS = 80


def _share(pair: tuple[int, int]) -> str:
    questions, answered = pair
    return f"{answered / questions:.0%}" if questions else "–"


def _votes(stats: LogStats) -> str:
    total = stats.votes_up + stats.votes_down
    if not total:
        return "no votes yet"
    return f"{stats.votes_up} 👍 / {stats.votes_down} 👎 ({stats.votes_up / total:.0%} helpful)"


def stats_html(stats: LogStats, titles: Mapping[str, str], semantic: str | None = None) -> str:
    """The report as one Telegram HTML message; `semantic`: how far the semantic stage is."""
    lines = ["<b>Questions</b> (answered)"]
    for label, pair in (
        ("Today", stats.today),
        ("7 days", stats.week),
        ("All time", stats.all_time),
    ):
        lines.append(f"{label}: {pair[0]} ({_share(pair)})")
    lines.append(f"Readers: {stats.readers} · inline searches: {stats.inline_queries}")
    lines.append(f"Feedback: {esc(_votes(stats))}")
    if semantic is not None:
        lines.append(f"Semantic stage: {esc(semantic)}")
    sections = (
        ("Top questions", stats.top_questions),
        ("Top unanswered — what the articles don't cover", stats.top_unanswered),
    )
    for heading, rows in sections:
        lines += ["", f"<b>{esc(heading)}</b>"]
        lines += [f"{n}× <i>{esc(shorten(q, QUESTION_CHARS))}</i>" for q, n in rows] or ["none"]
    lines += ["", "<b>Most cited articles</b>"]
    lines += [
        f"{n}× {esc(shorten(titles.get(a, a), QUESTION_CHARS))}" for a, n in stats.top_articles
    ] or ["none"]
    text = "\n".join(lines)
    while tg_len(text) > MESSAGE_LIMIT:  # only with very long questions: drop from the end
        lines.pop()
        text = "\n".join(lines)
    return text


def stats_text(stats: LogStats, titles: Mapping[str, str]) -> str:
    """The report as plain-text tables for the terminal."""
    out = [f"{'':<10}{'questions':>10}{'answered':>10}{'share':>8}"]
    for label, pair in (
        ("today", stats.today),
        ("7 days", stats.week),
        ("all time", stats.all_time),
    ):
        out.append(f"{label:<10}{pair[0]:>10}{pair[1]:>10}{_share(pair):>8}")
    out += ["", f"readers: {stats.readers}   inline searches: {stats.inline_queries}"]
    out.append(f"feedback: {_votes(stats)}")
    sections = (
        ("top questions", stats.top_questions),
        ("top unanswered questions", stats.top_unanswered),
        (
            "most cited articles",
            tuple((titles.get(a, a), n) for a, n in stats.top_articles),
        ),
    )
    for heading, rows in sections:
        out += ["", f"{'count':>6}  {heading}"]
        out += [f"{n:>6}  {shorten(q, 100)}" for q, n in rows] or ["     –  none"]
    return "\n".join(out)


def chart_png(stats: LogStats) -> bytes:
    """Questions per day (bars) and the share answered (line), as a PNG."""
    # Imported here: matplotlib takes a moment to import and only the chart needs it.
    from matplotlib.figure import Figure

    days = [d.day[5:] for d in stats.per_day]
    questions = [d.questions for d in stats.per_day]
    share = [
        d.answered / d.questions * 100 if d.questions else float("nan") for d in stats.per_day
    ]
    figure = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    ax = figure.add_subplot()
    x = list(range(len(days)))  # positions, labelled with the dates
    ax.bar(x, questions, color="#4C78A8", label="questions")
    ax.set_xticks(x, days)
    ax.set_ylabel("questions per day")
    ax.set_ylim(bottom=0, top=max([*questions, 1]) * 1.15)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    right = ax.twinx()
    right.plot(x, share, color="#F58518", marker="o", markersize=3, label="answered")
    right.set_ylim(0, 105)
    right.set_ylabel("answered (%)")
    ax.set_title(f"newsbot: questions per day and share answered, last {len(days)} days")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, ["questions", "answered (%)"], loc="upper left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
