#!/usr/bin/env python3
"""Writes drift-statistics fixtures (inputs and SciPy/NumPy answers) for VigilDriftTests.

Run from anywhere: python3 make_drift_fixtures.py  (writes drift-fixtures.json beside itself).
Needs numpy and scipy; the committed JSON lets CI run the Swift tests without Python.

Two kinds of expected values:
- exact ones (profile moments, quantile edges, bin proportions, PSI, Jensen-Shannon, chi-square,
  raw-sample KS and Wasserstein) that Swift must match to 1e-9;
- the sketch KS/Wasserstein, computed here by the same algorithm Vigil uses (a histogram over
  the reference's fine quantiles), also to 1e-9, next to SciPy's raw-sample values, so that the
  tests can check the approximation bound and docs/drift.md can quote the observed error.
"""
import json
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

PSI_FLOOR = 1e-4
rng = np.random.default_rng(20240606)


def quantile(sorted_values, p):
    """NumPy's default 'linear' quantile, written out as Vigil computes it."""
    position = p * (len(sorted_values) - 1)
    lower = min(int(np.floor(position)), len(sorted_values) - 1)
    upper = min(lower + 1, len(sorted_values) - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def bin_edges(sorted_values, bins):
    edges = []
    for j in range(1, bins):
        e = quantile(sorted_values, j / bins)
        assert abs(e - np.quantile(sorted_values, j / bins)) <= 1e-12 * max(1.0, abs(e))
        if edges and e <= edges[-1]:
            continue
        edges.append(e)
    return edges


def sketch(values, knots):
    """Counts and gap sums over the knots (bin k = (knots[k], knots[k+1]], bin 0 closed)."""
    k = len(knots) - 1
    counts = [0] * k
    gaps = [0.0] * k
    below = above = 0
    below_gap = above_gap = 0.0
    for x in values:
        if x < knots[0]:
            below += 1
            below_gap += knots[0] - x
        elif x > knots[-1]:
            above += 1
            above_gap += x - knots[-1]
        else:
            b = max(int(np.searchsorted(knots, x, side="left")), 1) - 1
            counts[b] += 1
            gaps[b] += knots[b + 1] - x
    return dict(below=below, belowGap=below_gap, above=above, aboveGap=above_gap, counts=counts, gaps=gaps,
                total=len(values))


def sketch_ks(r, w):
    nr, nw = r["total"], w["total"]
    mr, mw = r["below"], w["below"]
    d = abs(mw / nw - mr / nr)
    for b in range(len(r["counts"])):
        mr += r["counts"][b]
        mw += w["counts"][b]
        d = max(d, abs(mw / nw - mr / nr))
    return d


def sketch_wasserstein(knots, r, w):
    nr, nw = r["total"], w["total"]
    d = abs(w["belowGap"] / nw - r["belowGap"] / nr) + abs(w["aboveGap"] / nw - r["aboveGap"] / nr)
    mr, mw = r["below"], w["below"]
    for b in range(len(r["counts"])):
        width = knots[b + 1] - knots[b]
        d += abs(width * (mw / nw - mr / nr) + w["gaps"][b] / nw - r["gaps"][b] / nr)
        mr += r["counts"][b]
        mw += w["counts"][b]
    return d


def psi(expected, actual):
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def proportions(values, edges):
    idx = np.searchsorted(np.asarray(edges), values, side="left")
    return (np.bincount(idx, minlength=len(edges) + 1) / len(values)).tolist()


def numeric_case(name, reference, window, bins=10, resolution=1000):
    reference = np.asarray(reference, dtype=float)
    window = np.asarray(window, dtype=float)
    ref = np.sort(reference[np.isfinite(reference)])
    win = window[np.isfinite(window)]
    edges = bin_edges(ref, bins)
    knots = list(np.maximum.accumulate([quantile(ref, k / resolution) for k in range(resolution + 1)]))
    assert np.allclose(knots, np.quantile(ref, np.arange(resolution + 1) / resolution), rtol=0, atol=1e-12)
    r = sketch(ref, knots)
    w = sketch(win, knots)
    ref_props = proportions(ref, edges)
    win_props = proportions(win, edges)
    # Bound from docs/drift.md: the CDFs can part between knots by at most one bin's share.
    ks_bound = max(max(c / r["total"] for c in r["counts"]), max(c / w["total"] for c in w["counts"]))
    return dict(
        name=name, bins=bins, sketchResolution=resolution,
        reference=[None if not np.isfinite(x) else float(x) for x in reference],
        window=[None if not np.isfinite(x) else float(x) for x in window],
        expected=dict(
            referenceCount=int(len(ref)), referenceMissingShare=float(1 - len(ref) / len(reference)),
            referenceMean=float(np.mean(ref)), referenceStd=float(np.std(ref)),
            referenceMin=float(ref[0]), referenceMax=float(ref[-1]),
            binEdges=[float(e) for e in edges], referenceProportions=ref_props,
            knots=[float(k) for k in knots], referenceSketchCounts=r["counts"],
            windowCount=int(len(win)), windowMissingShare=float(1 - len(win) / len(window)),
            windowMean=float(np.mean(win)), windowStd=float(np.std(win)),
            windowMin=float(np.min(win)), windowMax=float(np.max(win)),
            windowProportions=win_props,
            psi=psi(ref_props, win_props),
            jensenShannon=float(distance.jensenshannon(ref_props, win_props, base=2)),
            ksExact=float(stats.ks_2samp(ref, win).statistic),
            wassersteinExact=float(stats.wasserstein_distance(ref, win)),
            ksSketch=sketch_ks(r, w), ksSketchBound=ks_bound,
            wassersteinSketch=sketch_wasserstein(knots, r, w),
        ),
    )


def categorical_case(name, reference, window):
    ref = [x for x in reference if x is not None]
    win = [x for x in window if x is not None]
    categories = sorted(set(ref))
    shares = [ref.count(c) / len(ref) for c in categories]
    counts = [win.count(c) for c in categories]
    unseen = sum(1 for x in win if x not in categories)
    ref_bins = shares + [0.0]
    win_counts = counts + [unseen]
    win_props = [c / len(win) for c in win_counts]
    bins = len(ref_bins) if unseen > 0 else len(shares)
    floored = np.maximum(np.asarray(ref_bins[:bins]), PSI_FLOOR)
    expected_counts = floored / floored.sum() * len(win)
    chi = stats.chisquare(np.asarray(win_counts[:bins], dtype=float), expected_counts)
    return dict(
        name=name, reference=list(reference), window=list(window),
        expected=dict(
            categories=categories, shares=shares,
            referenceMissingShare=1 - len(ref) / len(reference), windowMissingShare=1 - len(win) / len(window),
            windowCount=len(win), unseenShare=unseen / len(win),
            psi=psi(ref_bins, win_props),
            jensenShannon=float(distance.jensenshannon(ref_bins, win_props, base=2)),
            chiSquare=float(chi.statistic), chiSquareDegreesOfFreedom=bins - 1, chiSquarePValue=float(chi.pvalue),
        ),
    )


def with_missing(values, share):
    values = np.asarray(values, dtype=float).copy()
    values[rng.random(len(values)) < share] = np.nan
    return values


numeric = [
    numeric_case("normal shifted and wider", rng.normal(0, 1, 3000), rng.normal(0.3, 1.2, 800)),
    numeric_case("same distribution", rng.normal(5, 2, 3000), rng.normal(5, 2, 1000)),
    numeric_case("amounts, rounded to cents, x1.5",
                 np.round(rng.lognormal(3.5, 0.8, 4000), 2), np.round(rng.lognormal(3.5, 0.8, 1000) * 1.5, 2)),
    numeric_case("counts with ties and missing values",
                 with_missing(rng.poisson(3, 3000), 0.05), with_missing(rng.poisson(3.6, 700), 0.15)),
    numeric_case("binary flag", rng.binomial(1, 0.3, 2000), rng.binomial(1, 0.45, 500)),
    numeric_case("window beyond the reference range", rng.uniform(0, 1, 1000), rng.uniform(-0.5, 1.8, 400)),
    numeric_case("coarse sketch", rng.gamma(2, 2, 2000), rng.gamma(2.5, 2, 600), bins=5, resolution=100),
]

letters = ["a", "b", "c", "d"]
categorical = [
    categorical_case(
        "shares move, one unseen category, missing values",
        [None if rng.random() < 0.02 else str(x) for x in rng.choice(letters, 2000, p=[0.4, 0.3, 0.2, 0.1])],
        [None if rng.random() < 0.05 else str(x)
         for x in rng.choice(letters + ["e"], 500, p=[0.25, 0.25, 0.2, 0.2, 0.1])]),
    categorical_case(
        "same shares",
        [str(x) for x in rng.choice(letters, 3000, p=[0.4, 0.3, 0.2, 0.1])],
        [str(x) for x in rng.choice(letters, 1000, p=[0.4, 0.3, 0.2, 0.1])]),
]

jensen_shannon = []
for p, q in [([0.5, 0.5], [0.5, 0.5]), ([1, 0], [0, 1]), ([0.1, 0.2, 0.7], [0.3, 0.3, 0.4]),
             ([0.0, 0.25, 0.75, 0.0], [0.1, 0.1, 0.4, 0.4]), ([3, 1, 0, 6], [1, 1, 1, 1])]:
    jensen_shannon.append(dict(p=p, q=q, expected=float(distance.jensenshannon(p, q, base=2))))

chi_square = []
for observed, expected in [([10, 20, 30], [20, 20, 20]), ([5, 7], [6, 6]), ([100, 0, 50], [50, 50, 50]),
                           (list(range(1, 22)), [11.0] * 21), ([900, 100], [500, 500]),
                           ([12, 9, 11, 8], [10.5, 9.5, 10.2, 9.8])]:
    result = stats.chisquare(observed, expected)
    chi_square.append(dict(observed=observed, expected=expected, statistic=float(result.statistic),
                           degreesOfFreedom=len(observed) - 1, pValue=float(result.pvalue)))

psi_cases = []
for e, a in [([0.1] * 10, [0.1] * 10), ([0.5, 0.5, 0.0], [0.4, 0.4, 0.2]), ([0.2, 0.3, 0.5], [0.0, 0.0, 1.0])]:
    psi_cases.append(dict(expected=e, actual=a, psi=psi(e, a)))

fixtures = dict(
    generator=f"make_drift_fixtures.py, numpy {np.__version__}, scipy {scipy.__version__}",
    psiFloor=PSI_FLOOR, numeric=numeric, categorical=categorical,
    jensenShannon=jensen_shannon, chiSquare=chi_square, psi=psi_cases,
)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "drift-fixtures.json")
with open(path, "w") as f:
    json.dump(fixtures, f, separators=(",", ":"), allow_nan=False)
    f.write("\n")

# The observed approximation of the sketch statistics, quoted in docs/drift.md.
for case in numeric:
    x = case["expected"]
    print(f'{case["name"]:45s} K={case["sketchResolution"]:5d}  KS {x["ksExact"]:.5f} sketch {x["ksSketch"]:.5f} '
          f'(bound {x["ksSketchBound"]:.4f})  W {x["wassersteinExact"]:.6g} sketch {x["wassersteinSketch"]:.6g} '
          f'rel.err {abs(x["wassersteinSketch"] - x["wassersteinExact"]) / max(x["wassersteinExact"], 1e-300):.2e}')
