"""The articles folder as a saved collection: the manifest, segments, the parsed articles stored
beside them, snapshots brought up to date, and the index cache.

May import: bot (the base modules), bot.lexical, bot.language."""
