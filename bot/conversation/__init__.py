"""The conversation: questions and answer pages, votes, inline results, /forget, the command
table, every reply's wording, the HTML readers see, and the newsroom's report.

May import: bot (the base modules), bot.retrieval, bot.serving, bot.storage, bot.i18n."""
