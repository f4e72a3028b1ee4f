"""The lexical index: postings, exact BM25Plus scores, MaxScore, and the indexes built from
passages and articles.

May import: bot (the base modules)."""
