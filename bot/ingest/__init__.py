"""Articles from the web: fetching politely, page extraction, feeds, and the files an import
writes into the articles folder.

May import: bot (the base modules)."""
