"""Web portal tables (issue 7): staff accounts, their sessions, support tickets.

Support tickets never store an IIN in clear: only a salted SHA-256 of it, enough to let the
requester prove it is their ticket and nothing more.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from tizim.storage.schema import metadata
from tizim.storage.types import BigId, UtcDateTime

staff_users = Table(
    "staff_users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id, PHC string
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),
)

staff_sessions = Table(
    "staff_sessions",
    metadata,
    # SHA-256 of the cookie value: a stolen database row cannot be replayed as a cookie.
    Column("token_sha256", String(64), primary_key=True),
    Column("username", String(64), ForeignKey("staff_users.username"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_staff_sessions_username", "username"),
)

support_tickets = Table(
    "support_tickets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("iin_sha256", String(64)),
    Column("contact", String(200)),
    Column("language", String(2), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("answer_by", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime),
    Index("ix_support_tickets_status_created_at", "status", "created_at"),
)

support_attachments = Table(
    "support_attachments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("support_tickets.id"), nullable=False),
    Column("stored_name", String(64), nullable=False, unique=True),
    Column("original_name", String(255), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_support_attachments_ticket_id", "ticket_id"),
)

support_replies = Table(
    "support_replies",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("support_tickets.id"), nullable=False),
    Column("author", String(64), nullable=False),  # a staff username, or "requester"
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_support_replies_ticket_id", "ticket_id"),
)
