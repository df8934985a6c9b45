"""What indexing costs after a change against before it, on the same files, in one run.

    python bench/bench_index_cost.py --before CHECKOUT PATH [PATH ...] [--runs 3]

Each PATH (a folder of photos, a video...) is indexed into a fresh database by `refcli index`
from this checkout and from CHECKOUT (another refcli tree, e.g. a worktree of the last release,
put first on PYTHONPATH), alternately, ``--runs`` times; prints the median CPU seconds (user +
system, steadier than wall time on a shared machine) of each and their ratio. Used for the face
traits (docs/benchmarks.md: "index time at most twice today's").
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench_startup import cpu  # bench/ is on the path when this script runs

ROOT = Path(__file__).resolve().parent.parent


def index_cpu(tree: str, path: str, db: str) -> float:
    """CPU seconds of `refcli index PATH` into a fresh database ``db``, with refcli from ``tree``."""
    shutil.rmtree(db, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": tree, "RAY_AUTH_MODE": "disabled"}
    return cpu([sys.executable, "-m", "refcli", "index", path, "--db", db, "--json"], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--before", required=True, help="the refcli checkout to compare with")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="refcli-cost-") as tmp:
        print(f"{'path':40} {'before':>8} {'after':>8} {'after/before':>13}   (CPU s, median of {args.runs})")
        for path in args.paths:
            pairs = [(index_cpu(args.before, path, f"{tmp}/before"), index_cpu(str(ROOT), path, f"{tmp}/after"))
                     for _ in range(args.runs)]
            then, now = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
            print(f"{path[-40:]:40} {then:8.2f} {now:8.2f} {now / then:13.2f}")


if __name__ == "__main__":
    main()
