#!/usr/bin/env python3
"""Writes the model fixtures of VigilModelsTests and the libraries' own predictions.

For every model NAME it writes the model file and NAME.expected.csv: one column per model input
(in the model's input order, full float64 precision, empty = NaN) and a last column `expected`,
the training library's own prediction for that row (probability of the positive class for
classifiers, raw value for regressions). Rows include NaNs, zeros, values exactly on split
thresholds and the float32 neighbours of thresholds, and out-of-range categories, so that the
tests pin down the libraries' comparison rules rather than their typical behaviour.

Outputs are committed so that the tests need no Python. Rerun from the repository root:
    .venv/bin/python Tests/VigilModelsTests/Fixtures/make_models.py
(with xgboost, lightgbm, scikit-learn, skl2onnx, onnx and onnxruntime installed in .venv).
"""
import json
import os

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import xgboost as xgb
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = ["amount", "count_1d", "avg_1d", "risk_7d", "hour", "category"]
rng = np.random.default_rng(42)


def training_data(n=1500, nan_share=0.05):
    X = np.column_stack([
        rng.lognormal(3, 1, n),
        rng.integers(0, 12, n).astype(float),
        rng.normal(50, 20, n),
        rng.beta(1, 8, n),
        rng.integers(0, 24, n).astype(float),
        rng.integers(0, 8, n).astype(float),
    ])
    logit = 0.02 * (X[:, 0] - 30) + 0.2 * (X[:, 1] - 5) + 6 * X[:, 3] - 1.5 * (X[:, 4] < 6) \
        + np.where(np.isin(X[:, 5], [2, 5]), 1.5, -0.5) + rng.normal(0, 0.5, n)
    y = (logit > 0).astype(int)
    y_reg = logit / 4
    X_nan = X.copy()
    # Columns 0 and 2 see NaNs in training (learned default directions); the others never do.
    for column in (0, 2):
        X_nan[rng.random(n) < nan_share, column] = np.nan
    return X, X_nan, y, y_reg


def probe_rows(X, thresholds, count=150):
    """Random rows, then rows that sit exactly on (and just beside) each split threshold."""
    rows = [X[i].copy() for i in rng.choice(len(X), count, replace=False)]
    for i in range(0, count, 7):
        rows[i][rng.integers(0, X.shape[1])] = np.nan
    for i in range(3, count, 11):
        rows[i][:] = np.nan
    for i in range(5, count, 13):
        rows[i][rng.integers(0, X.shape[1])] = 0.0
    for feature, value in thresholds[:120]:
        base = X[rng.integers(0, len(X))].copy()
        f32 = np.float32(value)
        for v in (value, float(f32), float(np.nextafter(f32, np.float32(-np.inf))),
                  float(np.nextafter(f32, np.float32(np.inf))), np.nextafter(value, -np.inf),
                  np.nextafter(value, np.inf),
                  (float(f32) + float(np.nextafter(f32, np.float32(-np.inf)))) / 2):
            row = base.copy()
            row[feature] = v
            rows.append(row)
    # Categories out of range, negative, fractional and huge.
    for v in (-1.0, -0.5, 0.5, 2.0, 2.9, 7.0, 8.0, 31.0, 32.0, 1e10, np.nan) if X.shape[1] > 5 else ():
        row = X[rng.integers(0, len(X))].copy()
        row[5] = v
        rows.append(row)
    return np.array(rows)


def write_expected(name, names, rows, expected):
    with open(os.path.join(HERE, f"{name}.expected.csv"), "w") as out:
        out.write(",".join(names + ["expected"]) + "\n")
        for row, value in zip(rows, expected):
            cells = ["" if np.isnan(v) else repr(float(v)) for v in row]
            out.write(",".join(cells + [repr(float(value))]) + "\n")


def xgboost_thresholds(booster):
    found = []
    for tree in json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]:
        for f, t, left in zip(tree["split_indices"], tree["split_conditions"], tree["left_children"]):
            if left != -1:
                found.append((f, t))
    return found


