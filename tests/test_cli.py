"""The astroad command."""

from __future__ import annotations

import json
import subprocess
import sys

from astroad_nb.cli import main


def test_reproduce_alerce_small(tmp_path, capsys):
    out = tmp_path / "table1.json"
    code = main(["reproduce", "alerce", "--fast", "--n-per-class", "15", "--folds", "2",
                 "--methods", "IForest,OCSVM", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "leave-one-subclass-out AUROC" in text and "SNIa" in text and "±" in text
    payload = json.loads(out.read_text())
    assert set(payload["mean"]) == {"IForest", "OCSVM"}
    assert len(payload["mean"]["IForest"]) == 14
    assert payload["config"]["n_splits"] == 2


def test_unknown_method_is_named(capsys):
    assert main(["reproduce", "alerce", "--fast", "--methods", "IForest,Nope"]) == 2
    assert "Nope" in capsys.readouterr().err


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "astroad_nb.cli", "reproduce", "alerce", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--fast" in proc.stdout and "--json" in proc.stdout
