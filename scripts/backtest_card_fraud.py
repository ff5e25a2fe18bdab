#!/usr/bin/env python3
"""The card-fraud backtest: trains the handbook's baseline models on Vigil's own features and
checks that `vigil replay --report` reproduces the handbook's published test results.

Protocol (Fraud Detection Handbook, chapter 3, "Baseline fraud detection system"; see
../shared/data/fraud-handbook/README.md): train on the transactions of 2018-07-25..31, a 7-day
delay, test on 2018-08-08..14 with the cards already known to be compromised removed; inputs
TX_AMOUNT plus the 14 windowed features; target TX_FRAUD.

1. `vigil replay` computes the features of the training week (the same pipeline that scores
   live; the windows are fed from the start of the file).
2. It trains the handbook's logistic regression (StandardScaler, then
   LogisticRegression(random_state=0)) and XGBoost (XGBClassifier(random_state=0): 100 trees of
   depth 6, learning rate 0.3; base_score=0.5 and the exact tree method, the defaults of the
   XGBoost the handbook ran, which XGBoost 2 and later replaced). Trees do not need the
   standardisation, so XGBoost is trained on the raw features, which is what Vigil feeds it;
   the regression's scaler goes into its model file (Vigil's dense JSON `standardize`).
3. It writes topologies/models/card-fraud-xgboost.json and card-fraud-logreg.json, and
   rebuilds the drift profile topologies/profiles/card-fraud.json (it holds the score's
   reference distribution) with `vigil profile` over the training week.
4. `vigil replay --report` on the test week, XGBoost the champion (the topology's model) and
   the logistic regression the challenger, writes the report into --report-dir; the script
   prints each model's AUC ROC, average precision and card precision@100 beside the
   handbook's and exits 1 if any differs by more than 0.01.

Usage (from the repository root, after `swift build -c release`; scikit-learn, xgboost and
pandas from PyPI in a venv):
    VENV/bin/python scripts/backtest_card_fraud.py [--report-dir DIR] [--check-only]
--check-only skips training and checks the committed models.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "fraud-handbook")
TRANSACTIONS = os.path.join(DATA, "transactions.csv.lz4")
TOPOLOGY = os.path.join(ROOT, "topologies", "card-fraud.yaml")
MODELS = os.path.join(ROOT, "topologies", "models")
PROFILE = os.path.join(ROOT, "topologies", "profiles", "card-fraud.json")
INPUTS = [
    "TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
    "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
    "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
    "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
    "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
]
# The handbook's published test figures (published-baseline-performance.csv).
PUBLISHED = {
    "logistic regression": {"aucRoc": 0.871, "averagePrecision": 0.606, "cardPrecision": 0.291},
    "XGBoost": {"aucRoc": 0.862, "averagePrecision": 0.639, "cardPrecision": 0.273},
}
TOLERANCE = 0.01


def vigil(*arguments):
    binary = os.environ.get("VIGIL", os.path.join(ROOT, ".build", "release", "vigil"))
    subprocess.run([binary, *arguments], check=True)


def training_set(workdir):
    """The training week's features from `vigil replay`, with the amount and label joined by id."""
    features = os.path.join(workdir, "train.csv")
    vigil("replay", "--topology", TOPOLOGY, "--input", TRANSACTIONS, "--from", "2018-07-25", "--until", "2018-08-01",
          "--output", features, "--no-score")
    train = pd.read_csv(features)
    raw = subprocess.run(["lz4", "-dc", TRANSACTIONS], check=True, capture_output=True).stdout
    import io
    transactions = pd.read_csv(io.BytesIO(raw), usecols=["TRANSACTION_ID", "TX_AMOUNT", "TX_FRAUD"])
    train = train.merge(transactions, on="TRANSACTION_ID", how="left", validate="one_to_one")
    assert train.TX_FRAUD.notna().all()
    return train


def train_models(train):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    import xgboost as xgb

    X, y = train[INPUTS].to_numpy(dtype=float), train["TX_FRAUD"].to_numpy(dtype=int)
    scaler = StandardScaler().fit(X)
    regression = LogisticRegression(random_state=0).fit(scaler.transform(X), y)
    logreg = {
        "format": "vigil-dense", "version": 1, "inputs": INPUTS,
        "standardize": {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
        "layers": [{"weights": [[w] for w in regression.coef_[0].tolist()], "bias": regression.intercept_.tolist(),
                    "activation": "sigmoid"}],
    }
    with open(os.path.join(MODELS, "card-fraud-logreg.json"), "w") as out:
        json.dump(logreg, out, indent=1)
        out.write("\n")

    booster = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.3, base_score=0.5, tree_method="exact",
                                random_state=0, n_jobs=1).fit(X, y).get_booster()
    booster.feature_names = INPUTS
    booster.save_model(os.path.join(MODELS, "card-fraud-xgboost.json"))
    print(f"trained on {len(train)} transactions of 2018-07-25..31 ({int(y.sum())} frauds): "
          f"topologies/models/card-fraud-logreg.json and card-fraud-xgboost.json")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report-dir", default=None, help="where the report goes (default: a temporary folder)")
    parser.add_argument("--check-only", action="store_true", help="check the committed models without training")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        if not args.check_only:
            train_models(training_set(workdir))
            vigil("profile", "--topology", TOPOLOGY, "--input", TRANSACTIONS, "--from", "2018-07-25", "--until", "2018-08-01",
                  "--output", PROFILE)
        report_dir = args.report_dir or os.path.join(workdir, "report")
        vigil("replay", "--topology", TOPOLOGY, "--input", TRANSACTIONS, "--from", "2018-08-08", "--until", "2018-08-15",
              "--known-from", "2018-07-25", "--output", os.path.join(workdir, "test.csv"),
              "--challenger", os.path.join(MODELS, "card-fraud-logreg.json"), "--report", report_dir)
        with open(os.path.join(report_dir, "report.json")) as source:
            report = json.load(source)

    print(f"\ntest week 2018-08-08..14: {report['evaluation']['events']} transactions, "
          f"{report['evaluation']['positives']} frauds (handbook: 58264, 385)")
    print(f"{'model':<22}{'metric':<20}{'Vigil':>8}{'handbook':>10}{'difference':>12}")
    failures = 0
    for name, evaluation in (("XGBoost", report["champion"]), ("logistic regression", report["challenger"])):
        measured = {"aucRoc": evaluation["aucRoc"], "averagePrecision": evaluation["averagePrecision"],
                    "cardPrecision": evaluation["cardPrecision"]["mean"]}
        for metric, published in PUBLISHED[name].items():
            difference = measured[metric] - published
            failures += abs(difference) > TOLERANCE
            print(f"{name:<22}{metric:<20}{measured[metric]:>8.3f}{published:>10.3f}{difference:>+12.3f}"
                  f"{'' if abs(difference) <= TOLERANCE else '  OUTSIDE ±0.01'}")
    if failures:
        print(f"{failures} figure(s) outside ±{TOLERANCE}")
        return 1
    print(f"every figure within ±{TOLERANCE} of the handbook's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
