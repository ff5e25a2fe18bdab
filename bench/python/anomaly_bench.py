"""Runs AnomalyBench (Swift) and River 0.26's detectors (and scikit-learn's Isolation Forest)
on the same stream, each pinned to one core, and prints one Markdown table. From bench/:

    swift build -c release --product AnomalyBench
    /path/to/venv/bin/python python/anomaly_bench.py [--events 200000] [--keys 20]

The stream: `--keys` series, round-robin, one event a second each, eight channels in [0, 1]
(correlated, with a rare burst), written to a temporary CSV. Every detector keeps one state
per key: Vigil in its feature engine, River one model per key in a dict. Each event is scored,
then learnt (River: score_one, then learn_one). River's HalfSpaceTrees runs with the settings
Vigil's half_space_trees uses (10 trees, height 8, window 250, seed 42, limits [0, 1]); River's
GaussianScorer (window 100) is the nearest peer of gaussian_tail's first layer; River has no
T² + Q. The Isolation Forest (100 trees, 256 samples, fitted on the first 10,000 events) is
scored in batches of 4,096 by Vigil's kernel and by `score_samples`. Needs numpy, scikit-learn
and river==0.26.0.
"""
import argparse, csv, importlib.machinery, importlib.util, json, os, subprocess, sys, tempfile, time

if sys.version_info < (3, 12):  # River 0.26 subscripts csv.DictReader (Python 3.12 allows it)
    csv.DictReader.__class_getitem__ = classmethod(lambda cls, item: cls)
import numpy as np
import river
from river import anomaly
import sklearn
from sklearn.ensemble import IsolationForest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)


def stream(events, keys):
    rng = np.random.default_rng(1)
    base = rng.normal(size=(events, 1))
    values = 0.5 + 0.08 * (0.7 * base + 0.7 * rng.normal(size=(events, 8)))
    burst = rng.random(events) < 0.002
    values[burst] += 0.3 * rng.random((burst.sum(), 8))
    values = np.clip(values, 0, 1)
    key = np.arange(events) % keys
    time_ms = 1_600_000_000_000 + (np.arange(events) // keys) * 1000
    return key, time_ms, values


def river_rate(make, events, key, values, supervised=False):
    models = {}
    names = [f"x{i}" for i in range(8)]
    rows = [dict(zip(names, map(float, row))) for row in values]
    start = time.perf_counter()
    total = 0.0
    for k, x in zip(key.tolist(), rows):
        model = models.get(k)
        if model is None:
            model = models[k] = make()
        if supervised:
            y = x["x0"]
            total += model.score_one(None, y)
            model.learn_one(None, y)
        else:
            total += model.score_one(x)
            model.learn_one(x)
    return events / (time.perf_counter() - start), total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=20)
    args = parser.parse_args()
    pin = ["taskset", "-c", "0"]
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    key, time_ms, values = stream(args.events, args.keys)
    loader = importlib.machinery.SourceFileLoader("exporter", os.path.join(BENCH, "..", "scripts", "export-isolation-forest"))
    exporter = importlib.util.module_from_spec(importlib.util.spec_from_loader("exporter", loader))
    loader.exec_module(exporter)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=0).fit(values[:10_000])
    with tempfile.TemporaryDirectory() as folder:
        path, model = os.path.join(folder, "stream.csv"), os.path.join(folder, "iforest.json")
        with open(path, "w") as out:
            out.write("key,time," + ",".join(f"x{i}" for i in range(8)) + "\n")
            for k, t, row in zip(key, time_ms, values):
                out.write(f"{k},{t}," + ",".join(repr(float(v)) for v in row) + "\n")
        with open(model, "w") as out:
            json.dump(exporter.export(forest, [f"x{i}" for i in range(8)]), out)
        binary = os.path.join(BENCH, ".build", "release", "AnomalyBench")
        lines = subprocess.run(pin + [binary, "--input", path, "--iforest", model], check=True, capture_output=True, text=True).stdout
    vigil = {row["detector"]: row for row in map(json.loads, lines.strip().splitlines())}
    os.sched_setaffinity(0, {0})
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    hst_rate, _ = river_rate(lambda: anomaly.HalfSpaceTrees(n_trees=10, height=8, window_size=250, seed=42), args.events, key, values)
    gauss_rate, _ = river_rate(lambda: anomaly.GaussianScorer(window_size=100, grace_period=100), args.events, key, values, supervised=True)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for row in range(0, args.events, 4096):
            forest.score_samples(values[row:row + 4096])
        best = min(best, time.perf_counter() - start)
    sklearn_rate = args.events / best

    def vigil_row(name, label):
        row = vigil[name]
        return f"| Vigil {label} | {row['events_per_second']:,.0f} | {row['state_bytes_per_key']:,.0f} | {row['snapshot_bytes_per_key']:,.0f} |"

    print(f"\n{args.events:,} events, {args.keys} keys, one core each (Vigil best of 3; River one pass)\n")
    print("| detector | events/s | state bytes per key | changelog record bytes per key (LZ4) |")
    print("|---|---:|---:|---:|")
    print(vigil_row("pca_baseline", "pca_baseline (T² + Q, 8 fields)"))
    print("| River — (no T² + Q detector) | – | – | – |")
    print(vigil_row("gaussian_tail", "gaussian_tail (tail + NAB likelihood, window 100, history 8640)"))
    print(f"| River {river.__version__} GaussianScorer (window 100) | {gauss_rate:,.0f} | – | – |")
    print(vigil_row("half_space_trees", "half_space_trees (10 trees, height 8, window 250)"))
    print(f"| River {river.__version__} HalfSpaceTrees (same settings) | {hst_rate:,.0f} | – | – |")
    print(f"| Vigil Isolation Forest kernel (100 trees, ψ 256, batches of 4,096) | {vigil['isolation_forest']['events_per_second']:,.0f} | – | – |")
    print(f"| scikit-learn {sklearn.__version__} IsolationForest.score_samples (same model and batches) | {sklearn_rate:,.0f} | – | – |")
    print(f"\nRatios: half_space_trees {vigil['half_space_trees']['events_per_second'] / hst_rate:.1f}x River's HalfSpaceTrees; "
          f"gaussian_tail {vigil['gaussian_tail']['events_per_second'] / gauss_rate:.1f}x River's GaussianScorer; "
          f"Isolation Forest {vigil['isolation_forest']['events_per_second'] / sklearn_rate:.1f}x scikit-learn.")
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
