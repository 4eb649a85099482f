"""Technical support: a person describes a problem, attaches screenshots, gets an answer.

Seed 001: requests are answered within 1–5 working days. The answer-by date is counted on
the Kazakh working calendar from the local date of the request.

The requester proves a ticket is theirs with the secret shown once when it was opened, or
with their IIN; neither is stored in clear (SHA-256, the IIN salted with the ticket number).
Screenshots are accepted only when their first bytes say PNG, JPEG, GIF or WebP (the file
name and the browser's content type are not trusted), up to a size limit, and are written
under random names in a directory outside the web root; staff read them through the console.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from tizim.domain.rules import Rules
from tizim.domain.working_days import WorkingCalendar
from tizim.storage.tables_portal import support_attachments, support_replies, support_tickets

REQUESTER = "requester"
_NUMBER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),  # RIFF....WEBP
)


class SupportProblem(ValueError):
    """A request the form must show again with a message next to `field` (`code` = message key)."""

    def __init__(self, code: str, field: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.code = code
        self.field = field
        self.params = params


@dataclass(frozen=True)
class SupportPolicy:
    upload_dir: Path
    max_attachment_bytes: int
    max_attachments: int
    answer_working_days: int
    calendar: WorkingCalendar
    rules: Rules


@dataclass(frozen=True)
class Upload:
    file_name: str
    data: bytes


@dataclass(frozen=True)
class OpenedTicket:
    number: str
    secret: str
    answer_by: datetime


@dataclass(frozen=True)
class Reply:
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class Attachment:
    id: int
    original_name: str
    content_type: str
    size_bytes: int
    stored_name: str


@dataclass(frozen=True)
class Ticket:
    number: str
    subject: str
    description: str
    contact: str | None
    language: str
    status: str
    created_at: datetime
    answer_by: datetime
    replies: tuple[Reply, ...]
    attachments: tuple[Attachment, ...]


def image_type(data: bytes) -> str | None:
    """The image content type the first bytes prove, or None when they prove nothing."""
    for signature, offset, content_type in IMAGE_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            if content_type == "image/webp" and not data.startswith(b"RIFF"):
                continue
            return content_type
    return None


def open_ticket(
    conn: Connection,
    *,
    subject: str,
    description: str,
    contact: str,
    iin: str,
    language: str,
    uploads: list[Upload],
    now: datetime,
    policy: SupportPolicy,
) -> OpenedTicket:
    subject, description, contact, iin = (
        subject.strip(),
        description.strip(),
        contact.strip(),
        re.sub(r"[\s-]", "", iin),
    )
    if not subject:
        raise SupportProblem("support.error.subject_required", "subject")
    if len(description) < 10:
        raise SupportProblem("support.error.description_short", "description")
    if iin and not re.fullmatch(r"\d{12}", iin):
        raise SupportProblem("support.error.iin_format", "iin")
    uploads = [upload for upload in uploads if upload.data]
    if len(uploads) > policy.max_attachments:
        raise SupportProblem("support.error.too_many", "attachments", count=policy.max_attachments)
    typed = []
    for upload in uploads:
        if len(upload.data) > policy.max_attachment_bytes:
            raise SupportProblem(
                "support.error.too_large",
                "attachments",
                name=upload.file_name,
                megabytes=f"{policy.max_attachment_bytes / 1_000_000:g}",
            )
        content_type = image_type(upload.data)
        if content_type is None:
            raise SupportProblem("support.error.not_image", "attachments", name=upload.file_name)
        typed.append((upload, content_type))
    number = _new_number(conn)
    secret = secrets.token_urlsafe(12)
    answer_day = policy.calendar.add_working_days(
        policy.rules.local_date(now), policy.answer_working_days
    )
    answer_by = policy.rules.local_midnight(answer_day)
    ticket_id = conn.execute(
        insert(support_tickets)
        .values(
            number=number,
            secret_sha256=_sha256(secret),
            iin_sha256=_iin_digest(number, iin) if iin else None,
            contact=contact[:200] or None,
            language=language,
            subject=subject[:200],
            description=description[:10_000],
            status="open",
            created_at=now,
            answer_by=answer_by,
        )
        .returning(support_tickets.c.id)
    ).scalar_one()
    for upload, content_type in typed:
        _store_attachment(conn, ticket_id, upload, content_type, now, policy.upload_dir)
    return OpenedTicket(number, secret, answer_by)


def ticket_for_requester(
    conn: Connection, *, number: str, secret: str = "", iin: str = ""
) -> Ticket | None:
    """The ticket when the secret or the IIN matches; None for any mismatch (no oracle)."""
    row = _row(conn, number)
    if row is None:
        return None
    iin = re.sub(r"[\s-]", "", iin)
    by_secret = bool(secret) and hmac.compare_digest(row.secret_sha256, _sha256(secret.strip()))
    by_iin = bool(iin and row.iin_sha256) and hmac.compare_digest(
        row.iin_sha256, _iin_digest(row.number, iin)
    )
    return _ticket(conn, row) if by_secret or by_iin else None


def ticket_for_staff(conn: Connection, number: str) -> Ticket | None:
    row = _row(conn, number)
    return _ticket(conn, row) if row is not None else None


def list_tickets(conn: Connection, *, status: str | None = None, limit: int = 200) -> list[Ticket]:
    query = select(support_tickets).order_by(support_tickets.c.answer_by, support_tickets.c.id)
    if status:
        query = query.where(support_tickets.c.status == status)
    return [_ticket(conn, row, with_details=False) for row in conn.execute(query.limit(limit))]


def reply_to_ticket(
    conn: Connection, *, number: str, author: str, body: str, now: datetime
) -> None:
    body = body.strip()
    if not body:
        raise SupportProblem("support.error.reply_required", "body")
    row = _row(conn, number)
    if row is None:
        raise SupportProblem("support.error.no_ticket", "number")
    conn.execute(
        insert(support_replies).values(ticket_id=row.id, author=author, body=body, created_at=now)
    )
    if author != REQUESTER:
        conn.execute(
            update(support_tickets)
            .where(support_tickets.c.id == row.id)
            .values(
                status="answered", answered_at=func.coalesce(support_tickets.c.answered_at, now)
            )
        )


def attachment_file(
    conn: Connection, *, number: str, attachment_id: int, policy: SupportPolicy
) -> tuple[Path, str] | None:
    """The stored file and its content type, for staff; None when not this ticket's."""
    row = conn.execute(
        select(support_attachments.c.stored_name, support_attachments.c.content_type)
        .join(support_tickets, support_tickets.c.id == support_attachments.c.ticket_id)
        .where(support_tickets.c.number == number, support_attachments.c.id == attachment_id)
    ).first()
    if row is None:
        return None
    return policy.upload_dir / row.stored_name, row.content_type


