"""Replay end to end on the handbook: `vigil replay` beside the Polars pipeline
(replay_polars.py), both reading transactions.csv.lz4, computing the card-fraud topology's 14
features, scoring them with its XGBoost model and writing one CSV row per transaction; each
pinned to the same core, one thread, timed from the outside (wall and CPU time of the child
process), best of --repetitions. Prints one Markdown table with the load average before and
after, and how far the two outputs differ (the same transactions' features and scores).

Usage, from bench/ (a venv with polars, numpy, xgboost and lz4 from PyPI):

    swift build -c release --product vigil
    VENV/bin/python python/replay_bench.py [--repetitions 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
REPOSITORY = os.path.dirname(BENCH)
DATA = os.path.normpath(os.path.join(REPOSITORY, "..", "shared", "data", "fraud-handbook", "transactions.csv.lz4"))
TOPOLOGY = os.path.join(REPOSITORY, "topologies", "card-fraud.yaml")
MODEL = os.path.join(REPOSITORY, "topologies", "models", "card-fraud-xgboost.json")


def load_average():
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


def timed(command, env=None):
    """Wall seconds, CPU seconds (user + system) of the child, and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, output


def compare(vigil_csv, polars_csv):
    """The largest difference between the two outputs' features and scores, by transaction."""
    import numpy as np
    import polars as pl

    ours = pl.read_csv(vigil_csv)
    theirs = pl.read_csv(polars_csv)
    joined = ours.join(theirs, on="TRANSACTION_ID", suffix="_polars")
    columns = [c for c in ours.columns if c != "TRANSACTION_ID"]
    worst = {}
    for column in columns:
        difference = np.abs(joined[column].cast(pl.Float64).to_numpy() - joined[column + "_polars"].cast(pl.Float64).to_numpy())
        worst[column] = (float(np.nanmax(difference)), int((difference > 1e-6).sum()))
    return len(joined), worst


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--core", type=int, default=0)
    parser.add_argument("--input", default=DATA)
    args = parser.parse_args()
    pin = ["taskset", "-c", str(args.core)]
    vigil = os.path.join(BENCH, ".build", "release", "vigil")
    load_before = load_average()
    with tempfile.TemporaryDirectory() as directory:
        vigil_csv = os.path.join(directory, "vigil.csv")
        polars_csv = os.path.join(directory, "polars.csv")
        best_vigil = best_polars = None
        polars_steps = None
        for _ in range(args.repetitions):
            wall, cpu, _ = timed(pin + [vigil, "replay", "--topology", TOPOLOGY, "--input", args.input, "--output", vigil_csv])
            if best_vigil is None or wall < best_vigil[0]:
                best_vigil = (wall, cpu)
            env = dict(os.environ, POLARS_MAX_THREADS="1", OMP_NUM_THREADS="1")
            wall, cpu, output = timed(pin + [sys.executable, os.path.join(HERE, "replay_polars.py"), "--input", args.input,
                                             "--model", MODEL, "--output", polars_csv], env=env)
            result = json.loads(output.strip().splitlines()[-1])
            if best_polars is None or wall < best_polars[0]:
                best_polars = (wall, cpu)
                polars_steps = result
        rows, worst = compare(vigil_csv, polars_csv)
    load_after = load_average()
    events = polars_steps["events"]
    print(f"Replay end to end: {events:,} handbook transactions, card-fraud topology (14 features, XGBoost), "
          f"one core (taskset -c {args.core}), best of {args.repetitions}; load average {load_before} before, {load_after} after")
    print()
    print("| system | seconds | CPU seconds | events/s | Vigil / system |")
    print("|---|---:|---:|---:|---:|")
    print(f"| vigil replay (CSV.lz4 → features → score → CSV) | {best_vigil[0]:.2f} | {best_vigil[1]:.2f} | {events / best_vigil[0]:,.0f} | 1.00x |")
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in polars_steps["steps"].items())
    print(f"| Polars {polars_steps['polars']} + xgboost {polars_steps['xgboost']}, 1 thread ({steps}) | {best_polars[0]:.2f} | "
          f"{best_polars[1]:.2f} | {events / best_polars[0]:,.0f} | {best_polars[0] / best_vigil[0]:.1f}x |")
    print()
    differing = {column: value for column, value in worst.items() if value[1]}
    print(f"Outputs compared on {rows:,} transactions: largest difference "
          f"{max(value[0] for value in worst.values()):.3g}; values off by more than 1e-6: "
          + (", ".join(f"{column} {count}" for column, (_, count) in differing.items()) or "none"))


if __name__ == "__main__":
    main()
