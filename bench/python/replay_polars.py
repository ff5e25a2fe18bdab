"""The Polars peer of `vigil replay` on the handbook: the same file in, the same 14 features
(features_polars.compute: `rolling` by group), the same XGBoost model (the topology's JSON
model, xgboost's own predictor), the same CSV out (TRANSACTION_ID, the 14 features, score).
One thread throughout: POLARS_MAX_THREADS=1 before Polars loads, nthread=1 for XGBoost; the
caller pins the process to one core (replay_bench.py). Timed end to end, from the LZ4 file to
the written CSV, with the time of each step; prints one JSON object.

    POLARS_MAX_THREADS=1 python replay_polars.py --input transactions.csv.lz4 --model M.json --output out.csv

Needs polars, numpy, xgboost and lz4 (the LZ4 frame reader) from PyPI.
"""
import argparse
import io
import json
import os
import resource
import time

os.environ.setdefault("POLARS_MAX_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import lz4.frame  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import xgboost as xgb  # noqa: E402

from features_polars import FEATURES, compute, load  # noqa: E402

INPUTS = ["TX_AMOUNT"] + FEATURES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    booster = xgb.Booster(model_file=args.model)
    booster.set_param({"nthread": 1})
    steps = {}
    began = time.perf_counter()
    mark = began

    def step(name):
        nonlocal mark
        now = time.perf_counter()
        steps[name] = now - mark
        mark = now

    with open(args.input, "rb") as file:
        raw = file.read()
    text = lz4.frame.decompress(raw) if args.input.endswith(".lz4") else raw
    step("read and decompress")
    df = load(io.BytesIO(text))
    step("parse CSV")
    features = compute(df)
    step("features")
    frame = features.with_columns(df["TX_AMOUNT"])
    matrix = frame.select(booster.feature_names or INPUTS).to_numpy().astype(np.float32)
    scores = booster.inplace_predict(matrix)
    step("score")
    out = pl.concat([df.select("TRANSACTION_ID"), features], how="horizontal").with_columns(pl.Series("score", scores, dtype=pl.Float64))
    out.write_csv(args.output)
    step("write CSV")
    print(json.dumps({
        "events": df.height,
        "seconds": time.perf_counter() - began,
        "steps": steps,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "polars": pl.__version__,
        "xgboost": xgb.__version__,
        "threads": pl.thread_pool_size(),
    }))


if __name__ == "__main__":
    main()
