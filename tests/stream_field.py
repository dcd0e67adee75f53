"""A tiny 8-star Gaia-like field shared by the stream-explorer tests (imported, not collected)."""

from __future__ import annotations

import pandas as pd

IDS = pd.Index([101, 102, 103, 104, 105, 106, 107, 108], name="source_id")
FIELD = pd.DataFrame({
    "ra": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0],
    "dec": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
    "pmra": [-5.0, -5.1, -4.9, 1.0, 2.0, 0.5, -5.2, 3.0],
    "pmdec": [-3.0, -3.1, -2.9, 0.0, 1.0, 0.2, -3.3, -1.0],
    "phot_g_mean_mag": [18.0, 18.5, 19.0, 15.0, 16.0, 17.0, 19.5, 14.0],
    "phot_bp_mean_mag": [18.4, 18.9, 19.4, 15.8, 16.7, 17.6, 19.9, 14.9],
    "phot_rp_mean_mag": [17.6, 18.0, 18.5, 14.2, 15.3, 16.3, 19.0, 13.1],
}, index=IDS)
