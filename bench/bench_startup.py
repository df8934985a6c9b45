"""Start-up cost of the commands people type most: wall time of `refcli --help`, and of `find` and
`status` on a one-file database, against baselines measured in the same run (a bare Python, a
plain `import lancedb`, and lancedb imported as refcli imports it).

    python bench/bench_startup.py [--runs 7]

Each number is the median of ``--runs`` fresh processes. The slowest imports of `find` follow
(``python -X importtime``, cumulative), to show where the rest goes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFCLI = [sys.executable, "-m", "refcli"]


def wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


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
        print("\nslowest top-level imports of `refcli find` (cumulative s):")
        for seconds, name in slowest_imports(cases["refcli find person --json"]):
            print(f"  {seconds:6.3f}  {name}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