def _store_attachment(
    conn: Connection,
    ticket_id: int,
    upload: Upload,
    content_type: str,
    now: datetime,
    upload_dir: Path,
) -> None:
    stored_name = secrets.token_hex(16)  # never the user's name: no path tricks, no guessing
    upload_dir.mkdir(parents=True, exist_ok=True)
    (upload_dir / stored_name).write_bytes(upload.data)
    conn.execute(
        insert(support_attachments).values(
            ticket_id=ticket_id,
            stored_name=stored_name,
            original_name=Path(upload.file_name.replace("\\", "/")).name[:255] or "image",
            content_type=content_type,
            size_bytes=len(upload.data),
            sha256=_sha256_bytes(upload.data),
            created_at=now,
        )
    )


def _new_number(conn: Connection) -> str:
    while True:
        number = "S-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(8))
        if _row(conn, number) is None:
            return number


def _row(conn: Connection, number: str) -> Row[Any] | None:
    return conn.execute(
        select(support_tickets).where(support_tickets.c.number == number.strip().upper())
    ).first()


def _ticket(conn: Connection, r: Row[Any], *, with_details: bool = True) -> Ticket:
    replies: tuple[Reply, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    if with_details:
        replies = tuple(
            Reply(x.author, x.body, x.created_at)
            for x in conn.execute(
                select(support_replies)
                .where(support_replies.c.ticket_id == r.id)
                .order_by(support_replies.c.created_at, support_replies.c.id)
            )
        )
        attachments = tuple(
            Attachment(x.id, x.original_name, x.content_type, x.size_bytes, x.stored_name)
            for x in conn.execute(
                select(support_attachments)
                .where(support_attachments.c.ticket_id == r.id)
                .order_by(support_attachments.c.id)
            )
        )
    return Ticket(
        r.number,
        r.subject,
        r.description,
        r.contact,
        r.language,
        r.status,
        r.created_at,
        r.answer_by,
        replies,
        attachments,
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iin_digest(number: str, iin: str) -> str:
    return _sha256(f"{number}:{iin}")
