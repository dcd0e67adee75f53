"""The floors of DESIGN.md hold: no module imports a module of a higher floor, not even lazily
inside a function. Bottom to top: data -> features -> models (+ training, io) -> evaluation,
active, scoring, plotting -> protocols -> widgets, cli."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "astroad_nb"

#: First component under astroad_nb -> floor (higher = further up).
FLOORS = {
    "_config": 0, "store": 0, "data": 0,
    "features": 1,
    "models": 2, "training": 2, "io": 2,
    "evaluation": 3, "active": 3, "scoring": 3, "plotting": 3,
    "protocols": 4,
    "widgets": 5, "cli": 5,
}


def _component(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "astroad_nb" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            if node.module == "astroad_nb":  # from astroad_nb import evaluation
                for alias in node.names:
                    yield node.lineno, f"astroad_nb.{alias.name}"


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"
                  or p.parent != PACKAGE)


def test_every_module_has_a_floor():
    missing = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in _modules()} - set(FLOORS)
    assert not missing, f"give these a floor in FLOORS (and DESIGN.md): {sorted(missing)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_runs_up_a_floor(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = []
    for line, module in _imports(path):
        target = _component(module)
        if target is None or target == own or target not in FLOORS:
            continue
        if FLOORS[target] > FLOORS[own]:
            upward.append(f"line {line}: {module} (floor {FLOORS[target]} > {own}'s "
                          f"{FLOORS[own]})")
    assert not upward, f"{path.relative_to(PACKAGE)} imports upward: " + "; ".join(upward)


def test_panel_states_load_without_ipywidgets():
    """The widget states import no ipywidgets, and importing them does not import the panels."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['ipywidgets'] = None\n"
            "import astroad_nb.widgets.stream_state, astroad_nb.widgets.browser_state, "
            "astroad_nb.widgets.labeling_state, astroad_nb.widgets.reconstruction_state, "
            "astroad_nb.widgets.context_state\n"
            "assert 'astroad_nb.widgets.streams' not in sys.modules\n"
            "print('ok')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr
