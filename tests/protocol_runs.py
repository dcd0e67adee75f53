"""Helpers shared by the protocol and notebook tests: the committed FAST runs, table equality,
and the cell that makes a notebook print its headline table."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from astroad_nb.protocols import Run
from astroad_nb.protocols._base import environment, frame_from_json, frame_to_json

RUNS = Path(__file__).resolve().parents[1] / "docs" / "runs"

#: Appended to a notebook: prints the notebook's ``HEADLINE`` table as JSON.
HEADLINE_CELL = ("import json as _json\n"
                 "from astroad_nb.protocols._base import frame_to_json as _f2j\n"
                 "print('HEADLINE', _json.dumps(_f2j(HEADLINE)))")


def committed_run(system: str) -> Run:
    """The committed FAST run of a protocol (``docs/runs/<system>_fast.json``).

    Warns when it was made with other package versions than this environment's: its last
    digits (and, through training, more) then need not be reproduced here; ``make setup``
    installs the versions of ``constraints.txt``, the ones the committed runs were made with.
    """
    run = Run.from_json(RUNS / f"{system}_fast.json")
    here = environment()
    drift = {k: (v, here.get(k)) for k, v in run.environment.items() if here.get(k) != v}
    if drift or not run.environment:
        warnings.warn(f"docs/runs/{system}_fast.json was made with other versions (committed, "
                      f"here): {drift or 'not recorded'}", stacklevel=2)
    return run


def headline_of(text: str) -> pd.DataFrame:
    """The table a notebook printed with :data:`HEADLINE_CELL`."""
    found = re.search(r"^HEADLINE (.*)$", text, flags=re.M)
    assert found, f"no HEADLINE line in {text[-500:]!r}"
    return frame_from_json(json.loads(found.group(1)))


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, atol=1e-6):
    """Same index, columns and values (numbers to ``atol``, NaN where NaN)."""
    got, want = frame_from_json(frame_to_json(got)), frame_from_json(frame_to_json(want))
    assert list(got.index) == list(want.index)
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        g, w = got[col], want[col]
        if pd.api.types.is_numeric_dtype(w):
            np.testing.assert_allclose(g.to_numpy(float), w.to_numpy(float), atol=atol,
                                       rtol=0, err_msg=f"column {col!r}")
        else:
            assert g.tolist() == w.tolist(), col
