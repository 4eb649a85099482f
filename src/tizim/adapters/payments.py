"""Paying the verification fee: the gateway interface and the reference gateway.

The reference gateway takes every charge and records it in `payments`; a bank or eGov
payment gateway implements the same Protocol (and raises `PaymentDeclined` when it declines).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, func, select

from tizim.storage.tables_applications import payments


class PaymentDeclined(Exception):
    """The gateway did not take the money; the message says why (shown to the payer)."""


@dataclass(frozen=True)
class PaymentReceipt:
    reference: str
    amount_kzt: int
    gateway: str
    paid_at: datetime


class PaymentGateway(Protocol):
    name: str

    def charge(self, *, application_id: int, amount_kzt: int, now: datetime) -> PaymentReceipt: ...


class ReferencePaymentGateway:
    """Accepts every positive charge and records it in the `payments` table."""

    name = "reference"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def charge(self, *, application_id: int, amount_kzt: int, now: datetime) -> PaymentReceipt:
        if amount_kzt <= 0:
            raise PaymentDeclined("nothing to pay")
        reference = f"REF-{secrets.token_hex(8).upper()}"
        self.conn.execute(
            payments.insert().values(
                reference=reference,
                application_id=application_id,
                amount_kzt=amount_kzt,
                gateway=self.name,
                paid_at=now,
            )
        )
        return PaymentReceipt(reference, amount_kzt, self.name, now)


def amount_paid(conn: Connection, application_id: int) -> int:
    """KZT recorded for the application across all gateways."""
    total = conn.execute(
        select(func.coalesce(func.sum(payments.c.amount_kzt), 0)).where(
            payments.c.application_id == application_id
        )
    ).scalar()
    return int(total or 0)
