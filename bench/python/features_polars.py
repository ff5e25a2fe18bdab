"""The handbook's 14 card-fraud features with Polars' `rolling` by group: a peer of FeatureBench
(beside pandas) and the feature part of the Polars replay pipeline (replay_polars.py).

Each customer window is one `DataFrame.rolling(index_column, period, group_by=...)` over the
frame sorted by customer and time (count and mean of the amount). The terminal windows see
the past through a 7-day delay: the same rolling with an offset, whose window for an event at
t is (t - (7 + n) days, t - 7 days]. Polars runs on one thread: POLARS_MAX_THREADS=1 must be set
before Polars is imported (the callers do). Run alone, it times `compute` on a loaded frame
and prints one JSON object, as features_pandas.py does:

    POLARS_MAX_THREADS=1 python features_polars.py --input transactions.csv [--reference REF.csv]

Needs polars (and numpy for the reference check) from PyPI.
"""
import argparse
import json
import os
import resource
import time

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import polars as pl  # noqa: E402

DAY_WINDOWS = [1, 7, 30]
DELAY = 7

FEATURES = (
    ["TX_DURING_WEEKEND", "TX_DURING_NIGHT"]
    + [f"CUSTOMER_ID_{kind}_{n}DAY_WINDOW" for n in DAY_WINDOWS for kind in ("NB_TX", "AVG_AMOUNT")]
    + [f"TERMINAL_ID_{kind}_{n}DAY_WINDOW" for n in DAY_WINDOWS for kind in ("NB_TX", "RISK")]
)


def load(source) -> pl.DataFrame:
    """The transactions with TX_DATETIME as a datetime (CSV path or bytes)."""
    df = pl.read_csv(source, columns=["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"])
    return df.with_columns(pl.col("TX_DATETIME").str.to_datetime("%Y-%m-%d %H:%M:%S"))


def compute(df: pl.DataFrame) -> pl.DataFrame:
    """The 14 features, one row per transaction in the input's order."""
    df = df.with_row_index("ROW")
    when = pl.col("TX_DATETIME")
    out = df.select(
        "ROW",
        (when.dt.weekday() >= 6).cast(pl.Int64).alias("TX_DURING_WEEKEND"),
        (when.dt.hour() <= 6).cast(pl.Int64).alias("TX_DURING_NIGHT"),
    )

    # Sorted by key and time (stable: same-second transactions keep file order), which
    # rolling by group needs; its output rows follow that order.
    by_customer = df.sort(["CUSTOMER_ID", "TX_DATETIME"], maintain_order=True)
    customer = by_customer.select("ROW")
    for n in DAY_WINDOWS:
        rolled = by_customer.rolling(index_column="TX_DATETIME", period=f"{n}d", group_by="CUSTOMER_ID").agg(
            pl.len().cast(pl.Float64).alias(f"CUSTOMER_ID_NB_TX_{n}DAY_WINDOW"),
            pl.col("TX_AMOUNT").mean().alias(f"CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW"),
        )
        customer = customer.hstack(rolled.select(pl.exclude("CUSTOMER_ID", "TX_DATETIME")))

    by_terminal = df.sort(["TERMINAL_ID", "TX_DATETIME"], maintain_order=True)
    terminal = by_terminal.select("ROW")
    for n in DAY_WINDOWS:
        rolled = by_terminal.rolling(index_column="TX_DATETIME", period=f"{n}d", offset=f"-{DELAY + n}d",
                                     group_by="TERMINAL_ID").agg(
            pl.len().cast(pl.Float64).alias("count"),
            pl.col("TX_FRAUD").sum().cast(pl.Float64).alias("fraud"),
        )
        count = pl.col("count").fill_null(0.0)
        terminal = terminal.hstack(rolled.select(
            count.alias(f"TERMINAL_ID_NB_TX_{n}DAY_WINDOW"),
            pl.when(count > 0).then(pl.col("fraud") / count).otherwise(0.0).alias(f"TERMINAL_ID_RISK_{n}DAY_WINDOW"),
        ))

    return (out.join(customer, on="ROW", how="left").join(terminal, on="ROW", how="left")
            .sort("ROW").select(FEATURES))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--reference")
    parser.add_argument("--repetitions", type=int, default=1)
    args = parser.parse_args()

    df = load(args.input)
    best = float("inf")
    features = None
    for _ in range(args.repetitions):
        start = time.perf_counter()
        features = compute(df)
        best = min(best, time.perf_counter() - start)
    result = {
        "events": df.height,
        "seconds": best,
        "events_per_second": df.height / best,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "polars": pl.__version__,
        "threads": pl.thread_pool_size(),
    }
    if args.reference:
        import numpy as np

        reference = pl.read_csv(args.reference)
        mine = features.with_columns(df["TRANSACTION_ID"]).join(reference.select("TRANSACTION_ID"), on="TRANSACTION_ID", how="semi")
        mine = reference.select("TRANSACTION_ID").join(mine, on="TRANSACTION_ID", how="left")
        difference = np.abs(mine.select(FEATURES).to_numpy() - reference.select(FEATURES).to_numpy())
        result["reference_mismatches"] = int((~(difference <= 1e-6)).sum())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
