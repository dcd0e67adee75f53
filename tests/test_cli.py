"""The astroad command: reproduce NAME from the protocol registry."""

from __future__ import annotations

import json
import subprocess
import sys

from astroad_nb.cli import main
from astroad_nb.protocols import REGISTRY, Run


def test_reproduce_list_names_every_protocol_and_its_presets(capsys):
    assert main(["reproduce", "--list"]) == 0
    text = capsys.readouterr().out
    for name in REGISTRY:
        assert name in text
    assert "fast" in text and "full" in text and "seed" in text


def test_reproduce_alerce_small(tmp_path, capsys):
    out = tmp_path / "table1.json"
    code = main(["reproduce", "alerce", "--fast", "--set", "n_per_class=15", "--set",
                 "n_splits=2", "--set", "methods=IForest,OCSVM", "--jobs", "1", "--json",
                 str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "leave-one-subclass-out AUROC" in text and "SNIa" in text
    run = Run.from_json(out)
    assert run.table().index.tolist() == ["IForest", "OCSVM"]
    assert run.table().shape == (2, 14)
    assert run.preset["n_splits"] == 2 and run.preset["methods"] == ["IForest", "OCSVM"]
    assert json.loads(out.read_text())["headline"] == "mean"


def test_unknown_method_preset_and_field_are_named(capsys):
    import pytest

    with pytest.raises(ValueError, match="Nope"):
        main(["reproduce", "alerce", "--fast", "--set", "methods=IForest,Nope"])
    assert main(["reproduce", "alerce", "--preset", "huge"]) == 2
    assert "huge" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="n_per_klass"):
        main(["reproduce", "alerce", "--fast", "--set", "n_per_klass=3"])
    assert main(["reproduce", "nothing"]) == 2
    assert "nothing" in capsys.readouterr().err


def test_console_script_help():
    proc = subprocess.run([sys.executable, "-m", "astroad_nb.cli", "reproduce", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--preset" in proc.stdout and "--json" in proc.stdout and "--list" in proc.stdout


def test_seed_preset_at_fast_sizes(tmp_path, capsys):
    """--preset seed --fast: the seed's hyper-parameters with the FAST sizes."""
    out = tmp_path / "seed.json"
    assert main(["reproduce", "alerce", "--preset", "seed", "--fast", "--set", "n_per_class=12",
                 "--set", "methods=IForest,OCSVM", "--jobs", "1", "--json", str(out)]) == 0
    preset = Run.from_json(out).preset
    assert preset["name"] == "seed*" and preset["ocsvm_nu"] == 0.01  # the seed's science
    assert preset["iforest_max_samples"] == 256
    assert preset["n_splits"] == 3 and preset["n_per_class"] == 12  # FAST size, then --set
