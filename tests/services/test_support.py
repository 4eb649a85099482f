"""Support tickets: answer-by on the working calendar, image-only attachments, who sees what."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tizim.config import Settings
from tizim.runtime import Runtime
from tizim.services.support import (
    SupportPolicy,
    SupportProblem,
    Upload,
    attachment_file,
    image_type,
    list_tickets,
    open_ticket,
    reply_to_ticket,
    ticket_for_requester,
    ticket_for_staff,
)

ALMATY = ZoneInfo("Asia/Almaty")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
IIN = "900101300017"


def _policy(tmp_path: Path, **changes: object) -> SupportPolicy:
    settings = Settings()
    values: dict[str, object] = {
        "upload_dir": tmp_path / "support-files",
        "max_attachment_bytes": 1000,
        "max_attachments": 2,
        "answer_working_days": 5,
        "calendar": settings.working_calendar,
        "rules": settings.rules,
    }
    values.update(changes)
    return SupportPolicy(**values)  # type: ignore[arg-type]


def _open(registry: Runtime, policy: SupportPolicy, now: datetime, **changes: object):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = {
        "subject": "Cannot verify",
        "description": "The form says my declaration is not found.",
        "contact": "+7 701 000 00 00",
        "iin": IIN,
        "language": "ru",
        "uploads": [Upload("screen.png", PNG)],
    }
    fields.update(changes)
    with registry.transaction() as conn:
        return open_ticket(conn, now=now, policy=policy, **fields)  # type: ignore[arg-type]


def test_a_ticket_is_answered_within_five_working_days(registry: Runtime, tmp_path: Path) -> None:
    # Friday 12 December 2025, evening: weekend, then Independence Day on Tuesday 16 December.
    opened = _open(registry, _policy(tmp_path), datetime(2025, 12, 12, 20, tzinfo=ALMATY))
    assert opened.answer_by.astimezone(ALMATY).date().isoformat() == "2025-12-22"
    assert opened.number.startswith("S-") and len(opened.number) == 10


def test_the_requester_sees_staff_replies_with_the_secret_or_the_iin(
    registry: Runtime, tmp_path: Path
) -> None:
    policy = _policy(tmp_path)
    opened = _open(registry, policy, datetime(2025, 11, 20, 10, tzinfo=ALMATY))
    with registry.transaction() as conn:
        reply_to_ticket(
            conn,
            number=opened.number,
            author="aigerim",
            body="Declaration found, please retry.",
            now=datetime(2025, 11, 21, 10, tzinfo=ALMATY),
        )
        by_secret = ticket_for_requester(conn, number=opened.number, secret=opened.secret)
        by_iin = ticket_for_requester(conn, number=opened.number.lower(), iin="900101 300017")
        assert ticket_for_requester(conn, number=opened.number, secret="guess") is None
        assert ticket_for_requester(conn, number=opened.number, iin="900101300018") is None
        assert ticket_for_requester(conn, number=opened.number) is None
        assert [t.number for t in list_tickets(conn, status="answered")] == [opened.number]
    assert by_secret is not None and by_iin is not None
    assert by_secret.status == "answered"
    assert [(r.author, r.body) for r in by_secret.replies] == [
        ("aigerim", "Declaration found, please retry.")
    ]


def test_attachments_are_stored_under_random_names_outside_the_web_root(
    registry: Runtime, tmp_path: Path
) -> None:
    policy = _policy(tmp_path)
    opened = _open(
        registry,
        policy,
        datetime(2025, 11, 20, 10, tzinfo=ALMATY),
        uploads=[Upload("../../etc/passwd.png", PNG), Upload("photo.jpg", JPEG)],
    )
    with registry.transaction() as conn:
        ticket = ticket_for_staff(conn, opened.number)
        assert ticket is not None
        names = [a.original_name for a in ticket.attachments]
        found = attachment_file(
            conn, number=opened.number, attachment_id=ticket.attachments[1].id, policy=policy
        )
        assert attachment_file(conn, number="S-NOTTHERE", attachment_id=1, policy=policy) is None
    assert names == ["passwd.png", "photo.jpg"]
    assert found is not None and found[1] == "image/jpeg" and found[0].read_bytes() == JPEG
    stored = sorted(p.name for p in policy.upload_dir.iterdir())
    assert len(stored) == 2 and all(len(name) == 32 and "." not in name for name in stored)


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        (
            {"uploads": [Upload("fake.png", b"<script>alert(1)</script>")]},
            "not_image",
            "attachments",
        ),
        ({"uploads": [Upload("big.png", PNG + b"\x00" * 1000)]}, "too_large", "attachments"),
        ({"uploads": [Upload("a.png", PNG)] * 3}, "too_many", "attachments"),
        ({"description": "help"}, "description_short", "description"),
        ({"subject": "  "}, "subject_required", "subject"),
        ({"iin": "12345"}, "iin_format", "iin"),
    ],
)
def test_bad_requests_name_the_field(
    registry: Runtime, tmp_path: Path, changes: dict[str, object], code: str, field: str
) -> None:
    policy = _policy(tmp_path)
    with pytest.raises(SupportProblem) as raised:
        _open(registry, policy, datetime(2025, 11, 20, tzinfo=ALMATY), **changes)
    assert (raised.value.code, raised.value.field) == (f"support.error.{code}", field)
    assert not policy.upload_dir.exists() or not any(policy.upload_dir.iterdir())


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"XXXX\x00\x00\x00\x00WEBPVP8 ", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_image_type_reads_magic_bytes(data: bytes, expected: str | None) -> None:
    assert image_type(data) == expected
