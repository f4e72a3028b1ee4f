"""The conversation: questions and answer pages, votes, inline results, /forget, the command
table, every reply's wording, the HTML readers see, and the newsroom's report.

May import: every other package of bot/."""
