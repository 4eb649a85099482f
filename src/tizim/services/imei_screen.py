"""The authenticity rule over millions of IMEIs at once: a numpy screen in front of the domain.

Why: a first load meets millions of IMEIs the registry has never seen, and each needs its
verdict (check digit, reserved codes, known TAC). `tizim.domain.imei` gives it in ~5 µs per
IMEI in Python, 25 s for 5 million; the same rule as array operations takes a fraction of a
second. The screen only decides *which* IMEIs pass: every IMEI it does not pass is judged
again by the domain function, which alone names the reason. A property test holds the two
equal (`tests/services/test_imei_screen.py`), so the domain stays the one statement of the rule.

Input is IMEIs packed end to end, 15 ASCII digits each (`string_agg(imei, '')` in SQL): a
megabyte of them travels as one value and is read by numpy without a Python step per IMEI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt

WIDTH = 15
_TAC_WEIGHTS = 10 ** np.arange(7, -1, -1, dtype=np.int64)
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # Luhn: 2d, digits summed


class ImeiScreen:
    """Passes the 15-digit IMEIs that the domain rule finds authentic, in bulk.

    `reserved_tac_prefixes` as in `Rules`; `known_tacs` the TAC database (None while it is
    empty: the unknown-TAC rule is then inactive, as in the domain).
    """

    def __init__(
        self, reserved_tac_prefixes: Iterable[str], known_tacs: Iterable[str] | None
    ) -> None:
        self._prefixes = [
            np.frombuffer(prefix.encode("ascii"), dtype=np.uint8) - 48
            for prefix in reserved_tac_prefixes
        ]
        self._known: npt.NDArray[np.int64] | None = None
        if known_tacs is not None:
            digits = [int(tac) for tac in known_tacs if len(tac) == 8 and tac.isdigit()]
            self._known = np.unique(np.array(digits, dtype=np.int64))

    def passes(self, packed: bytes) -> npt.NDArray[np.bool_]:
        """One verdict per 15 bytes: True where the IMEI is certainly authentic."""
        raw = np.frombuffer(packed, dtype=np.uint8).reshape(-1, WIDTH)
        digits = raw.astype(np.int64) - 48
        shaped = ((digits >= 0) & (digits <= 9)).all(axis=1)
        digits = np.where(shaped[:, None], digits, 0)
        # Luhn over the 15 digits: from the right, every second digit (the 14th, 12th, ...
        # from the left, counting from 1) is doubled and its digits summed.
        total = digits[:, 0::2].sum(axis=1) + _DOUBLED[digits[:, 1::2]].sum(axis=1)
        ok = shaped & (total % 10 == 0)
        ok &= ~(digits[:, :14] == digits[:, :1]).all(axis=1)
        for prefix in self._prefixes:
            ok &= ~(digits[:, : len(prefix)] == prefix).all(axis=1)
        if self._known is not None:
            tacs = digits[:, :8] @ _TAC_WEIGHTS
            ok &= np.isin(tacs, self._known)
        return ok

    def failures(self, packed_batches: Iterable[bytes]) -> Iterator[str]:
        """The IMEIs among batches of packed IMEIs that do not pass, in input order."""
        for packed in packed_batches:
            if len(packed) % WIDTH:
                raise ValueError("packed IMEIs must be 15 digits each")
            for row in np.flatnonzero(~self.passes(packed)).tolist():
                yield packed[row * WIDTH : (row + 1) * WIDTH].decode("ascii", "replace")
