#!/usr/bin/env python3
"""Writes the metric fixtures of VigilEvaluationTests: scikit-learn's, numpy's and the Fraud
Detection Handbook's own figures on synthetic scored events.

metrics.json holds several cases, each with its events (day, card, label, score, alert) and
what the reference libraries compute from them:
- roc_auc_score and average_precision_score (scikit-learn),
- confusion_matrix, precision_score, recall_score, f1_score of the alerts (scikit-learn),
- np.quantile of the scores of each label at the report's levels (numpy, linear),
- card precision@k per day and its mean, with the handbook's own code (its
  card_precision_top_k, remove_detected_compromised_cards=True, copied below),
- a paired bootstrap of the AUC and AP differences of two score columns, drawing indices
  with the same SplitMix64 as Vigil (index = next() % n) and percentile bounds by np.percentile.

Scores are rounded so that ties (between events and between cards) occur. Outputs are
committed so that the tests need no Python. Rerun from the repository root:
    VENV/bin/python Tests/VigilEvaluationTests/Fixtures/make_metrics.py
(numpy, pandas and scikit-learn in the venv; written with scikit-learn 1.9.1, numpy 2.4.6,
pandas 3.1.1).
"""
import json
import os

import numpy as np
import pandas as pd
from sklearn.metrics import (average_precision_score, confusion_matrix, f1_score, precision_score,
                             recall_score, roc_auc_score)

HERE = os.path.dirname(os.path.abspath(__file__))
LEVELS = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


# The handbook's card precision (Le Borgne et al., shared functions), verbatim but for names.
def card_precision_top_k_day(df_day, top_k):
    df_day = df_day.groupby('CUSTOMER_ID').max().sort_values(by="predictions", ascending=False).reset_index(drop=False)
    df_day_top_k = df_day.head(top_k)
    list_detected_compromised_cards = list(df_day_top_k[df_day_top_k.TX_FRAUD == 1].CUSTOMER_ID)
    return list_detected_compromised_cards, len(list_detected_compromised_cards) / top_k


def card_precision_top_k(predictions_df, top_k, remove_detected_compromised_cards=True):
    list_days = sorted(predictions_df['TX_TIME_DAYS'].unique())
    list_detected_compromised_cards = []
    per_day = []
    nb_compromised_cards_per_day = []
    for day in list_days:
        df_day = predictions_df[predictions_df['TX_TIME_DAYS'] == day][['predictions', 'CUSTOMER_ID', 'TX_FRAUD']]
        df_day = df_day[~df_day.CUSTOMER_ID.isin(list_detected_compromised_cards)]
        nb_compromised_cards_per_day.append(len(df_day[df_day.TX_FRAUD == 1].CUSTOMER_ID.unique()))
        detected, precision = card_precision_top_k_day(df_day, top_k)
        per_day.append(precision)
        if remove_detected_compromised_cards:
            list_detected_compromised_cards.extend(detected)
    return nb_compromised_cards_per_day, per_day, float(np.mean(per_day))


def bootstrap(labels, first, second, replicates, seed, confidence=0.95):
    n = len(labels)
    generator = SplitMix64(seed)
    auc, ap = [], []
    for _ in range(replicates):
        index = np.array([generator.next() % n for _ in range(n)])
        y = labels[index]
        if 0 < y.sum() < n:
            auc.append(roc_auc_score(y, second[index]) - roc_auc_score(y, first[index]))
        if y.sum() > 0:
            ap.append(average_precision_score(y, second[index]) - average_precision_score(y, first[index]))
    bounds = [50 * (1 - confidence), 50 * (1 + confidence)]
    return {"auc": [float(v) for v in np.percentile(auc, bounds)] + [len(auc)],
            "averagePrecision": [float(v) for v in np.percentile(ap, bounds)] + [len(ap)]}


def make_case(name, rng, n, days, cards, fraud_rate, decimals, k, replicates):
    day = rng.integers(0, days, n) + 17751          # days since the epoch (2018-08-08 on)
    card = rng.integers(0, cards, n)
    label = (rng.random(n) < fraud_rate).astype(int)
    signal = label * rng.normal(1.2, 0.8, n) + rng.normal(0, 1, n)
    score = np.round(1 / (1 + np.exp(-signal + 2.5)), decimals)
    challenger = np.round(1 / (1 + np.exp(-(signal + rng.normal(0, 0.5, n)) + 2.3)), decimals)
    alert = (score >= 0.5).astype(int)
    tn, fp, fn, tp = confusion_matrix(label, alert, labels=[0, 1]).ravel()
    frame = pd.DataFrame({"TX_TIME_DAYS": day, "CUSTOMER_ID": card, "TX_FRAUD": label, "predictions": score})
    compromised, per_day, mean = card_precision_top_k(frame, k)
    return {
        "name": name, "k": k,
        "day": day.tolist(), "card": card.tolist(), "label": label.tolist(), "score": score.tolist(),
        "challenger": challenger.tolist(), "alert": alert.tolist(),
        "auc": float(roc_auc_score(label, score)), "averagePrecision": float(average_precision_score(label, score)),
        "confusion": [int(tp), int(fp), int(tn), int(fn)],
        "precision": float(precision_score(label, alert, zero_division=0)),
        "recall": float(recall_score(label, alert, zero_division=0)),
        "f1": float(f1_score(label, alert, zero_division=0)),
        "quantilesPositive": [float(v) for v in np.quantile(score[label == 1], LEVELS)],
        "quantilesNegative": [float(v) for v in np.quantile(score[label == 0], LEVELS)],
        "cardPrecisionPerDay": per_day, "cardPrecisionMean": mean, "compromisedCardsPerDay": compromised,
        "bootstrap": {"replicates": replicates, "seed": 20180808, **bootstrap(label, score, challenger, replicates, 20180808)},
    }


def main():
    rng = np.random.default_rng(14)
    cases = [
        make_case("fraud-like", rng, n=3000, days=7, cards=400, fraud_rate=0.03, decimals=3, k=20, replicates=200),
        make_case("heavy-ties", rng, n=800, days=3, cards=60, fraud_rate=0.15, decimals=1, k=10, replicates=100),
        make_case("balanced", rng, n=500, days=2, cards=500, fraud_rate=0.5, decimals=4, k=50, replicates=100),
    ]
    with open(os.path.join(HERE, "metrics.json"), "w") as out:
        json.dump({"levels": LEVELS, "cases": cases}, out)


if __name__ == "__main__":
    main()
