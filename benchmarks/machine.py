"""What every benchmark table states about the machine it ran on: one description, as a record
(``machine``, saved beside results) or as the one line a script prints under its table."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float | None:
    """Total RAM in GiB (one decimal) from /proc/meminfo, None where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def _version(package: str) -> str:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return "-"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return ""


def machine(packages: Sequence[str] = ()) -> dict[str, Any]:
    """The machine, the load on it now, and the versions of ``packages``."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable, "memory_gb": memory_gb(),
            "load_average": [round(x, 1) for x in os.getloadavg()], "python": platform.python_version(),
            "os": platform.platform(), "system": f"{platform.system()} {platform.release()}",
            "packages": {p: _version(p) for p in packages}, "commit": _commit(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def machine_line(packages: Sequence[str] = ()) -> str:
    """``machine`` as the line printed under a table: CPU, load, RAM, OS, Python, package versions."""
    m = machine(packages)
    load = ", ".join(f"{x:.1f}" for x in m["load_average"])
    mem = f", {m['memory_gb']} GiB RAM" if m["memory_gb"] else ""
    pkgs = "".join(f", {p} {v}" for p, v in m["packages"].items())
    return (f"{m['cpu']}, {m['cores']} logical CPUs ({m['usable_cores']} usable, load average {load}){mem}, "
            f"{m['system']}, Python {m['python']}{pkgs}")
