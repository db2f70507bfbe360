"""The counts matrix that agreement and consensus both read: one row per unit (video), one column per
category (rating level in order), entry = how many coders gave that category to that unit."""
from __future__ import annotations

import numpy as np


def counts_from_reliability_matrix(matrix, categories: list) -> np.ndarray:
    """Coders x units matrix (None / NaN for missing) into a units x categories counts matrix."""
    index = {c: i for i, c in enumerate(categories)}
    rows = list(zip(*matrix))  # units
    counts = np.zeros((len(rows), len(categories)), dtype=np.int64)
    for u, values in enumerate(rows):
        for value in values:
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            counts[u, index[value]] += 1
    return counts


def counts_from_labels(unit_index: np.ndarray, labels: np.ndarray, n_units: int, n_categories: int) -> np.ndarray:
    """Long format (one row per coded value; label -1 = missing) into a units x categories counts matrix."""
    keep = labels >= 0
    index_type = np.int32 if n_units * n_categories < 2**31 else np.int64  # half the memory of the usual case
    flat = unit_index[keep].astype(index_type) * index_type(n_categories) + labels[keep].astype(index_type)
    return np.bincount(flat, minlength=n_units * n_categories).reshape(n_units, n_categories)
