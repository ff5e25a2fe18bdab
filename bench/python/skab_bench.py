"""SKAB through a Vigil anomaly topology, scored as the SKAB benchmark scores its leaderboard.

Every experiment file of ../shared/data/skab (valve1, valve2, other) becomes its own key (its
path, e.g. valve1/3) in one ';'-separated input; `vigil replay` runs the topology over it (each
key learns its baseline from its own first 400 rows, the same settings for every file); then:

- outlier detection: an alarm is a row whose score is at least the alert threshold (0.5); F1,
  false-alarm rate and missed-alarm rate over the rows of all files together (SKAB's "binary"
  metric: confusion counts summed over the files);
- change-point detection: SKAB's convention, the predicted change points are the rows where the
  alarm switches (|diff|, the first row counting as itself), scored with SKAB's NAB variant
  (window of 60 s to the right of each labelled change point, the first detection in a window
  counts with the "improved" tanh scale, every detection outside a window costs A_fp, windows
  without a detection cost A_fn; profiles standard, low-FP, low-FN) over all files together.

Beside the published leaderboard, the same run computes a peer: SKAB's batch T² + Q baseline
(standard scaling and PCA keeping 85 % of the variance fitted on each file's first 400 rows,
limits at 0.999 from the F distribution and Jackson & Mudholkar, an alarm when either is out),
in NumPy, scored by the same code.

Needs Python 3 with numpy, scipy and pandas. Usage (from the repository root, after a release build):
    python3 bench/python/skab_bench.py [--vigil .build/release/vigil] [--topology topologies/sensor-anomaly.yaml]
"""
import argparse, glob, os, subprocess, sys, tempfile, time
import numpy as np
import pandas as pd
from scipy import stats

CHANNELS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure", "Temperature", "Thermocouple", "Voltage", "Volume Flow RateRMS"]

LEADERBOARD = [
    ("Conv-AE", 0.78, 13.55, 28.02), ("MSET", 0.78, 39.73, 14.13), ("T-squared + Q (PCA)", 0.76, 26.62, 24.92),
    ("LSTM-AE", 0.74, 29.96, 25.92), ("T-squared", 0.66, 19.21, 42.6), ("Isolation forest", 0.29, 2.56, 82.89),
]
CHANGEPOINTS = [("MSCRED", 32.42, 16.53, 40.28), ("Isolation forest", 26.16, 19.5, 30.82), ("T-squared + Q", 25.35, 14.51, 31.33)]
PROFILES = [(1.0, -0.11, -1.0), (1.0, -0.22, -1.0), (1.0, -0.11, -2.0)]  # A_tp, A_fp, A_fn


def experiment_files(root):
    return [f for folder in ("valve1", "valve2", "other") for f in sorted(glob.glob(f"{root}/{folder}/*.csv"), key=lambda p: int(os.path.basename(p)[:-4]))]


def write_input(files, root, path):
    with open(path, "w") as out:
        for number, name in enumerate(files):
            lines = open(name).read().splitlines()
            if number == 0:
                out.write("experiment;" + lines[0] + "\n")
            key = os.path.relpath(name, root)[:-4]
            for line in lines[1:]:
                out.write(key + ";" + line + "\n")


def batch_t2q(frame, baseline=400, variance=0.85, level=0.999):
    """SKAB's T² + Q baseline on one file, as a batch: fit on the first rows, alarm on every row."""
    x = frame[CHANNELS].values.astype(float)
    train = x[:baseline]
    mean, deviation = train.mean(0), train.std(0, ddof=1)
    deviation[deviation == 0] = 1
    z = (x - mean) / deviation
    values, vectors = np.linalg.eigh(np.cov(z[:baseline].T))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    k = min(int(np.searchsorted(np.cumsum(values) / values.sum(), variance, side="right") + 1), len(values) - 1)
    scores = z @ vectors[:, :k]
    t2 = (scores ** 2 / values[:k]).sum(1)
    q = ((z - scores @ vectors[:, :k].T) ** 2).sum(1)
    n = baseline
    t2_limit = k * (n - 1) * (n + 1) / (n * (n - k)) * stats.f.ppf(level, k, n - k)
    theta = [(values[k:] ** i).sum() for i in (1, 2, 3)]
    h0 = 1 - 2 * theta[0] * theta[2] / (3 * theta[1] ** 2)
    c = stats.norm.ppf(level)
    q_limit = theta[0] * (c * np.sqrt(2 * theta[1] * h0 ** 2) / theta[0] + 1 + theta[1] * h0 * (h0 - 1) / theta[0] ** 2) ** (1 / h0)
    return ((t2 > t2_limit) | (q > q_limit)).astype(int)


def binary(labels, alarms):
    tp = fp = fn = tn = 0
    for truth, alarm in zip(labels, alarms):
        t, a = truth == 1, alarm == 1
        tp += int((t & a).sum()); fp += int((~t & a).sum()); fn += int((t & ~a).sum()); tn += int((~t & ~a).sum())
    return tp / (tp + (fn + fp) / 2), 100 * fp / (fp + tn), 100 * fn / (fn + tp)


