"""Which list an IMEI is on: a pure function of the facts known about it and the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules


class ListName(StrEnum):
    WHITE = "white"
    GREY = "grey"
    BLACK = "black"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ImeiFacts:
    """Everything the rules look at for one IMEI, summarised from the fact log."""

    invalid_reason: Reason | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    trusted_source: bool = False
    verified: bool = False
    paired: bool = False
    gsma_blacklisted: bool = False
    reported_stolen: bool = False
    clone_suspected: bool = False
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Status:
    list: ListName
    reasons: tuple[Reason, ...]
    grace_deadline: datetime | None = None


def list_status(facts: ImeiFacts, now: datetime, rules: Rules) -> Status:
    """The list of an IMEI at `now`, and why. The order of the checks is the rule book's."""
    informative = (Reason.CLONE_SUSPECTED,) if facts.clone_suspected else ()
    if facts.invalid_reason is not None:
        return Status(ListName.BLACK, (facts.invalid_reason, *informative))
    blacklisted = _blacklist_reasons(facts)
    if facts.clone_suspected and rules.clone_blocks:
        blacklisted += (Reason.CLONE_SUSPECTED,)
        informative = ()
    if blacklisted:
        return Status(ListName.BLACK, blacklisted + informative)
    if facts.retired_at is not None:
        return _retired_status(facts, informative)
    whitelisted = _whitelist_reasons(facts, rules)
    if whitelisted:
        return Status(ListName.WHITE, whitelisted + informative)
    if facts.first_seen is None:
        return Status(ListName.UNKNOWN, (Reason.NOT_SEEN,))
    deadline = rules.grace_deadline(facts.first_seen)
    if now < deadline:
        return Status(ListName.GREY, (Reason.GRACE_PERIOD, *informative), deadline)
    return Status(ListName.BLACK, (Reason.GRACE_EXPIRED, *informative), deadline)


def _blacklist_reasons(facts: ImeiFacts) -> tuple[Reason, ...]:
    return tuple(
        reason
        for reason, applies in (
            (Reason.GSMA_BLACKLISTED, facts.gsma_blacklisted),
            (Reason.REPORTED_STOLEN, facts.reported_stolen),
        )
        if applies
    )


def _whitelist_reasons(facts: ImeiFacts, rules: Rules) -> tuple[Reason, ...]:
    grandfathered = facts.first_seen is not None and rules.is_grandfathered(facts.first_seen)
    return tuple(
        reason
        for reason, applies in (
            (Reason.TRUSTED_SOURCE, facts.trusted_source),
            (Reason.VERIFIED, facts.verified),
            (Reason.PAIRED, facts.paired),
            (Reason.GRANDFATHERED, grandfathered),
        )
        if applies
    )


def _retired_status(facts: ImeiFacts, informative: tuple[Reason, ...]) -> Status:
    """An IMEI replaced in a repair belongs to no device: blocked once it shows up again."""
    if facts.last_seen is not None and facts.last_seen > facts.retired_at:  # type: ignore[operator]
        return Status(ListName.BLACK, (Reason.RETIRED_IMEI, *informative))
    return Status(ListName.UNKNOWN, (Reason.RETIRED_IMEI,))