def lightgbm_thresholds(booster):
    found = []
    for tree in booster.dump_model()["tree_info"]:
        stack = [tree["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" in node:
                if node["decision_type"] == "<=":
                    found.append((node["split_feature"], float(node["threshold"])))
                stack += [node["left_child"], node["right_child"]]
    return found


def make_xgboost(X, X_nan, y, y_reg):
    cases = [
        ("xgb_binary", "binary:logistic", y, {}),
        ("xgb_regression", "reg:squarederror", y_reg, {}),
        ("xgb_reglogistic", "reg:logistic", (y_reg - y_reg.min()) / np.ptp(y_reg), {"base_score": 0.3}),
    ]
    for name, objective, target, extra in cases:
        params = {"objective": objective, "max_depth": 4, "eta": 0.3, "seed": 0, "nthread": 1, **extra}
        dtrain = xgb.DMatrix(X_nan[:, :5], label=target, feature_names=NAMES[:5])
        booster = xgb.train(params, dtrain, num_boost_round=20)
        booster.save_model(os.path.join(HERE, f"{name}.json"))
        rows = probe_rows(X[:, :5], xgboost_thresholds(booster))
        expected = booster.predict(xgb.DMatrix(rows, feature_names=NAMES[:5]))
        write_expected(name, NAMES[:5], rows, expected)


def make_lightgbm(X, X_nan, y, y_reg):
    cases = [
        ("lgbm_binary", {"objective": "binary"}, y, []),
        ("lgbm_categorical", {"objective": "binary", "max_cat_to_onehot": 2, "min_data_per_group": 5,
                              "cat_smooth": 1}, y, [5]),
        ("lgbm_zero_missing", {"objective": "binary", "zero_as_missing": True}, y, []),
        ("lgbm_regression", {"objective": "regression"}, y_reg, []),
    ]
    for name, params, target, categorical in cases:
        params = {**params, "num_leaves": 15, "learning_rate": 0.1, "min_data_in_leaf": 10,
                  "seed": 0, "num_threads": 1, "verbose": -1}
        train = lgb.Dataset(X_nan, label=target, feature_name=NAMES, categorical_feature=categorical,
                            free_raw_data=False)
        booster = lgb.train(params, train, num_boost_round=25)
        booster.save_model(os.path.join(HERE, f"{name}.txt"))
        rows = probe_rows(X, lightgbm_thresholds(booster))
        write_expected(name, NAMES, rows, booster.predict(rows))


def dense_layer(weights, bias, activation):
    return {"weights": np.asarray(weights).tolist(), "bias": np.asarray(bias).tolist(), "activation": activation}


def make_dense(X, y):
    X5 = X[:, :5]
    y3 = np.digitize(X[:, 3], [0.08, 0.18])
    rows = probe_rows(X5, [])
    rows = np.nan_to_num(rows[~np.isnan(rows).any(axis=1)], nan=0.0)
    activations = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}

    logreg = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X5, y)
    scaler, model = logreg.steps[0][1], logreg.steps[1][1]
    document = {"format": "vigil-dense", "version": 1, "inputs": NAMES[:5],
                "standardize": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
                "layers": [dense_layer(model.coef_.T, model.intercept_, "sigmoid")]}
    json.dump(document, open(os.path.join(HERE, "logreg.json"), "w"), indent=1)
    write_expected("logreg", NAMES[:5], rows, logreg.predict_proba(rows)[:, 1])

    for name, hidden, act, target, positive in [("mlp_relu", (16, 8), "relu", y, 1),
                                                 ("mlp_tanh", (12,), "tanh", y, 1),
                                                 ("mlp_softmax", (10,), "logistic", y3, 2)]:
        pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=hidden, activation=act,
                                                             max_iter=300, random_state=0)).fit(X5, target)
        scaler, mlp = pipe.steps[0][1], pipe.steps[1][1]
        layers = [dense_layer(w, b, activations[act]) for w, b in zip(mlp.coefs_[:-1], mlp.intercepts_[:-1])]
        output = "softmax" if mlp.out_activation_ == "softmax" else "sigmoid"
        layers.append(dense_layer(mlp.coefs_[-1], mlp.intercepts_[-1], output))
        document = {"format": "vigil-dense", "version": 1, "inputs": NAMES[:5],
                    "standardize": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
                    "layers": layers, "output_index": positive if output == "softmax" else 0}
        json.dump(document, open(os.path.join(HERE, f"{name}.json"), "w"), indent=1)
        write_expected(name, NAMES[:5], rows, pipe.predict_proba(rows)[:, positive])

    # ONNX exports as skl2onnx writes them (float32 weights, StandardScaler as a Scaler node);
    # the reference is ONNX Runtime's own output on the ONNX file.
    for name, pipe in [("onnx_logreg", make_pipeline(StandardScaler(), LogisticRegression()).fit(X5, y)),
                       ("onnx_mlp", make_pipeline(StandardScaler(), MLPClassifier(
                           hidden_layer_sizes=(16, 8), max_iter=300, random_state=0)).fit(X5, y)),
                       ("onnx_mlp_tanh", make_pipeline(StandardScaler(), MLPClassifier(
                           hidden_layer_sizes=(8,), activation="tanh", max_iter=300, random_state=0)).fit(X5, y))]:
        onx = convert_sklearn(pipe, initial_types=[("float_input", FloatTensorType([None, 5]))],
                              options={id(pipe.steps[-1][1]): {"zipmap": False}})
        entry = onx.metadata_props.add()
        entry.key, entry.value = "vigil.input_names", ",".join(NAMES[:5])
        path = os.path.join(HERE, f"{name}.onnx")
        open(path, "wb").write(onx.SerializeToString())
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        probabilities = session.run(None, {"float_input": rows.astype(np.float32)})[1]
        write_expected(name, NAMES[:5], rows, probabilities[:, 1])


def main():
    X, X_nan, y, y_reg = training_data()
    make_xgboost(X, X_nan, y, y_reg)
    make_lightgbm(X, X_nan, y, y_reg)
    make_dense(X, y)


if __name__ == "__main__":
    main()
