"""Reading the Dockerfile and compose.yaml the way Docker does, so that tests run the very commands,
environment and health check the image and the compose file declare (no Docker engine here)."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # where this environment's `industry-qa` and `python` are


@dataclass(frozen=True)
class Instruction:
    stage: int  # 0 for the first FROM's stage
    keyword: str  # upper case
    value: str  # continuation lines joined

    def exec_form(self) -> list[str]:
        """``CMD ["a", "b"]`` as a list (``HEALTHCHECK`` options before ``CMD`` skipped)."""
        text = self.value.split(" CMD ", 1)[1] if self.keyword == "HEALTHCHECK" else self.value
        return list(json.loads(text))


def dockerfile(path: Path = ROOT / "Dockerfile") -> list[Instruction]:
    lines: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1].rstrip() + " " + raw.strip()
        elif raw.strip():
            lines.append(raw.strip())
    stage, out = -1, []
    for line in lines:
        keyword, _, value = line.partition(" ")
        stage += keyword.upper() == "FROM"
        out.append(Instruction(stage, keyword.upper(), value.strip()))
    return out


def env_of(instructions: list[Instruction], stage: int) -> dict[str, str]:
    """The ``ENV`` of a stage (``KEY=value`` pairs; ``$PATH`` expanded against this machine's)."""
    env: dict[str, str] = {}
    for ins in instructions:
        if ins.stage == stage and ins.keyword == "ENV":
            for pair in shlex.split(ins.value):
                key, _, value = pair.partition("=")
                env[key] = value.replace("$PATH", env.get("PATH", os.environ.get("PATH", "")))
    return env


def local_command(argv: list[str]) -> list[str]:
    """An image command as it runs here: the image's ``industry-qa`` is this environment's."""
    first = BIN / argv[0]
    return [str(first) if first.exists() else argv[0], *argv[1:]]


def compose(path: Path = ROOT / "compose.yaml") -> dict[str, Any]:
    """compose.yaml with its YAML anchors merged (``<<: *bot``), variables left as written."""
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:?message}`` and ``${NAME:-default}``."""
    def one(m: re.Match[str]) -> str:
        name, op, rest = m.group(1), m.group(2) or "", m.group(3) or ""
        if name in variables and variables[name]:
            return variables[name]
        if op == ":?":
            raise KeyError(f"{name}: {rest}")
        return rest

    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(:[?-])?([^}]*)\}", one, value)
