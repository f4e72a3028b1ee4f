"""The bot's own words in the reader's language: the gettext catalogs (Babel), a `Translator`
per language, and which language a reply is in (the reader's Telegram language, then the
question's, then English). Article text and readers' words are never translated.

May import: bot (the base modules), bot.language (a language tag read as a code)."""
