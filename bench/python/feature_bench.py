"""Runs FeatureBench (Swift) and its peers on the same transactions, each pinned to one core:
pandas (groupby-rolling) and Polars (`rolling` by group, one thread: POLARS_MAX_THREADS=1), and
prints one Markdown table with the ratios. Usage, from bench/:

    swift build -c release --product FeatureBench
    VENV/bin/python python/feature_bench.py

(a venv with pandas, NumPy and Polars from PyPI). LZ4 input is decompressed to a temporary CSV
for the peers (not timed); neither has an LZ4 reader.
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
DATA = os.path.normpath(os.path.join(BENCH, "..", "..", "shared", "data", "fraud-handbook"))
TRANSACTIONS = os.path.join(DATA, "transactions.csv.lz4")
REFERENCE = os.path.join(DATA, "reference-features-2018-07-25_2018-07-31.csv.lz4")


def run_json(command, env=None):
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    pin = ["taskset", "-c", "0"]
    binary = os.path.join(BENCH, ".build", "release", "FeatureBench")
    swift = run_json(pin + [binary, "--topology", os.path.join(BENCH, "..", "topologies", "card-fraud.yaml"), "--input", TRANSACTIONS])
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "transactions.csv")
        reference = os.path.join(tmp, "reference.csv")
        subprocess.run(["lz4", "-dqf", TRANSACTIONS, plain], check=True)
        subprocess.run(["lz4", "-dqf", REFERENCE, reference], check=True)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        peer = run_json(pin + [sys.executable, os.path.join(HERE, "features_pandas.py"), "--input", plain, "--reference", reference, "--repetitions", "2"], env=env)
        polars_env = dict(env, POLARS_MAX_THREADS="1")
        polars = run_json(pin + [sys.executable, os.path.join(HERE, "features_polars.py"), "--input", plain, "--reference", reference, "--repetitions", "3"], env=polars_env)
    ratio = swift["events_per_second"] / peer["events_per_second"]
    polars_ratio = swift["events_per_second"] / polars["events_per_second"]
    mib = 1024 * 1024
    print("| engine | events | seconds | events/s | peak RSS (MiB) | state bytes/key |")
    print("|---|---:|---:|---:|---:|---:|")
    by_stage = ", ".join(f"{name} {value:.0f}" for name, value in sorted(swift["bytes_per_key_by_stage"].items()))
    print(f"| Vigil FeatureEngine (card-fraud topology, 1 core) | {swift['events']:,} | {swift['seconds']:.3f} | {swift['events_per_second']:,.0f} | {swift['peak_rss_bytes'] / mib:.0f} | {swift['bytes_per_key']:.0f} ({by_stage}) |")
    print(f"| pandas {peer['pandas']} / NumPy {peer['numpy']} groupby-rolling (1 core) | {peer['events']:,} | {peer['seconds']:.3f} | {peer['events_per_second']:,.0f} | {peer['peak_rss_bytes'] / mib:.0f} | – |")
    print(f"| Polars {polars['polars']} rolling by group ({polars['threads']} thread, 1 core) | {polars['events']:,} | {polars['seconds']:.3f} | {polars['events_per_second']:,.0f} | {polars['peak_rss_bytes'] / mib:.0f} | – |")
    print()
    print(f"Ratio: Vigil processes **{ratio:.1f}x** the events per second of pandas and **{polars_ratio:.1f}x** those of Polars. "
          f"Against the handbook reference, values off by more than 1e-6: pandas {peer.get('reference_mismatches', 'n/a')}, "
          f"Polars {polars.get('reference_mismatches', 'n/a')}. "
          f"Vigil decoding (CSV from LZ4, not in the timed part): {swift['decode_seconds']:.2f} s; thread CPU seconds of Vigil's timed loop: {swift['cpu_seconds']:.3f}.")


if __name__ == "__main__":
    main()
