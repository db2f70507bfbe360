"""Inter-annotator agreement over plain tables: Krippendorff's alpha and pairwise percent agreement.

Data comes as a *counts* matrix: one row per unit (video), one column per category (rating level in
order, e.g. Good, Normal, Bad), entry = how many coders gave that category to that unit. Units with
fewer than two values are not pairable and drop out, as in Krippendorff (2011), "Computing
Krippendorff's Alpha-Reliability".
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .consensus import majority_from_counts
from .counts import counts_from_labels


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Per pairable unit its flattened coincidence contribution (units x k*k): O = sum over units."""
    m = counts.sum(axis=1)
    c = counts[m >= 2].astype(np.float64)
    w = 1.0 / (m[m >= 2] - 1)
    k = counts.shape[1]
    per_unit = (c[:, :, None] * c[:, None, :]) * w[:, None, None]
    per_unit[:, np.arange(k), np.arange(k)] -= c * w[:, None]
    return per_unit.reshape(len(c), k * k)


def count_patterns(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a counts matrix and how often each occurs (sorted, so independent of row order).

    Units with the same counts contribute the same coincidences; with three levels and a handful of
    coders there are only a few dozen patterns however many units there are.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) == 0:
        return counts.reshape(0, counts.shape[1]), np.zeros(0, dtype=np.int64)
    base = int(counts.max()) + 1
    k = counts.shape[1]
    if base ** k < 2**62:  # one integer per row: a 1-D unique, far lighter than unique(axis=0)
        code = counts @ (base ** np.arange(k, dtype=np.int64))
        codes, multiplicity = np.unique(code, return_counts=True)
        patterns = (codes[:, None] // (base ** np.arange(k, dtype=np.int64))) % base
        return patterns, multiplicity
    return np.unique(counts, axis=0, return_counts=True)


def _coincidences(counts: np.ndarray) -> np.ndarray:
    k = counts.shape[1]
    patterns, multiplicity = count_patterns(counts)
    pairable = patterns.sum(axis=1) >= 2
    return (multiplicity[pairable].astype(np.float64) @ _unit_coincidences(patterns[pairable])).reshape(k, k)


def delta_squared(n_c: np.ndarray, level: str) -> np.ndarray:
    k = len(n_c)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "ordinal":
        # delta^2(c, k) = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, categories in rank order.
        cum = np.concatenate([[0.0], np.cumsum(n_c)])
        d = np.zeros((k, k))
        for a in range(k):
            for b in range(k):
                lo, hi = min(a, b), max(a, b)
                d[a, b] = (cum[hi + 1] - cum[lo] - (n_c[a] + n_c[b]) / 2.0) ** 2
        return d
    if level == "interval":
        values = np.arange(k, dtype=np.float64)
        return (values[:, None] - values[None, :]) ** 2
    raise ValueError(f"unknown level of measurement {level!r}")


def _alpha_from_coincidences(o: np.ndarray, level: str) -> float:
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return float("nan")
    d2 = delta_squared(n_c, level)
    observed = (o * d2).sum()
    expected = (np.outer(n_c, n_c) * d2).sum()
    if expected == 0:
        return float("nan")  # no variation at all: alpha is undefined
    return float(1.0 - (n - 1) * observed / expected)


def krippendorff_alpha(counts: np.ndarray, level: str = "ordinal") -> float:
    return _alpha_from_coincidences(_coincidences(np.asarray(counts)), level)


@dataclass(frozen=True)
class AlphaEstimate:
    alpha: float
    low: float
    high: float
    units: int
    values: int


def alpha_with_ci(counts: np.ndarray, *, level: str = "ordinal", samples: int = 1000, seed: int = 0,
                  confidence: float = 0.95) -> AlphaEstimate:
    """Alpha with a percentile bootstrap interval over units (resampled with replacement, seeded).

    Units with the same counts are interchangeable, so a resample is drawn as how many units of each
    distinct counts pattern it holds (a multinomial over patterns): the same distribution as drawing
    units, in time and memory that do not grow with the number of units, and independent of row order.
    """
    counts = np.asarray(counts)
    pairable = counts[counts.sum(axis=1) >= 2]
    alpha = krippendorff_alpha(pairable, level)
    n_units = len(pairable)
    if n_units < 2 or np.isnan(alpha):
        return AlphaEstimate(alpha, float("nan"), float("nan"), n_units, int(pairable.sum()))
    patterns, multiplicity = count_patterns(pairable)
    per_pattern = _unit_coincidences(patterns)
    k = counts.shape[1]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_units, multiplicity / n_units, size=samples).astype(np.float64)
    boot = np.array([_alpha_from_coincidences((w @ per_pattern).reshape(k, k), level) for w in draws])
    boot = boot[~np.isnan(boot)]
    tail = (1.0 - confidence) / 2.0
    low, high = (np.quantile(boot, [tail, 1.0 - tail]) if len(boot) else (float("nan"), float("nan")))
    return AlphaEstimate(alpha, float(low), float(high), n_units, int(pairable.sum()))


def pairwise_agreement(counts: np.ndarray) -> float:
    """Share of agreeing pairs among all pairs of values coded for the same unit."""
    counts = np.asarray(counts, dtype=np.int64)
    m = counts.sum(axis=1)
    pairs = (m * (m - 1) // 2).sum()
    agreeing = (counts * (counts - 1) // 2).sum()
    return float(agreeing / pairs) if pairs else float("nan")


def agreement_with_others(unit_index: np.ndarray, coder_index: np.ndarray, labels: np.ndarray,
                          n_units: int, n_coders: int, n_categories: int,
                          majority=majority_from_counts) -> tuple[np.ndarray, np.ndarray]:
    """Per coder: (matches, comparisons) of their label against the majority of the *other* coders.

    The others' majority uses the same tie rule as the consensus (for ratings the worse, i.e. later,
    category wins a tie; pairs pass their own rule). Values of units no one else coded are not compared.
    """
    keep = labels >= 0
    u, c, y = unit_index[keep], coder_index[keep], labels[keep]
    counts = counts_from_labels(u, y, n_units, n_categories)
    others = counts[u].copy()
    others[np.arange(len(y)), y] -= 1
    compared = others.sum(axis=1) > 0
    consensus = majority(others)
    match = (consensus == y) & compared
    matches = np.bincount(c, weights=match, minlength=n_coders)
    comparisons = np.bincount(c, weights=compared, minlength=n_coders)
    return matches, comparisons
