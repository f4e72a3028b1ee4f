"""The running newsbot: the one place its services are assembled (the conversation log, reader
state, update claims, the conversation, the search threads, the folder watch and the feed
poller), for Telegram (handlers/app.py), the terminal chat and the command line alike.

May import: bot (the base modules), bot.collection, bot.retrieval, bot.serving, bot.storage,
bot.conversation, bot.semantic, bot.language, bot.i18n.
"""
