"""What a process listens on, read from /proc (Linux): the honest answer to "which address is
this port bound to", whatever the process logs."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
from pathlib import Path

Address = tuple[str, int]


def _decode(hex_addr: str) -> Address:
    host_hex, port_hex = hex_addr.split(":")
    raw = bytes.fromhex(host_hex)
    # /proc/net/tcp* print each 32-bit word in host (little-endian) order.
    host = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(host)), int(port_hex, 16)


def listening(pid: int) -> set[Address]:
    """The (address, port) of every TCP socket of ``pid`` in LISTEN state."""
    inodes: set[str] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    found: set[Address] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                found.add(_decode(fields[1]))
    return found


def non_loopback_address() -> str | None:
    """An address of this machine other machines could use (from ``hostname -I``), if any."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for word in out.split():
        try:
            ip = ipaddress.ip_address(word)
        except ValueError:
            continue
        if ip.version == 4 and not ip.is_loopback:
            return word
    return None


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
