"""newsbot's core, never importing telegram: the base modules here (config, logs, text,
articles, scan, markup, memory, loopwatch) and the packages by job beside them (lexical,
collection, retrieval, ingest, storage, serving, conversation, runtime).

May import: none of the core's packages (only the standard library and the dependencies).
"""
