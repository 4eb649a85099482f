"""The rule book: pure, typed functions with no I/O, no clock reads, no web or database imports."""
