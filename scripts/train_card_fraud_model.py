#!/usr/bin/env python3
"""Trains the card-fraud XGBoost model that the demo topology scores with.

The model follows the Fraud Detection Handbook's baseline (chapter 3): XGBoost with default
hyper-parameters (100 trees, depth 6), trained on the handbook's reference features for
2018-07-25..31, inputs TX_AMOUNT plus its 14 windowed features, target TX_FRAUD. Unlike the
handbook the inputs are not standardised: Vigil feeds the kernel raw feature values, and
trees are insensitive to scaling anyway.

With --evaluate the script also rebuilds the handbook's test set (2018-08-08..14, a 7-day
delay, cards already known to be compromised removed) from transactions.csv.lz4 with the
handbook's own pandas window definitions, and prints test AUC ROC and average precision next
to the handbook's published XGBoost figures (0.862 / 0.639).

Usage (from the repository root, with xgboost, pandas and scikit-learn in .venv):
    .venv/bin/python scripts/train_card_fraud_model.py [--evaluate]
"""
import argparse
import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import xgboost as xgb

INPUTS = [
    "TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
    "CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
    "CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
    "TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
    "TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
    "TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "fraud-handbook")
OUTPUT = os.path.join(ROOT, "topologies", "models", "card-fraud-xgboost.json")


def read_lz4_csv(path, **kwargs):
    raw = subprocess.run(["lz4", "-dc", path], check=True, capture_output=True).stdout
    return pd.read_csv(io.BytesIO(raw), **kwargs)


def customer_features(df):
    df = df.sort_values("TX_DATETIME").set_index("TX_DATETIME")
    for days in (1, 7, 30):
        window = df["TX_AMOUNT"].rolling(f"{days}D")
        count, total = window.count(), window.sum()
        df[f"CUSTOMER_ID_NB_TX_{days}DAY_WINDOW"] = count
        df[f"CUSTOMER_ID_AVG_AMOUNT_{days}DAY_WINDOW"] = total / count
    return df.reset_index()


def terminal_features(df, delay=7):
    df = df.sort_values("TX_DATETIME").set_index("TX_DATETIME")
    fraud_delay = df["TX_FRAUD"].rolling(f"{delay}D").sum()
    count_delay = df["TX_FRAUD"].rolling(f"{delay}D").count()
    for days in (1, 7, 30):
        fraud_all = df["TX_FRAUD"].rolling(f"{delay + days}D").sum()
        count_all = df["TX_FRAUD"].rolling(f"{delay + days}D").count()
        count = count_all - count_delay
        risk = ((fraud_all - fraud_delay) / count).replace([np.inf, -np.inf], 0).fillna(0)
        df[f"TERMINAL_ID_NB_TX_{days}DAY_WINDOW"] = count
        df[f"TERMINAL_ID_RISK_{days}DAY_WINDOW"] = risk
    return df.reset_index()


def handbook_test_set(train):
    """The handbook's get_train_test_set: test days 2018-08-08..14, known frauds removed."""
    tx = read_lz4_csv(os.path.join(DATA, "transactions.csv.lz4"), parse_dates=["TX_DATETIME"])
    tx = tx[(tx.TX_DATETIME >= "2018-06-01") & (tx.TX_DATETIME < "2018-08-15")].copy()
    tx["TX_DURING_WEEKEND"] = (tx.TX_DATETIME.dt.day_of_week >= 5).astype(int)
    tx["TX_DURING_NIGHT"] = (tx.TX_DATETIME.dt.hour <= 6).astype(int)
    # pandas 3 hands apply() each group without its key column: put the key back from the index.
    tx = tx.groupby("CUSTOMER_ID").apply(customer_features).reset_index(level=0).reset_index(drop=True)
    tx = tx.groupby("TERMINAL_ID").apply(terminal_features).reset_index(level=0).reset_index(drop=True)
    tx = tx.sort_values("TRANSACTION_ID")
    known = set(train[train.TX_FRAUD == 1].CUSTOMER_ID)
    first_day = train.TX_TIME_DAYS.min()
    days = []
    for day in range(7):
        test_day = tx[tx.TX_TIME_DAYS == first_day + 7 + 7 + day]
        delay_day = tx[tx.TX_TIME_DAYS == first_day + 7 + day - 1]
        known |= set(delay_day[delay_day.TX_FRAUD == 1].CUSTOMER_ID)
        days.append(test_day[~test_day.CUSTOMER_ID.isin(known)])
    return pd.concat(days)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evaluate", action="store_true", help="rebuild the handbook's test set and print AUC")
    parser.add_argument("--output", default=OUTPUT)
    args = parser.parse_args()

    train = read_lz4_csv(os.path.join(DATA, "reference-features-2018-07-25_2018-07-31.csv.lz4"))
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, random_state=0, n_jobs=1, tree_method="exact")
    model.fit(train[INPUTS].to_numpy(), train["TX_FRAUD"].to_numpy())
    booster = model.get_booster()
    booster.feature_names = INPUTS
    booster.save_model(args.output)
    print(f"wrote {args.output} ({os.path.getsize(args.output)} bytes), {len(train)} training rows, "
          f"{int(train.TX_FRAUD.sum())} frauds")

    if args.evaluate:
        from sklearn.metrics import average_precision_score, roc_auc_score
        test = handbook_test_set(train)
        scores = model.predict_proba(test[INPUTS].to_numpy())[:, 1]
        print(f"test set: {len(test)} transactions, {int(test.TX_FRAUD.sum())} frauds "
              f"(handbook: 58264, 385)")
        print(f"test AUC ROC {roc_auc_score(test.TX_FRAUD, scores):.3f} (handbook XGBoost 0.862), "
              f"average precision {average_precision_score(test.TX_FRAUD, scores):.3f} (handbook 0.639)")


if __name__ == "__main__":
    sys.exit(main())
