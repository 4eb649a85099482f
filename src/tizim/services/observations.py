"""Reading one row of an operator's observation file (FORMATS.md: seen_at,imei,imsi,msisdn[,rat]).

A row is either an `Observation` ready for staging or a `RowError` naming the line, the column
and the reason. The line between the two:
- an IMEI that has the *shape* of an IMEI (14-16 digits) but fails authenticity (check digit,
  reserved code, unknown TAC) is a real device with a bad IMEI: the row is good and the IMEI
  goes on the black list with its reason (the rule is `tizim.domain.imei`, applied here);
- a value that is not an IMEI at all (letters, wrong length) cannot be stored or blocked by
  anyone: that row is malformed, like a bad timestamp or a non-digit IMSI.
This runs once per row of files with tens of millions of rows, so it avoids needless work:
timestamps repeat a lot in operator dumps and are parsed once per distinct text, and with
`defer_authenticity` a plain 15-digit IMEI is staged as is and judged once per *new* IMEI after
staging (`authenticity`), instead of once per row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from tizim.clock import parse_moment
from tizim.domain.imei import authenticity_reason, read_imei
from tizim.domain.reasons import Reason
from tizim.domain.rules import Rules
from tizim.services.csv_input import RowError

REQUIRED_COLUMNS = ("seen_at", "imei", "imsi", "msisdn")
OPTIONAL_COLUMNS = ("rat",)
FUTURE_TOLERANCE = timedelta(hours=1)
"""Clocks of network elements drift: a sighting slightly after `now` is still believed."""
_MOMENT_CACHE_LIMIT = 100_000


class Observation(NamedTuple):
    """One good row: the 15-digit IMEI with its authenticity verdict, and who used it when."""

    imei: str
    invalid_reason: str | None
    imsi: str
    msisdn: str
    seen_at: datetime
    rat: str | None


class ObservationReader:
    """Checks rows of one file. `known_tacs` is None while no TAC database is loaded."""

    def __init__(
        self,
        *,
        now: datetime,
        rules: Rules,
        known_tacs: frozenset[str] | None,
        defer_authenticity: bool = False,
    ) -> None:
        self._latest_believable = now + FUTURE_TOLERANCE
        self._rules = rules
        self._known_tacs = known_tacs
        self._defer = defer_authenticity
        self._moments: dict[str, datetime | None] = {}

    def authenticity(self, imei: str) -> str | None:
        """The authenticity verdict of one 15-digit IMEI (the rule of `tizim.domain.imei`)."""
        reading = read_imei(imei, self._rules.reserved_tac_prefixes)
        tac_known = None if self._known_tacs is None else imei[:8] in self._known_tacs
        reason = authenticity_reason(reading, tac_known)
        return reason.value if reason else None

    def read(self, line: int, row: dict[str, str]) -> Observation | RowError:
        if None in row:
            return RowError(
                line, None, "TOO_MANY_FIELDS", "the row has more fields than the header"
            )
        for column in REQUIRED_COLUMNS:
            if not row[column]:
                return RowError(line, column, "MISSING_VALUE", f"{column} is empty")
        seen_at = self.moment(row["seen_at"])
        if seen_at is None:
            return RowError(line, "seen_at", "BAD_TIMESTAMP", "seen_at is not an ISO 8601 time")
        if not self.believable(seen_at):
            return RowError(line, "seen_at", "IN_FUTURE", "seen_at is after the time of import")
        raw = row["imei"]
        if self._defer and len(raw) == 15 and raw.isascii() and raw.isdigit():
            # Already the stored form; its verdict is given once per new IMEI after staging.
            imei, invalid_reason = raw, None
        else:
            reading = read_imei(raw, self._rules.reserved_tac_prefixes)
            if reading.imei is None:
                return RowError(
                    line, "imei", Reason.INVALID_FORMAT.value, "imei is not 14-16 digits"
                )
            imei, invalid_reason = reading.imei, self.authenticity(reading.imei)
        imsi = row["imsi"]
        if not (imsi.isascii() and imsi.isdigit() and 6 <= len(imsi) <= 15):
            return RowError(line, "imsi", "BAD_IMSI", "imsi must be 6-15 digits")
        msisdn = row["msisdn"].removeprefix("+")
        if not (msisdn.isascii() and msisdn.isdigit() and 5 <= len(msisdn) <= 15):
            return RowError(line, "msisdn", "BAD_MSISDN", "msisdn must be 5-15 digits")
        rat = row.get("rat") or None
        if rat is not None and not (rat.isascii() and rat.isalnum() and len(rat) <= 8):
            return RowError(line, "rat", "BAD_RAT", "rat must be up to 8 letters or digits")
        return Observation(imei, invalid_reason, imsi, msisdn, seen_at, rat)

    def believable(self, moment: datetime) -> bool:
        """Whether a sighting time is not (much) after the time of import."""
        return moment <= self._latest_believable

    def moment(self, text: str) -> datetime | None:
        """The time a `seen_at` value stands for, or None if it is not an ISO 8601 time."""
        try:
            return self._moments[text]
        except KeyError:
            pass
        try:
            moment: datetime | None = parse_moment(text)
        except ValueError:
            moment = None
        if len(self._moments) >= _MOMENT_CACHE_LIMIT:
            self._moments.clear()  # bounded memory whatever the file
        self._moments[text] = moment
        return moment
