"""Prints the wheels in a folder whose distributions this Python lacks (stdlib only, so it
runs before anything is installed): `python bench/absent_wheels.py .whl`.

bench/gpu_check.sh installs only these, so no wheel shadows a preinstalled package
(torch above all) when the install folder goes first on PYTHONPATH.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path


def distribution_name(wheel: Path) -> str:
    """The normalised project name of a wheel file (PEP 427: name-version-...whl)."""
    return re.sub(r"[-_.]+", "-", wheel.name.split("-", 1)[0]).lower()


def installed() -> set[str]:
    return {
        re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


def absent_wheels(folder: Path) -> list[Path]:
    wheels = sorted(folder.glob("*.whl"))
    if not wheels:
        raise FileNotFoundError(f"{folder}: no wheels; run bench/gpu_wheels.sh first")
    have = installed()
    return [wheel for wheel in wheels if distribution_name(wheel) not in have]


if __name__ == "__main__":
    try:
        for wheel in absent_wheels(Path(sys.argv[1])):
            print(wheel)
    except (FileNotFoundError, IndexError) as error:
        sys.exit(f"error: {error}")
