"""What the tests and the benchmarks share: the Bot API emulator, real servers, fake websites,
the log scanner. Never imports a test module."""
