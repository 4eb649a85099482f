"""Reading posted forms: CSRF first, size limits, and problems keyed by field for the template."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from tizim.interfaces.web.security import CSRF_FIELD, check_csrf

MAX_FIELDS = 200


async def read_form(
    request: Request, *, max_files: int = 0, max_part_bytes: int = 1 << 20
) -> FormData:
    """The posted form, after its CSRF token was checked (a wrong token stops here)."""
    form = await request.form(
        max_files=max_files, max_fields=MAX_FIELDS, max_part_size=max_part_bytes
    )
    check_csrf(request, form.get(CSRF_FIELD))
    return form


def text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def texts(form: FormData, name: str, limit: int = 200) -> list[str]:
    return [v.strip()[:limit] for v in form.getlist(name) if isinstance(v, str)]


async def files(form: FormData, name: str, max_bytes: int) -> list[tuple[str, bytes]]:
    """(file name, first `max_bytes + 1` bytes) of each uploaded file: enough to refuse one."""
    found = []
    for item in form.getlist(name):
        if isinstance(item, UploadFile) and item.filename:
            found.append((item.filename, await item.read(max_bytes + 1)))
    return found


class Problems(defaultdict[str, list[str]]):
    """field → messages already translated, as the `field` macro shows them."""

    def __init__(self) -> None:
        super().__init__(list)

    def add(self, field: str | None, message: str) -> None:
        self[field or "_form"].append(message)

    def as_dict(self) -> dict[str, Any]:
        return dict(self)
