"""The newsroom's report: /stats in Telegram, `newsbot stats` in the terminal, and its chart."""

from __future__ import annotations

import io
from collections.abc import Mapping

from bot.i18n.catalogs import ENGLISH, Translator
from bot.markup import MESSAGE_LIMIT, esc, shorten, tg_len
from bot.storage import LogStats

QUESTION_CHARS = 80


def _share(pair: tuple[int, int], tr: Translator = ENGLISH) -> str:
    questions, answered = pair
    return tr.percent(answered / questions) if questions else "–"


def _votes(stats: LogStats, tr: Translator = ENGLISH) -> str:
    total = stats.votes_up + stats.votes_down
    if not total:
        return tr.gettext("no votes yet")
    line = tr.gettext("{up} 👍 / {down} 👎 ({share} helpful)")
    return line.format(
        up=stats.votes_up, down=stats.votes_down, share=tr.percent(stats.votes_up / total)
    )


def _bold(text: str) -> str:
    return f"<b>{esc(text)}</b>"


def stats_html(
    stats: LogStats,
    titles: Mapping[str, str],
    semantic: str | None = None,
    tr: Translator = ENGLISH,
) -> str:
    """The report as one Telegram HTML message; `semantic`: how far the semantic stage is."""
    _ = tr.gettext
    lines = [_bold(_("Questions")) + " (" + esc(_("answered")) + ")"]
    for label, pair in (
        (_("Today"), stats.today),
        (_("7 days"), stats.week),
        (_("All time"), stats.all_time),
    ):
        lines.append(f"{esc(label)}: {pair[0]} ({esc(_share(pair, tr))})")
    line = _("Readers: {readers} · inline searches: {inline}")
    lines.append(esc(line.format(readers=stats.readers, inline=stats.inline_queries)))
    lines.append(esc(_("Feedback: {votes}").format(votes=_votes(stats, tr))))
    if semantic is not None:
        lines.append(esc(_("Semantic stage: {status}").format(status=semantic)))
    none = esc(_("none"))
    sections = (
        (_("Top questions"), stats.top_questions),
        (_("Top unanswered — what the articles don't cover"), stats.top_unanswered),
    )
    for heading, rows in sections:
        lines += ["", _bold(heading)]
        lines += [f"{n}× <i>{esc(shorten(q, QUESTION_CHARS))}</i>" for q, n in rows] or [none]
    lines += ["", _bold(_("Most cited articles"))]
    lines += [
        f"{n}× {esc(shorten(titles.get(a, a), QUESTION_CHARS))}" for a, n in stats.top_articles
    ] or [none]
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


def chart_png(stats: LogStats, tr: Translator = ENGLISH) -> bytes:
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
    ax.set_ylabel(tr.gettext("questions per day"))
    ax.set_ylim(bottom=0, top=max([*questions, 1]) * 1.15)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    right = ax.twinx()
    right.plot(x, share, color="#F58518", marker="o", markersize=3, label="answered")
    right.set_ylim(0, 105)
    right.set_ylabel(tr.gettext("answered (%)"))
    title = tr.gettext("newsbot: questions per day and share answered, last {days} days")
    ax.set_title(title.format(days=len(days)))
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles, [tr.gettext("questions"), tr.gettext("answered (%)")], loc="upper left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
