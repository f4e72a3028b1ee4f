"""What the bot serves, kept current: editions of the collection swapped whole, /reload and
the folder watch, the feed poller.

May import: bot (the base modules), bot.lexical, bot.collection, bot.retrieval, bot.ingest,
bot.semantic, bot.language, bot.i18n."""
