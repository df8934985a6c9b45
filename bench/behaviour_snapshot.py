"""What refcli answers, as one JSON document: run it before and after a refactor and diff.

Indexes the examples and the test media with ``--faces --pose`` into a fresh database, enrols a
named face, then records ``find --json`` for position, colour, pose, motion, a named face, an
object query (the ball grounder that tests/e2e/test_objects_e2e.py trains; pass ``--ball-model`` to
reuse one, since training is only deterministic on one machine) and a rejection, ``status --json``
and ``eval humanref`` on the mini set. Fields that differ in every run (generations, times,
temporary paths) are normalised away, so two runs of the same code print the same bytes.

    python bench/behaviour_snapshot.py --out before.json [--ball-model ball.pt]
    ... change the code ...
    python bench/behaviour_snapshot.py --out after.json --ball-model ball.pt && diff before.json after.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

QUERIES = {
    "position": "the leftmost person",
    "position-ordinal": "the second person from the right",
    "colour": "the person in a black suit",
    "colour-red": "the person wearing red",
    "pose": "the person with arms crossed",
    "pose-negated": "people whose arms are not crossed",
    "motion": "people walking to the left",
    "named": "Barack Obama",
    "object": "the person with a ball",
    "rejection": "the person riding a purple elephant",
    "plain": "person",
}
MEDIA = ("vtest_4s.mp4", "composite_walkers.mp4", "obama3.jpg", "biden.jpg", "camera.png", "astronaut.jpg")
VOLATILE = {"generation", "elapsed_s", "seconds", "indexed_at", "updated_at", "checked_at", "time_s",
            "took_s", "wall_s", "per_file_s", "created", "size_bytes"}  # size_bytes: LanceDB files vary


def normalise(value: Any, tmp: str) -> Any:
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE else normalise(v, tmp)) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalise(v, tmp) for v in value]
    if isinstance(value, str):
        return re.sub(r"\d+\.\d+ s\b", "<s>", value.replace(tmp, "<tmp>").replace(str(ROOT), "<repo>"))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ball-model", type=Path, help="a ball grounder trained before (else one is trained)")
    args = parser.parse_args()

    from typer.testing import CliRunner

    from refcli.cli.app import app
    from refcli.ground import grounders

    runner = CliRunner()
    tmp = tempfile.mkdtemp(prefix="refcli-snapshot-")

    def cli(*argv: str) -> Any:
        result = runner.invoke(app, list(argv))
        if result.exit_code != 0:
            raise SystemExit(f"refcli {' '.join(argv)} failed ({result.exit_code}): {result.output}")
        return json.loads(result.stdout) if "--json" in argv else result.stdout

    ball = args.ball_model
    if ball is None:
        from test_objects_e2e import train_ball_grounder

        ball = args.out.with_suffix(".ball.pt")
        train_ball_grounder(ball)
        print(f"trained a ball grounder: {ball} (pass --ball-model to reuse it)", file=sys.stderr)
    grounders.register("test-ball", "test_objects_e2e:BallGrounder")

    archive = Path(tmp) / "archive"
    shutil.copytree(ROOT / "examples" / "footage", archive)
    for name in MEDIA:
        shutil.copy(DATA / name, archive / name)
    db = str(Path(tmp) / "db")
    out: dict[str, Any] = {}
    cli("faces", "add", "Barack Obama", str(DATA / "obama.jpg"), "--db", db)
    out["index"] = cli("index", str(archive), "--db", db, "--faces", "--pose", "--json")
    for kind, query in QUERIES.items():
        extra = ["--grounder", "test-ball", "--grounder-model", str(ball)] if kind == "object" else []
        out[f"find {kind}: {query}"] = cli("find", query, "--db", db, "--json", "--limit", "0", *extra)
    out["status"] = cli("status", "--db", db, "--json")
    out["eval humanref"] = cli("eval", "humanref", "--annotations", str(DATA / "humanref_mini" / "annotations.jsonl"),
                               "--images", str(DATA), "--out", str(Path(tmp) / "predictions.jsonl"), "--json")
    args.out.write_text(json.dumps(normalise(out, tmp), indent=1, sort_keys=True) + "\n")
    shutil.rmtree(tmp)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
