"""The README's API example runs as printed (with smaller sizes)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_example_runs(capsys):
    text = README.read_text()
    code = re.search(r"## Ten lines of API\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    small = (code.replace("simulate_lightcurves(100,", "simulate_lightcurves(20,")
                 .replace("DeepSVDD(random_state=0)", "DeepSVDD(epochs=40, random_state=0)"))
    assert small != code  # the sizes we shrink are still the ones the README shows
    exec(compile(small, str(README), "exec"), {})
    out = capsys.readouterr().out
    auroc = float(re.search(r"auroc\s+([0-9.]+)", out).group(1))
    assert auroc > 0.7
