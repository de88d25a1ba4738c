#!/usr/bin/env python3
"""Whether the lock files in requirements/ were compiled from the current dependency lists.

scripts/lock.sh writes each lock's inputs' fingerprint on its first line; this recomputes it.
A dependency added to pyproject.toml without relocking fails here, loudly, instead of
installing something the lock never saw. Standard library only: runs before .venv exists.

    python3 scripts/lockcheck.py            # exit 1 naming the stale locks
    python3 scripts/lockcheck.py --print    # the fingerprint line for each lock
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
FIX = "run scripts/lock.sh and commit requirements/"


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        table: dict[str, object] = tomllib.load(f)["project"]
    return table


def fingerprint(lock: str) -> str:
    """A digest of exactly what ``lock`` is compiled from, so unrelated edits do not stale it."""
    meta = project()
    extras = meta.get("optional-dependencies", {})
    assert isinstance(extras, dict)
    inputs: dict[str, object] = {"requires-python": meta.get("requires-python"),
                                 "dependencies": meta.get("dependencies", [])}
    if lock == "dev":
        inputs["dev"] = extras.get("dev", [])
    elif lock == "deploy-lint":
        inputs = {"in": (REQUIREMENTS / "deploy-lint.in").read_text()}
    text = json.dumps(inputs, sort_keys=True)
    return "# inputs-sha256: " + hashlib.sha256(text.encode()).hexdigest()


LOCKS = ("runtime", "dev", "deploy-lint")


def stale() -> list[str]:
    found = []
    for lock in LOCKS:
        path = REQUIREMENTS / f"{lock}.txt"
        first = path.read_text().partition("\n")[0] if path.exists() else ""
        if first != fingerprint(lock):
            found.append(path.relative_to(ROOT).as_posix())
    return found


def main(argv: list[str]) -> int:
    if argv[1:] == ["--print"]:
        for lock in LOCKS:
            print(lock, fingerprint(lock))
        return 0
    if argv[1:2] == ["--fingerprint"]:
        print(fingerprint(argv[2]))
        return 0
    if out_of_date := stale():
        print(f"[lock] {', '.join(out_of_date)} out of date with pyproject.toml "
              f"(dependencies changed, lock not): {FIX}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
