"""What a test can read about another process from /proc: resident memory and open files."""

from __future__ import annotations

import os
from pathlib import Path


def rss_kb(pid: int) -> int:
    """Resident set size (VmRSS) in KiB; 0 once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))
