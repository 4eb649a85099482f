"""What the owner-application checks need to know from the state registries.

`StateRegistryUnavailable` is how an adapter says "cannot tell now": the application then goes
to a staff queue instead of being refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


class StateRegistryUnavailable(Exception):
    """The registry could not be asked (outage, timeout): no decision can be made on it."""


@dataclass(frozen=True)
class CustomsDeclaration:
    declaration_number: str
    declarant_iin: str
    declared_on: date
    imeis: frozenset[str]


@dataclass(frozen=True)
class BorderCrossing:
    iin: str
    crossed_at: datetime
    direction: str  # "entry" | "exit"
    checkpoint: str


@dataclass(frozen=True)
class ParcelDelivery:
    tracking_number: str
    recipient_iin: str
    delivered_on: date
    description: str


class CustomsRegistry(Protocol):
    def declaration(self, declaration_number: str) -> CustomsDeclaration | None: ...


class BorderRegistry(Protocol):
    def crossings(self, iin: str, on: date) -> list[BorderCrossing]:
        """The person's crossings on that calendar day (Asia/Almaty)."""
        ...


class PostalRegistry(Protocol):
    def parcel(self, tracking_number: str) -> ParcelDelivery | None: ...
