#!/usr/bin/env python3
"""Writes the TreeSHAP parity fixtures of VigilModelsTests: the libraries' own contributions.

For every tree model NAME of the fixtures (the files make_models.py wrote) it reads the probe
rows of NAME.expected.csv and writes NAME.contribs.csv: one column per model input, then
`bias`, each row the library's exact path-dependent TreeSHAP values for the same row of
NAME.expected.csv: `Booster.predict(DMatrix, pred_contribs=True)` for XGBoost,
`Booster.predict(rows, pred_contrib=True)` for LightGBM. They add up to the margin.

It also trains `xgb_deep` (binary:logistic, depth 6, 60 rounds, exact tree method: the shape of
the card-fraud model) on the same synthetic data as make_models.py, and writes its model,
expected scores and contributions the same way.

Outputs are committed so that the tests need no Python. Rerun from the repository root:
    VENV/bin/python Tests/VigilModelsTests/Fixtures/make_contributions.py
(with xgboost, lightgbm and numpy installed in the venv; written with xgboost 3.2.0 and
lightgbm 4.7.0).
"""
import os

import lightgbm as lgb
import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
XGBOOST = ["xgb_binary", "xgb_regression", "xgb_reglogistic", "xgb_deep"]
LIGHTGBM = ["lgbm_binary", "lgbm_categorical", "lgbm_zero_missing", "lgbm_regression"]


def read_rows(name):
    with open(os.path.join(HERE, f"{name}.expected.csv")) as source:
        names = source.readline().strip().split(",")[:-1]
        rows = [[float(cell) if cell else np.nan for cell in line.rstrip("\n").split(",")[:-1]] for line in source]
    return names, np.array(rows, dtype=float)


def write_table(path, header, rows):
    with open(path, "w") as out:
        out.write(",".join(header) + "\n")
        for row in rows:
            out.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")


def make_deep_xgboost():
    """A deeper model than make_models.py's: depth-6 trees on the same kind of data."""
    rng = np.random.default_rng(7)
    n = 3000
    X = np.column_stack([rng.lognormal(3, 1, n), rng.integers(0, 12, n).astype(float), rng.normal(50, 20, n),
                         rng.beta(1, 8, n), rng.integers(0, 24, n).astype(float)])
    logit = 0.02 * (X[:, 0] - 30) + 0.2 * (X[:, 1] - 5) + 6 * X[:, 3] - 1.5 * (X[:, 4] < 6) + rng.normal(0, 0.7, n)
    y = (logit > 0).astype(int)
    X[rng.random(n) < 0.05, 2] = np.nan
    names = ["amount", "count_1d", "avg_1d", "risk_7d", "hour"]
    params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.3, "seed": 0, "nthread": 1,
              "tree_method": "exact"}
    booster = xgb.train(params, xgb.DMatrix(X, label=y, feature_names=names), num_boost_round=60)
    booster.save_model(os.path.join(HERE, "xgb_deep.json"))
    rows = X[rng.choice(n, 200, replace=False)].copy()
    rows[::9, 0] = np.nan
    expected = booster.predict(xgb.DMatrix(rows, feature_names=names))
    write_table(os.path.join(HERE, "xgb_deep.expected.csv"), names + ["expected"],
                np.column_stack([rows, expected]))


def main():
    make_deep_xgboost()
    for name in XGBOOST:
        names, rows = read_rows(name)
        booster = xgb.Booster(model_file=os.path.join(HERE, f"{name}.json"))
        contributions = booster.predict(xgb.DMatrix(rows, feature_names=names), pred_contribs=True)
        write_table(os.path.join(HERE, f"{name}.contribs.csv"), names + ["bias"], contributions)
    for name in LIGHTGBM:
        names, rows = read_rows(name)
        booster = lgb.Booster(model_file=os.path.join(HERE, f"{name}.txt"))
        contributions = booster.predict(rows, pred_contrib=True)
        write_table(os.path.join(HERE, f"{name}.contribs.csv"), names + ["bias"], contributions)
        print(name, "max |sum - margin|",
              float(np.max(np.abs(contributions.sum(axis=1) - booster.predict(rows, raw_score=True)))))


if __name__ == "__main__":
    main()
