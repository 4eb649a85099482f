"""Run the real `tizim` command in a subprocess, against a chosen database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_tizim(
    *args: str, database_url: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "TIZIM_DATABASE_URL": database_url,
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "tizim", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
        check=False,
    )
