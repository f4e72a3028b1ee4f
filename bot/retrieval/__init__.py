"""Retrieval as stages: the question read as a query, the raw ranking, evidence, the rerank
and the decision, and the Answer they make; `newsbot eval` measures them.

May import: bot (the base modules), bot.lexical, bot.semantic, bot.language."""
