"""Binder: binder/requirements.txt installs into a fresh venv and the notebooks execute there.

The PyTorch CPU wheel index named in the file is unreachable from CI, so the torch line is
swapped for the CPU wheel on this machine (``torch==2.13.0``) — everything else is installed
exactly as repo2docker would. Run with ``pytest -m binder`` (``make test-binder``; .ci/run does).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _local_requirements(text: str) -> str:
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("--extra-index-url") or stripped.startswith("--index-url"):
            continue
        if re.match(r"^torch==[\d.]+\+cpu$", stripped):
            out.append("torch==2.13.0")
        elif stripped.startswith("-e ."):
            out.append(f"-e {ROOT}{stripped[4:]}")
        elif stripped.startswith("-c "):  # pip resolves it from the requirements file's folder
            out.append(f"-c {(ROOT / 'binder' / stripped[3:].strip()).resolve()}")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def test_binder_requirements_file_is_what_repo2docker_expects():
    req = (ROOT / "binder" / "requirements.txt").read_text()
    editable = [line for line in req.splitlines() if line.startswith("-e .")]
    assert len(editable) == 1, "the package itself, once"
    extras = set(re.findall(r"\[([\w,]+)\]", editable[0])[0].split(",")) if "[" in editable[0] else set()
    # every runtime extra the notebooks use (notebook 06 runs Dask); dev is for tests only
    assert extras >= _runtime_extras(), f"binder installs {editable[0]!r}, extras {extras}"
    assert re.search(r"^torch==[\d.]+\+cpu$", req, re.M), "CPU torch pinned"
    assert "download.pytorch.org/whl/cpu" in req
    assert not (ROOT / "binder" / "environment.yml").exists()  # would win over requirements.txt
    assert (ROOT / "binder" / "postBuild").read_text().startswith("set -e")
    start = (ROOT / "binder" / "start").read_text()
    assert "ASTROAD_FAST=1" in start and 'exec "$@"' in start
    assert "-c ../constraints.txt" in req.splitlines()  # the versions docs/runs were made with
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def _runtime_extras():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return set(extras) - {"dev"}


def _pins():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def test_committed_runs_were_made_with_the_constrained_versions():
    """docs/runs/*_fast.json record their package versions; constraints.txt pins the same."""
    import json

    from astroad_nb.protocols import REGISTRY

    pins = _pins()
    assert "torch" not in pins  # installed first, CPU or CUDA build (Makefile, binder)
    paths = [ROOT / "docs" / "runs" / f"{name}_fast.json" for name in sorted(REGISTRY)]
    assert paths and all(p.exists() for p in paths), [p.name for p in paths if not p.exists()]
    for path in paths:
        recorded = json.loads(path.read_text()).get("environment", {})
        assert recorded, f"{path.name} records no environment"
        assert recorded["python"].startswith("3.11."), (path.name, recorded["python"])
        for name, version in recorded.items():
            if name in ("python", "torch") or version is None:
                continue
            assert pins.get(name) == version, (f"{path.name} was made with {name} {version}; "
                                               f"constraints.txt pins {pins.get(name)}")


@pytest.mark.binder
def test_binder_fresh_venv_runs_notebooks(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    req = tmp_path / "requirements.txt"
    req.write_text(_local_requirements((ROOT / "binder" / "requirements.txt").read_text()))
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-r", str(req)], check=True,
                   cwd=ROOT, timeout=1500)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", ASTROAD_FAST="1", MPLBACKEND="Agg",
               ASTROAD_LABELS_DB=str(tmp_path / "labels.sqlite"))
    out = tmp_path / "executed"
    # binder/start's environment, then the notebooks in the Binder venv's own kernel
    proc = subprocess.run(
        [str(ROOT / "binder" / "start"), str(py), "-m", "astroad_nb.cli", "notebooks",
         "--execute", "--folder", str(ROOT / "notebooks"), "--output", str(out), "--timeout", "1200"],
        env=env, capture_output=True, text=True, timeout=2400)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in out.glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "notebooks").glob("[0-9]*.ipynb"))
