"""Persistence: SQLAlchemy Core tables, the engine, and set-based statements."""
