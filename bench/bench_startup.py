"""Start-up cost of the commands people type most: wall time of `refcli --help`, and of `find` and
`status` on a one-file database, against baselines measured in the same run (a bare Python, a
plain `import lancedb`, and lancedb imported as refcli imports it).

    python bench/bench_startup.py [--runs 7] [--before CHECKOUT]

Each number is the median of ``--runs`` fresh processes. ``--before`` runs the same commands with
another checkout of refcli first on the path (an older commit, say) and prints after/before
ratios, the two measured alternately in the same run. The slowest imports of `find` follow
(``python -X importtime``, cumulative), to show where the rest goes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFCLI = [sys.executable, "-m", "refcli"]
CWD = tempfile.gettempdir()  # `python -m` puts the working folder first on the path: not this checkout


def wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=CWD)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cpu(argv: list[str], env: dict[str, str] | None = None) -> float:
    """CPU seconds (user + system) of one run: steadier than wall time on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=CWD)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def compare(cases: dict[str, list[str]], before: str, runs: int) -> None:
    """After/before medians of the refcli commands, run alternately one process at a time."""
    old = {**os.environ, "PYTHONPATH": before}
    print(f"\n{'command':36} {'before':>7} {'after':>7} {'after/before':>13}   (CPU s, median)")
    for name, argv in cases.items():
        if not name.startswith("refcli"):
            continue
        pairs = [(cpu(argv, old), cpu(argv)) for _ in range(runs)]
        then, now = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        print(f"{name:36} {then:7.3f} {now:7.3f} {now / then:13.2f}")


def slowest_imports(argv: list[str], count: int = 12) -> list[tuple[float, str]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            if cumulative.isdigit() and name.count(".") == 0 and not name.startswith("_"):
                rows.append((int(cumulative) / 1e6, name))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", help="another refcli checkout to compare with (put first on PYTHONPATH)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="refcli-startup-"))
    try:
        (tmp / "media").mkdir()
        shutil.copy(ROOT / "examples" / "footage" / "messi5.jpg", tmp / "media")
        db = str(tmp / "db")
        subprocess.run([*REFCLI, "index", str(tmp / "media"), "--db", db], check=True, capture_output=True)
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import lancedb (plain)": [sys.executable, "-c", "import lancedb"],
            "import lancedb (as refcli does)": [sys.executable, "-c", "from refcli.store.lancedb_import import "
                                                "import_lancedb; import_lancedb()"],
            "refcli --help": [*REFCLI, "--help"],
            "refcli find person --json": [*REFCLI, "find", "person", "--db", db, "--json"],
            "refcli status --json": [*REFCLI, "status", "--db", db, "--json"],
        }
        results = {name: wall(argv, args.runs) for name, argv in cases.items()}
        base = results["import lancedb (plain)"]
        print(f"{'command':36} {'median s':>9} {'/ import lancedb':>17}")
        for name, seconds in results.items():
            print(f"{name:36} {seconds:9.3f} {seconds / base:17.2f}")
        if args.before:
            compare(cases, args.before, args.runs)
        print("\nslowest top-level imports of `refcli find` (cumulative s):")
        for seconds, name in slowest_imports(cases["refcli find person --json"]):
            print(f"  {seconds:6.3f}  {name}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
