"""The `newsbot` command line: above bot/ (the core) and handlers/ (Telegram)."""
