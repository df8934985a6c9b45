"""Start-up: the default path needs neither torch nor transformers, a model backend without them
is one clear line, and find/status do not import lancedb's namespace REST client. Each check runs
in a fresh interpreter, where imports are real."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

BLOCK_MODELS = """
import importlib.abc, sys
class NoModelsExtra(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, NoModelsExtra())
"""
RUN = """
import json, sys
from typer.testing import CliRunner
from refcli.cli.app import app
out = []
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    out.append({"code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr})
out.append(sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers")
                  or m.startswith("lance_namespace_urllib3_client.api")))
print(json.dumps(out))
"""


def run_in_fresh_python(*commands: list[str], block_models: bool = False) -> tuple[list[dict], list[str]]:
    code = (BLOCK_MODELS if block_models else "") + RUN
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(list(commands))], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    *results, imported = json.loads(proc.stdout)
    return results, imported


def test_the_default_path_runs_without_the_models_extra(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "messi5.jpg", root / "messi5.jpg")
    db = str(tmp_path / "db")
    (index, find, status, hf), imported = run_in_fresh_python(
        ["index", str(root), "--db", db, "--json"], ["find", "the leftmost person", "--db", db, "--json"],
        ["status", "--db", db, "--json"], ["index", str(root), "--db", db, "--detector", "hf"], block_models=True)
    assert index["code"] == 0 and json.loads(index["stdout"])["new"] == 1
    assert find["code"] == 0 and json.loads(find["stdout"])["total"] == 1
    assert status["code"] == 0 and json.loads(status["stdout"])["files"] == 1
    assert imported == []
    # a model backend without its extra: one line that says what to install
    assert hf["code"] != 0
    assert "pip install 'refcli[models]'" in hf["stderr"] and "Traceback" not in hf["stderr"]


def test_find_and_status_leave_the_namespace_rest_client_unimported(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    shutil.copy(data_dir / "obama3.jpg", root / "obama3.jpg")
    db = str(tmp_path / "db")
    run_in_fresh_python(["index", str(root), "--db", db])
    (find, status), imported = run_in_fresh_python(["find", "person", "--db", db, "--json"],
                                                   ["status", "--db", db, "--json"])
    assert find["code"] == 0 and status["code"] == 0 and json.loads(find["stdout"])["total"] == 1
    assert not [m for m in imported if m.startswith("lance_namespace")]
    # and the client still works for whoever asks for it
    code = ("from refcli.store.lancedb_import import import_lancedb\nimport_lancedb()\n"
            "import lance_namespace_urllib3_client as client\nprint(client.__version__, client.ApiClient.__name__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[1] == "ApiClient"
