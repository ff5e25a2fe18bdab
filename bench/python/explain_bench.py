#!/usr/bin/env python3
"""Reason codes benchmark: Vigil's exact TreeSHAP per event beside XGBoost's own.

Runs bench's ExplainBench executable (release build), which replays the handbook's
transactions through the card-fraud topology, keeps the model-input rows of 2018-08-14 (about
9,500 events), and measures CPU time per event of TreeExplainer.contributions (one event at a
time, as alerts are explained) and of scoring the same rows in batches of 1024; then measures
XGBoost's Booster.predict(pred_contribs=True) on the same rows, one thread, both one row at a
time (a DMatrix per event, as a service explaining alerts would) and in one batch, and prints a
Markdown table. The card-fraud model is XGBoost, 100 trees of depth 6.

Rerun from bench/ (xgboost, numpy in the venv):
    swift build -c release --product ExplainBench && VENV/bin/python python/explain_bench.py
"""
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
MODEL = os.path.join(BENCH, "..", "topologies", "models", "card-fraud-xgboost.json")


def cpu():
    return time.process_time()


def main():
    print("uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory() as folder:
        rows_path = os.path.join(folder, "rows.csv")
        result = subprocess.run([os.path.join(BENCH, ".build", "release", "ExplainBench"), "--rows-out", rows_path],
                                check=True, capture_output=True, text=True, cwd=BENCH)
        vigil = dict(line.split("\t") for line in result.stdout.strip().splitlines())
        with open(rows_path) as source:
            names = source.readline().strip().split(",")
        rows = np.loadtxt(rows_path, delimiter=",", skiprows=1)
    booster = xgb.Booster(model_file=MODEL)
    booster.set_param({"nthread": 1})
    count = len(rows)
    batch = xgb.DMatrix(rows, feature_names=names)
    best_batch = min(_timed(lambda: booster.predict(batch, pred_contribs=True)) for _ in range(3))
    sample = rows[:1000]
    start = cpu()
    for row in sample:
        booster.predict(xgb.DMatrix(row.reshape(1, -1), feature_names=names), pred_contribs=True)
    single = (cpu() - start) / len(sample)
    print(f"{count} events of 2018-08-14, card-fraud XGBoost (100 trees, depth 6), one thread, CPU µs per event\n")
    print("| what | µs per event |")
    print("|---|---|")
    print(f"| Vigil TreeExplainer, one event at a time | {float(vigil['vigil_explain_us']):.1f} |")
    print(f"| XGBoost pred_contribs, one event per call | {single * 1e6:.1f} |")
    print(f"| XGBoost pred_contribs, all {count} events in one call | {best_batch / count * 1e6:.1f} |")
    print(f"| Vigil scoring (no explanation), batches of 1024 | {float(vigil['vigil_score_us']):.3f} |")
    print("\nuptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


def _timed(function):
    start = cpu()
    function()
    return cpu() - start


if __name__ == "__main__":
    sys.exit(main())
