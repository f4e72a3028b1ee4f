"""The newsroom's questions to the log: the dashboard's named queries (`newsbot dashboard`).

Each is served by name (`/newsbot/unanswered.json`) and charted on the dashboard page. They
read SQLite (datasette serves only SQLite: a PostgreSQL log is served from a snapshot that
`newsbot export --format sqlite` writes) and return counts, questions and article ids only:
no column holds a reader's id or name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.storage.reports import QUESTION
from bot.storage.reports import QUESTIONS as ASKED


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    title: str
    description: str
    sql: str


UNANSWERED = Query(
    "unanswered",
    "Unanswered questions",
    "The questions the articles did not answer, most asked first: the editorial to-do list. "
    "Each question links to the passages that were shown for it.",
    f"SELECT max({QUESTION}) AS question, count(*) AS times, "
    f"max(m.received_at) AS last_asked {ASKED} AND r.answered = 0 "
    f"GROUP BY lower({QUESTION}) ORDER BY times DESC, last_asked DESC LIMIT 200",
)
DAILY = Query(
    "daily",
    "Questions per day",
    "Questions per day (UTC) and the share the articles answered, the latest day first.",
    "SELECT substr(m.received_at, 1, 10) AS day, count(*) AS questions, "
    "COALESCE(sum(r.answered), 0) AS answered, "
    "round(100.0 * COALESCE(sum(r.answered), 0) / count(*), 1) AS answered_pct "
    f"{ASKED} GROUP BY day ORDER BY day DESC",
)
# A vote rates a reply; it counts for the reply's first passage (the one in bold on top) and
# its article. Rows with `paragraph` NULL are an article's totals.
FEEDBACK = Query(
    "feedback",
    "Feedback per article and passage",
    "👍/👎 per article (paragraph empty) and per passage: a vote counts for the reply's "
    "first passage.",
    "WITH votes AS (SELECT h.article_id, h.paragraph, f.vote FROM feedback f "
    "JOIN replies r ON r.bot_message_id = f.message_id "
    "JOIN messages m ON m.id = r.message_id AND m.chat_id = f.chat_id "
    "JOIN hits h ON h.reply_id = r.id AND h.rank = 1) "
    "SELECT article_id, NULL AS paragraph, sum(vote > 0) AS up, sum(vote < 0) AS down "
    "FROM votes GROUP BY article_id "
    "UNION ALL SELECT article_id, paragraph, sum(vote > 0), sum(vote < 0) "
    "FROM votes GROUP BY article_id, paragraph "
    "ORDER BY article_id, paragraph NULLS FIRST",
)
ARTICLES = Query(
    "articles",
    "Most cited articles",
    "The articles whose passages replies showed most (all pages), and how often one was "
    "the first passage.",
    "SELECT article_id, count(*) AS cited, sum(rank = 1) AS first_passage, "
    "count(DISTINCT reply_id) AS replies FROM hits "
    "GROUP BY article_id ORDER BY cited DESC, article_id LIMIT 100",
)
# Nearest-rank percentiles: the smallest latency with at least p of the day's at or below it.
LATENCY = Query(
    "latency",
    "Answer time per day",
    "Milliseconds from a question to its reply, p50 and p95 (nearest rank), per day (UTC).",
    "WITH t AS (SELECT substr(m.received_at, 1, 10) AS day, r.latency_ms AS ms, "
    "row_number() OVER (PARTITION BY substr(m.received_at, 1, 10) ORDER BY r.latency_ms) "
    "AS k, count(*) OVER (PARTITION BY substr(m.received_at, 1, 10)) AS n "
    f"{ASKED}) "
    "SELECT day, max(n) AS questions, round(min(CASE WHEN k >= 0.5 * n THEN ms END), 1) "
    "AS p50_ms, round(min(CASE WHEN k >= 0.95 * n THEN ms END), 1) AS p95_ms, "
    "round(max(ms), 1) AS max_ms FROM t GROUP BY day ORDER BY day DESC",
)
PASSAGES = Query(
    "passages",
    "Passages shown for a question",
    "The passages replies showed for one question (as readers wrote it, any case).",
    "SELECT h.article_id, h.paragraph, count(*) AS times_shown, min(h.rank) AS best_rank, "
    "round(max(h.score), 2) AS best_score, max(r.sent_at) AS last_shown "
    "FROM messages m JOIN replies r ON r.message_id = m.id JOIN hits h ON h.reply_id = r.id "
    f"WHERE m.kind = 'question' AND lower({QUESTION}) = lower(:question) "
    "GROUP BY h.article_id, h.paragraph "
    "ORDER BY best_rank, times_shown DESC",
)

QUERIES = (UNANSWERED, DAILY, FEEDBACK, ARTICLES, LATENCY, PASSAGES)
