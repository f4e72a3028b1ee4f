"""The lexical index: postings, exact BM25Plus scores, MaxScore, and the indexes built from
passages and articles.

May import: the core modules in bot/ (text, articles, memory). Nothing above."""
