"""newsbot's core, never importing telegram: the base modules here (config, logs, text,
articles, scan, markup, memory, loopwatch) and the packages by job beside them (language,
lexical, collection, retrieval, ingest, storage, serving, conversation, runtime).

May import: bot.language (below the base modules: the tokenizer reads other languages
through it), and otherwise only the standard library and the dependencies.
"""
