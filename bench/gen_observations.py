"""Generate a synthetic operator observation dump: N rows over about M IMEIs, fast (numpy).

    python3 bench/gen_observations.py OUT.csv --rows 10000000 --imeis 5000000 [--now 2025-09-30]

Rows are `seen_at,imei,imsi,msisdn,rat` (FORMATS.md), seen within the 30 days before `--now`
(Almaty time, minute resolution). IMEIs carry valid Luhn check digits on a few real-looking
TACs; each IMEI has its own subscriber, 1 % of rows show a second SIM (swaps), and 0.01 % of
IMEIs are shared by many SIMs (clones). Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

TACS = np.array([35290611, 35391805, 35332509, 86891603, 35925406, 86769504], dtype=np.int64)
MNCS = ("02", "01", "77")
CHUNK = 200_000


def luhn_check_digits(bodies: np.ndarray) -> np.ndarray:
    """Luhn check digit of each 14-digit body (int64), vectorised."""
    digits = np.stack([(bodies // 10**p) % 10 for p in range(14)], axis=1)  # from the right
    doubled = digits[:, 0::2] * 2  # the rightmost body digit is doubled
    total = (doubled // 10 + doubled % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    return (10 - total % 10) % 10


def imei_strings(indexes: np.ndarray) -> list[str]:
    bodies = TACS[indexes % len(TACS)] * 10**6 + (indexes // len(TACS)) % 10**6
    imeis = bodies * 10 + luhn_check_digits(bodies)
    return [f"{value:015d}" for value in imeis.tolist()]


def generate(path: Path, *, rows: int, imeis: int, now: datetime, seed: int = 7) -> float:
    """Write the dump; returns seconds taken."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    start = now - timedelta(days=30)
    moments = [
        (start + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:%S") for m in range(30 * 1440)
    ]
    rats = ("4G", "4G", "5G", "3G")
    with path.open("w", encoding="ascii") as out:
        out.write("seen_at,imei,imsi,msisdn,rat\n")
        for offset in range(0, rows, CHUNK):
            size = min(CHUNK, rows - offset)
            which = rng.integers(0, imeis, size)
            sim = which.copy()
            swap = rng.random(size) < 0.01
            sim[swap] += imeis  # another SIM in the same phone
            clones = which % 10_000 == 0
            sim[clones] = rng.integers(2 * imeis, 3 * imeis, int(clones.sum()))
            minute = rng.integers(0, len(moments), size).tolist()
            rat = rng.integers(0, len(rats), size).tolist()
            lines = [
                f"{moments[m]},{imei},401{MNCS[s % 3]}{s:010d},"
                f"7{700 + s % 3}{s % 10**7:07d},{rats[r]}"
                for m, imei, s, r in zip(
                    minute, imei_strings(which), sim.tolist(), rat, strict=True
                )
            ]
            out.write("\n".join(lines))
            out.write("\n")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--imeis", type=int, default=5_000_000)
    parser.add_argument("--now", default="2025-09-30T00:00:00")
    args = parser.parse_args()
    seconds = generate(
        args.out, rows=args.rows, imeis=args.imeis, now=datetime.fromisoformat(args.now)
    )
    print(f"{args.rows:,} rows in {seconds:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()
