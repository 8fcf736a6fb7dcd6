"""Run every benchmark module (or those named on the command line) and write docs/benchmarks.md."""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import benchmarks

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    if argv:
        unknown = [a for a in argv if a not in names]
        if unknown:
            print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}",
                  file=sys.stderr)
            return 2
        names = argv
    sections = []
    for name in names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        sections.append(module.run())
    header = (
        "# Benchmarks\n\n"
        f"Latest `make bench` run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count() or 1} cores. Each figure is compared with a baseline measured in the same run.\n"
    )
    if argv and DOC.exists():
        print("(partial run: docs/benchmarks.md left unchanged)")
        print("\n\n".join(sections))
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(header + "\n" + "\n\n".join(sections) + "\n")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