def skab_nab(frames, alarms, window="60s"):
    scale_x = np.linspace(-np.pi / 2, np.pi / 2, 1000)
    score, null, perfect = np.zeros(3), np.zeros(3), np.zeros(3)
    for frame, alarm in zip(frames, alarms):
        changes = np.abs(np.diff(np.r_[0, alarm]))
        times = frame.index
        detected = times[changes == 1]
        windows = [[t, t + pd.Timedelta(window)] for t in times[frame.changepoint.values == 1]]
        for i in range(len(windows) - 1):  # overlapping windows: the right one is cut
            if windows[i][1] >= windows[i + 1][0]:
                windows[i + 1][0] = windows[i][1]
        false_positives, misses, hits = 0, 0, []
        if windows:
            false_positives += int((detected < windows[0][0]).sum())
            for i, (left, right) in enumerate(windows):
                inside = detected[(detected >= left) & (detected <= right)]
                if len(inside) == 0:
                    misses += 1
                else:
                    hits.append((left, inside[0], right))
                if i + 1 < len(windows):
                    false_positives += int(((detected > right) & (detected < windows[i + 1][0])).sum())
            false_positives += int((detected > windows[-1][1]).sum())
        else:
            false_positives += len(detected)
        for p, (a_tp, a_fp, a_fn) in enumerate(PROFILES):
            y = (a_tp - a_fp) / 2 * -np.tanh(scale_x) / np.tanh(np.pi / 2) + (a_tp - a_fp) / 2 + a_fp
            s = a_fp * false_positives + a_fn * misses
            for left, hit, right in hits:
                s += y[min(int((hit - left) / (right - left) * 1000), 999)]
            score[p] += s
            null[p] += len(windows) * a_fn
            perfect[p] += len(windows) * a_tp
    return 100 * (score - null) / (perfect - null)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigil", default=".build/release/vigil")
    parser.add_argument("--topology", default="topologies/sensor-anomaly.yaml")
    parser.add_argument("--data", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../shared/data/skab"))
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()
    root = os.path.abspath(args.data)
    files = experiment_files(root)
    with tempfile.TemporaryDirectory() as folder:
        source, output = os.path.join(folder, "skab.csv"), os.path.join(folder, "scores.csv")
        write_input(files, root, source)
        started = time.time()
        subprocess.run([args.vigil, "replay", "--topology", args.topology, "--input", source, "--output", output], check=True)
        seconds = time.time() - started
        scores = pd.read_csv(output)
    frames, labels, alarms = [], [], []
    for name in files:
        frame = pd.read_csv(name, sep=";", index_col="datetime", parse_dates=True)
        key = os.path.relpath(name, root)[:-4]
        mine = scores[scores.experiment == key]
        assert len(mine) == len(frame), f"{key}: {len(mine)} scores for {len(frame)} rows"
        frames.append(frame)
        labels.append(frame.anomaly.values)
        alarms.append((mine.score.fillna(0).values >= args.threshold).astype(int))
    f1, far, mar = binary(labels, alarms)
    nab = skab_nab(frames, alarms)
    peer_alarms = [batch_t2q(frame) for frame in frames]
    peer_f1, peer_far, peer_mar = binary(labels, peer_alarms)
    peer_nab = skab_nab(frames, peer_alarms)
    peer = "T² + Q batch (SKAB's settings, this run)"
    print(f"{len(files)} files, {sum(len(f) for f in frames)} rows, replayed in {seconds:.2f} s (vigil replay, whole run)")
    print("\nOutlier detection (F1 / FAR % / MAR %)")
    print(f"| {'detector':<34} | F1 | FAR % | MAR % |\n|---|---|---|---|")
    print(f"| {'Vigil ' + os.path.basename(args.topology) + ' (streaming)':<34} | {f1:.3f} | {far:.2f} | {mar:.2f} |")
    print(f"| {peer:<34} | {peer_f1:.3f} | {peer_far:.2f} | {peer_mar:.2f} |")
    for name, a, b, c in LEADERBOARD:
        print(f"| {name:<34} | {a:.2f} | {b:.2f} | {c:.2f} |")
    print("\nChange-point detection, NAB (standard / low FP / low FN)")
    print(f"| {'detector':<34} | standard | low FP | low FN |\n|---|---|---|---|")
    print(f"| {'Vigil ' + os.path.basename(args.topology) + ' (streaming)':<34} | {nab[0]:.2f} | {nab[1]:.2f} | {nab[2]:.2f} |")
    print(f"| {peer:<34} | {peer_nab[0]:.2f} | {peer_nab[1]:.2f} | {peer_nab[2]:.2f} |")
    for name, a, b, c in CHANGEPOINTS:
        print(f"| {name:<34} | {a:.2f} | {b:.2f} | {c:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
