"""The stream-membership task, :class:`StreamProblem`: a field of stars, truth, a support set.

The field is a :class:`pandas.DataFrame` with Gaia column names whose unique index names the
stars; support sets, truth and scores refer to stars through it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

__all__ = ["StreamProblem"]

@dataclasses.dataclass
class StreamProblem:
    """One stream-membership task: a field of stars, the true members, and a support set.

    Parameters
    ----------
    field : pandas.DataFrame, shape (n_stars, n_columns)
        The stars (Gaia column names). Its index must be unique: it is how support sets,
        truth and scores refer to stars.
    truth : array of bool, shape (n_stars,), or None
        ``True`` for stream members when known (simulations, the seed's labelled fields).
    support : index labels, or bool array of shape (n_stars,), or None
        The known members given to the model (the support set). Stored as a
        :class:`pandas.Index` of ``field`` labels. ``None`` means "not drawn yet" (see
        :meth:`draw_support`); an empty support set is an error. A single member is allowed.
    name : str
        Stream name, e.g. ``"stream-1667"`` or ``"GD-1"``.
    meta : dict
        Provenance (files read, simulation parameters, caveats).

    Raises
    ------
    ValueError
        If the field index is not unique, ``truth`` has the wrong length, a support label is
        not in the field, or the support set is empty.
    """

    field: pd.DataFrame
    truth: np.ndarray | None = None
    support: pd.Index | None = None
    name: str = ""
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.field, pd.DataFrame):
            raise TypeError(
                f"StreamProblem {self.name!r}: field must be a pandas DataFrame, got "
                f"{type(self.field).__name__}.")
        if not self.field.index.is_unique:
            dup = self.field.index[self.field.index.duplicated()][:5].tolist()
            raise ValueError(
                f"StreamProblem {self.name!r}: the field index must be unique (it names the "
                f"stars), found duplicated labels such as {dup}. Fix: field.reset_index(drop=True)"
                " or index by source_id.")
        if self.truth is not None:
            truth = np.asarray(self.truth)
            if truth.shape != (len(self.field),):
                raise ValueError(
                    f"StreamProblem {self.name!r}: truth has shape {truth.shape}, expected "
                    f"({len(self.field)},) (one flag per field star).")
            self.truth = truth.astype(bool)
        if self.support is not None:
            self.support = self._as_labels(self.support)

    def _as_labels(self, support) -> pd.Index:
        values = np.asarray(support)
        if values.dtype == bool:
            if values.shape != (len(self.field),):
                raise ValueError(
                    f"StreamProblem {self.name!r}: a boolean support mask has shape "
                    f"{values.shape}, expected ({len(self.field)},).")
            labels = self.field.index[values]
        else:
            labels = pd.Index(support)
        if len(labels) == 0:
            raise ValueError(
                f"StreamProblem {self.name!r}: the support set is empty; at least one known "
                "member is needed. Fix: pass the labels of known members, or call "
                "problem.draw_support(n_support, random_state=...) when truth is known.")
        missing = labels[~labels.isin(self.field.index)]
        if len(missing):
            raise ValueError(
                f"StreamProblem {self.name!r}: {len(missing)} support labels are not in the "
                f"field index, e.g. {missing[:5].tolist()}; the field index holds "
                f"{self.field.index[:3].tolist()}... Support labels must be field index labels.")
        if not labels.is_unique:
            labels = labels.unique()
        return labels

    # -- sizes and views ---------------------------------------------------------------------
    @property
    def n_stars(self) -> int:
        """Number of field stars."""
        return len(self.field)

    @property
    def n_members(self) -> int:
        """Number of true members (``truth.sum()``), or the support size when truth is unknown."""
        if self.truth is not None:
            return int(self.truth.sum())
        return 0 if self.support is None else len(self.support)

    @property
    def n_support(self) -> int:
        """Size of the support set (0 when not drawn yet)."""
        return 0 if self.support is None else len(self.support)

    @property
    def support_mask(self) -> np.ndarray:
        """Bool array, shape (n_stars,): ``True`` for support-set stars."""
        if self.support is None:
            return np.zeros(len(self.field), dtype=bool)
        return self.field.index.isin(self.support)

    @property
    def query_mask(self) -> np.ndarray:
        """Bool array, shape (n_stars,): stars to score (everything but the support set)."""
        return ~self.support_mask

    def support_frame(self) -> pd.DataFrame:
        """Rows of the field in the support set, shape (n_support, n_columns).

        Raises
        ------
        ValueError
            If no support set has been given or drawn yet.
        """
        if self.support is None:
            raise ValueError(
                f"StreamProblem {self.name!r} has no support set yet. Fix: "
                "problem.draw_support(n_support, random_state=...).")
        return self.field.loc[self.support]

    def members_frame(self) -> pd.DataFrame:
        """Rows of the field flagged as true members, shape (n_members, n_columns)."""
        if self.truth is None:
            raise ValueError(f"StreamProblem {self.name!r} has no truth (unlabelled field).")
        return self.field[self.truth]

    def subset(self, rows) -> StreamProblem:
        """A new problem restricted to ``rows`` (bool mask of shape (n_stars,) or index labels).

        The support set keeps the members that remain; if none remain it becomes ``None`` when
        the original had none, else a ``ValueError`` is raised (an empty support set is an
        error, never silently accepted).
        """
        rows = np.asarray(rows)
        if rows.dtype == bool:
            mask = rows
        else:
            mask = self.field.index.isin(pd.Index(rows))
        support = None
        if self.support is not None:
            support = self.support[self.support.isin(self.field.index[mask])]
        return StreamProblem(
            field=self.field[mask],
            truth=None if self.truth is None else self.truth[mask],
            support=support,
            name=self.name,
            meta=dict(self.meta),
        )

    def draw_support(self, n_support: int, *, random_state=None) -> StreamProblem:
        """A copy with a support set of ``n_support`` true members drawn at random.

        Parameters
        ----------
        n_support : int
            Size of the support set, ``1 <= n_support <= n_members``.
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        StreamProblem
        """
        if self.truth is None:
            raise ValueError(
                f"StreamProblem {self.name!r}: cannot draw a support set without truth; pass "
                "support labels of known members instead.")
        members = self.field.index[self.truth]
        if not 1 <= int(n_support) <= len(members):
            raise ValueError(
                f"StreamProblem {self.name!r}: n_support must be in [1, {len(members)}] (the "
                f"number of members), got {n_support!r}.")
        rng = np.random.default_rng(random_state)
        labels = members[np.sort(rng.choice(len(members), size=int(n_support), replace=False))]
        return dataclasses.replace(self, support=labels, meta=dict(self.meta))

    def __repr__(self) -> str:
        return (f"StreamProblem(name={self.name!r}, n_stars={self.n_stars}, "
                f"n_members={self.n_members if self.truth is not None else '?'}, "
                f"n_support={self.n_support})")
