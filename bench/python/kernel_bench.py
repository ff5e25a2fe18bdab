#!/usr/bin/env python3
"""Model kernels benchmark: Vigil beside ONNX Runtime and the training libraries.

Trains four models on synthetic card-fraud-like data with 15 inputs — XGBoost (100 trees,
depth 6), LightGBM (500 trees, 31 leaves), an MLP 15→64→64→1 and a logistic regression —,
converts each to ONNX (onnxmltools for the trees, skl2onnx for the others), then measures
events/s at batch 1, 2, 4, 8, 16, 64, 256 and 1024 for: Vigil's kernels (bench's KernelBench
executable, release build), ONNX Runtime (Python API) and the library's own predict, all on
the same rows and all on one thread: the process is pinned to one core, ONNX Runtime gets
intra- and inter-op thread counts of 1, XGBoost nthread=1, LightGBM num_threads=1, OpenBLAS
one thread (OPENBLAS_NUM_THREADS=1, threadpoolctl).

The tree models also get the compiled peers, called from C (KernelBench loads them with dlopen,
so no Python call overhead hides their speed): TL2cgen's generated C for both (compiled with
gcc -O3 -march=native, plain and with TL2cgen's threshold quantisation) and lleaves for
LightGBM (LLVM-compiled for this CPU, with its default cache blocking and with none, which its
docs advise for single rows). The table shows each peer's better configuration per batch.

Prints one Markdown table (and with --variants a second one with every configuration, the
alternative tree layouts and the dense precisions).

Rerun from bench/ with a venv holding xgboost lightgbm scikit-learn onnxruntime onnxmltools
skl2onnx onnx treelite tl2cgen lleaves (PyPI) and gcc on the PATH:
    VENV/bin/python python/kernel_bench.py [--variants]
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import xgboost as xgb  # noqa: E402
from onnxmltools import convert_lightgbm, convert_xgboost  # noqa: E402
from onnxmltools.convert.common.data_types import FloatTensorType as MLFloat  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCHES = [1, 2, 4, 8, 16, 64, 256, 1024]
INPUTS = 15


def data(n, seed):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.lognormal(3, 1, n)] + [rng.normal(0, 1, n) for _ in range(INPUTS - 1)])
    logit = 0.02 * (X[:, 0] - 30) + X[:, 1] - 0.5 * X[:, 2] * X[:, 3] + np.sin(X[:, 4]) + rng.normal(0, 1, n)
    X[rng.random(X.shape) < 0.01] = np.nan
    X[:, 0] = np.nan_to_num(X[:, 0], nan=20.0)
    return X, (logit > 1).astype(int)


def dense_document(layers, activation, names):
    act = {"relu": "relu", "tanh": "tanh", "logistic": "sigmoid", "identity": "identity"}[activation]
    out = []
    for i, (w, b) in enumerate(layers):
        out.append({"weights": np.asarray(w).tolist(), "bias": np.asarray(b).tolist(),
                    "activation": "sigmoid" if i == len(layers) - 1 else act})
    return {"format": "vigil-dense", "version": 1, "inputs": names, "layers": out}


def build_models(directory):
    X, y = data(20000, 1)
    Xd = np.nan_to_num(X)  # scikit-learn models take no NaN
    names = [f"f{i}" for i in range(INPUTS)]
    initial = [("input", FloatTensorType([None, INPUTS]))]
    models = {}

    xgbm = xgb.XGBClassifier(n_estimators=100, max_depth=6, n_jobs=1, random_state=0).fit(X, y)
    xgbm.get_booster().save_model(os.path.join(directory, "xgboost.json"))
    onx = convert_xgboost(xgbm, initial_types=[("input", MLFloat([None, INPUTS]))])
    models["XGBoost 100 trees, depth 6"] = ("xgboost.json", onx, lambda rows: xgbm.predict_proba(rows)[:, 1], X)

    lgbm = lgb.LGBMClassifier(n_estimators=500, num_leaves=31, n_jobs=1, random_state=0, verbose=-1).fit(X, y)
    lgbm.booster_.save_model(os.path.join(directory, "lightgbm.txt"))
    onx = convert_lightgbm(lgbm, initial_types=[("input", MLFloat([None, INPUTS]))], zipmap=False)
    models["LightGBM 500 trees, 31 leaves"] = ("lightgbm.txt", onx, lambda rows: lgbm.predict_proba(rows)[:, 1], X)

    mlp = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=30, random_state=0).fit(Xd, y)
    json.dump(dense_document(list(zip(mlp.coefs_, mlp.intercepts_)), mlp.activation, names),
              open(os.path.join(directory, "mlp.dense.json"), "w"))
    onx = convert_sklearn(mlp, initial_types=initial, options={id(mlp): {"zipmap": False}})
    models["MLP 15→64→64→1 (ReLU)"] = ("mlp.dense.json", onx, lambda rows: mlp.predict_proba(rows)[:, 1], Xd)

    logreg = LogisticRegression(max_iter=500).fit(Xd, y)
    json.dump(dense_document([(logreg.coef_.T, logreg.intercept_)], "identity", names),
              open(os.path.join(directory, "logreg.dense.json"), "w"))
    onx = convert_sklearn(logreg, initial_types=initial, options={id(logreg): {"zipmap": False}})
    models["Logistic regression, 15 inputs"] = ("logreg.dense.json", onx, lambda rows: logreg.predict_proba(rows)[:, 1], Xd)

    for name, (file, onx, _, _) in models.items():
        with open(os.path.join(directory, file + ".onnx"), "wb") as out:
            out.write(onx.SerializeToString())
    return models


def build_peers(directory, models):
    """Compiles the tree models with TL2cgen and lleaves into shared libraries: {name: [(kind, path)]}."""
    import lleaves
    import tl2cgen
    import treelite

    peers = {}
    for name, (file, _, _, _) in models.items():
        path = os.path.join(directory, file)
        if file.endswith("xgboost.json"):
            model = treelite.frontend.load_xgboost_model(path)
        elif file.endswith("lightgbm.txt"):
            model = treelite.frontend.load_lightgbm_model(path)
        else:
            continue
        stem = os.path.splitext(file)[0]
        for label, params in [("tl2cgen", {}), ("tl2cgen-quantize", {"quantize": 1})]:
            source = os.path.join(directory, f"{stem}-{label}")
            tl2cgen.generate_c_code(model, dirpath=source, params=params)
            library = os.path.join(directory, f"{stem}-{label}.so")
            sources = [os.path.join(source, c) for c in os.listdir(source) if c.endswith(".c")]
            subprocess.run(["gcc", "-O3", "-march=native", "-fPIC", "-shared", "-o", library, *sources, "-lm"], check=True)
            peers.setdefault(name, []).append(("tl2cgen", library))
        if file.endswith("lightgbm.txt"):
            booster = lgb.Booster(model_file=path)
            for label, blocksize in [("lleaves", None), ("lleaves-unblocked", booster.num_trees())]:
                obj = os.path.join(directory, f"{stem}-{label}.o")
                compiled = lleaves.Model(model_file=path)
                if blocksize is None:
                    compiled.compile(cache=obj)
                else:
                    compiled.compile(cache=obj, fblocksize=blocksize)
                library = os.path.join(directory, f"{stem}-{label}.so")
                subprocess.run(["gcc", "-shared", "-o", library, obj], check=True)
                peers.setdefault(name, []).append(("lleaves", library))
    return peers


def rate(fn, pool, batch, seconds=1.5):
    """Events/s: best of three runs, consecutive batches from the pool."""
    best = 0.0
    for _ in range(3):
        events, start, began = 0, 0, time.perf_counter()
        while time.perf_counter() - began < seconds / 3:
            for _ in range(max(1, 4096 // batch)):
                if start + batch > len(pool):
                    start = 0
                fn(pool[start:start + batch])
                start += batch
                events += batch
        best = max(best, events / (time.perf_counter() - began))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", action="store_true", help="also the other tree layout and dense precision")
    parser.add_argument("--seconds", type=float, default=1.5, help="seconds per measurement")
    parser.add_argument("--core", type=int, default=1, help="the core everything is pinned to")
    parser.add_argument("--models", nargs="*", help="only the models whose name contains one of these (e.g. XGBoost MLP)")
    parser.add_argument("--cpu-time", action="store_true", help="Vigil and the C peers: events per second of thread CPU time")
    parser.add_argument("--skip-python", action="store_true", help="leave out ONNX Runtime and the libraries' predict")
    parser.add_argument("--keep", help="write the models, rows and compiled peers to this folder and keep them")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.core})

    subprocess.run(["swift", "build", "-c", "release", "--product", "KernelBench"], cwd=BENCH, check=True,
                   stdout=subprocess.DEVNULL)
    binary = os.path.join(BENCH, ".build", "release", "KernelBench")
    with (contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory()) as directory:
        os.makedirs(directory, exist_ok=True)
        models = build_models(directory)
        if args.models:
            models = {name: model for name, model in models.items() if any(part in name for part in args.models)}
        pool_rows = {}
        for name, (file, _, _, X) in models.items():
            pool = data(8192, 2)[0]
            if file.endswith(".dense.json"):
                pool = np.nan_to_num(pool)
            pool_rows[name] = pool
            pool.astype("<f8").tofile(os.path.join(directory, file + ".rows"))

        peers = build_peers(directory, models)
        vigil, variants = {}, {}
        for name, (file, _, _, _) in models.items():
            command = [binary, "--rows", os.path.join(directory, file + ".rows"), "--inputs", str(INPUTS),
                       "--model", f"m={os.path.join(directory, file)}", "--batch", *map(str, BATCHES),
                       "--seconds", str(args.seconds)]
            for kind, library in peers.get(name, []):
                command += ["--peer", f"m={kind}:{library}"]
            if args.variants:
                command.append("--variants")
            if args.cpu_time:
                command.append("--cpu-time")
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            for line in output.splitlines():
                _, variant, batch, events = line.split("\t")
                (vigil if variant == "default" else variants).setdefault((name, variant), {})[int(batch)] = float(events)

        def best_peer(name, prefix, batch):
            rates = [by_batch[batch] for (model, variant), by_batch in variants.items()
                     if model == name and variant.startswith("peer:") and prefix in variant]
            return max(rates) if rates else None

        def cell(value):
            return f"{value:,.0f}" if value else "–"

        def ratio(ours, theirs):
            return f"{ours / theirs:.2f}x" if theirs else "–"

        header = ("| model | batch | Vigil events/s | TL2cgen (C) events/s | lleaves (C) events/s | ONNX Runtime events/s | "
                  "library predict events/s | Vigil / TL2cgen | Vigil / lleaves | Vigil / ORT | Vigil / library |")
        lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        with threadpool_limits(limits=1):
            for name, (file, _, predict, _) in models.items():
                options = ort.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                # onnxmltools' tree models declare a label shape of {1}: at batches 2-16 ONNX
                # Runtime would log a warning per call, which costs it time.
                options.log_severity_level = 3
                session = ort.InferenceSession(os.path.join(directory, file + ".onnx"), options,
                                               providers=["CPUExecutionProvider"])
                input_name = session.get_inputs()[0].name
                pool = pool_rows[name]
                pool32 = pool.astype(np.float32)
                for batch in BATCHES:
                    if args.skip_python:
                        onnx_rate = library_rate = float("nan")
                    else:
                        onnx_rate = rate(lambda rows: session.run(None, {input_name: rows}), pool32, batch, args.seconds)
                        library_rate = rate(predict, pool, batch, args.seconds)
                    ours = vigil[(name, "default")][batch]
                    tl2 = best_peer(name, "tl2cgen", batch)
                    ll = best_peer(name, "lleaves", batch)
                    lines.append(f"| {name} | {batch} | {ours:,.0f} | {cell(tl2)} | {cell(ll)} | {onnx_rate:,.0f} | {library_rate:,.0f} | "
                                 f"{ratio(ours, tl2)} | {ratio(ours, ll)} | {ours / onnx_rate:.1f}x | {ours / library_rate:.1f}x |")
        print("\n".join(lines))
        if variants and args.variants:
            print()
            print("| model | variant | " + " | ".join(f"batch {b}" for b in BATCHES) + " |")
            print("|---|---|" + "---:|" * len(BATCHES))
            for (name, variant), by_batch in sorted(vigil.items()) + sorted(variants.items()):
                print(f"| {name} | {variant} | " + " | ".join(f"{by_batch[b]:,.0f}" for b in BATCHES) + " |")
        print()
        import lleaves  # noqa: F401
        import tl2cgen
        import treelite
        from importlib.metadata import version
        print(f"versions: xgboost {xgb.__version__}, lightgbm {lgb.__version__}, onnxruntime {ort.__version__}, "
              f"treelite {treelite.__version__}, tl2cgen {tl2cgen.__version__}, lleaves {version('lleaves')}; "
              f"one thread each, pinned to core {args.core}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")


if __name__ == "__main__":
    sys.exit(main())
