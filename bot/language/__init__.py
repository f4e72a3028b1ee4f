"""Languages: which one a text is written in (detect.py), how each is read for search
(analysis.py: stop words, Snowball stemmer, folds) and German compounds (compounds.py). The
lowest layer of the core: the base tokenizer asks it for every language other than English.

May import: nothing of the project (the standard library and the dependencies only).
"""
