"""Use cases: each takes a connection, the time and the rules, and returns plain results."""
