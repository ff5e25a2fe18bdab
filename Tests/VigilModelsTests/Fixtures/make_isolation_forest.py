"""Writes the Isolation Forest fixtures: iforest.json (through scripts/export-isolation-forest)
and iforest.expected.csv (rows and -score_samples from scikit-learn), for IsolationForestTests.

    /path/to/venv/bin/python Tests/VigilModelsTests/Fixtures/make_isolation_forest.py
(from the repository root, with numpy and scikit-learn installed in the venv).
"""
import importlib.machinery, importlib.util, os
import numpy as np
from sklearn.ensemble import IsolationForest

here = os.path.dirname(os.path.abspath(__file__))
loader = importlib.machinery.SourceFileLoader("exporter", os.path.join(here, "../../../scripts/export-isolation-forest"))
spec = importlib.util.spec_from_loader("exporter", loader)
exporter = importlib.util.module_from_spec(spec)
loader.exec_module(exporter)

rng = np.random.default_rng(7)
normal = rng.normal(size=(600, 4)) * [1.0, 2.0, 0.5, 10.0] + [0, 5, -1, 100]
outliers = rng.uniform(-8, 8, size=(40, 4)) * [1.0, 2.0, 0.5, 10.0] + [0, 5, -1, 100]
train = np.vstack([normal, outliers])
model = IsolationForest(n_estimators=50, max_samples=128, random_state=3).fit(train)
inputs = ["a", "b", "c", "d"]
with open(os.path.join(here, "iforest.json"), "w") as out:
    import json
    json.dump(exporter.export(model, inputs), out, separators=(",", ":"))
test = np.vstack([rng.normal(size=(150, 4)) * [1.0, 2.0, 0.5, 10.0] + [0, 5, -1, 100],
                  rng.uniform(-10, 10, size=(50, 4)) * [1.0, 2.0, 0.5, 10.0] + [0, 5, -1, 100],
                  train[:50]])  # training rows: values exactly at the float32 roundings
expected = -model.score_samples(test)
with open(os.path.join(here, "iforest.expected.csv"), "w") as out:
    out.write(",".join(inputs + ["expected"]) + "\n")
    for row, score in zip(test, expected):
        out.write(",".join(repr(float(v)) for v in row) + "," + repr(float(score)) + "\n")
