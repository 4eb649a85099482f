"""Reason codes: why an IMEI is on its list, or why an input was refused (FORMATS.md)."""

from enum import StrEnum


class Reason(StrEnum):
    INVALID_FORMAT = "INVALID_FORMAT"
    INVALID_CHECK_DIGIT = "INVALID_CHECK_DIGIT"
    RESERVED_IMEI = "RESERVED_IMEI"
    UNKNOWN_TAC = "UNKNOWN_TAC"
    GSMA_BLACKLISTED = "GSMA_BLACKLISTED"
    REPORTED_STOLEN = "REPORTED_STOLEN"
    RETIRED_IMEI = "RETIRED_IMEI"
    TRUSTED_SOURCE = "TRUSTED_SOURCE"
    VERIFIED = "VERIFIED"
    PAIRED = "PAIRED"
    GRANDFATHERED = "GRANDFATHERED"
    GRACE_PERIOD = "GRACE_PERIOD"
    GRACE_EXPIRED = "GRACE_EXPIRED"
    CLONE_SUSPECTED = "CLONE_SUSPECTED"
    NOT_SEEN = "NOT_SEEN"


AUTHENTICITY_FAILURES = frozenset(
    {
        Reason.INVALID_FORMAT,
        Reason.INVALID_CHECK_DIGIT,
        Reason.RESERVED_IMEI,
        Reason.UNKNOWN_TAC,
    }
)


def join_reasons(reasons: tuple[Reason, ...]) -> str:
    """Reasons as stored in one text column: comma-separated, in precedence order."""
    return ",".join(reasons)


def split_reasons(stored: str | None) -> tuple[Reason, ...]:
    return tuple(Reason(code) for code in stored.split(",")) if stored else ()
