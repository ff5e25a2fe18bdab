"""The card-fraud topology as a Quix Streams app: EndToEndBench's peer.

The same 14 features as topologies/card-fraud.yaml (the handbook's baseline), over exact
per-event sliding windows kept in Quix's state store (its windowing aggregates time buckets
and cannot express a window ending at each event, nor a window delayed by 7 days), keyed by
customer, then re-keyed by terminal through Quix's repartition topic (group_by), scored with
the same XGBoost JSON model, exactly-once.

Window semantics are Vigil's: a sliding window of size w for an event at t holds the events of
its key in (t - w, t] that arrived before it (the current event included); a delayed window
holds (t - d - w, t - d]. A mean over no events is NaN, a risk over no events 0. Events that
arrive out of time order (the terminal stage merges source partitions) are placed in time
order, as Vigil places events within its allowed lateness.

    python quix_card_fraud.py --broker 127.0.0.1:19592 --input T --output O --group G --model M
"""
import argparse
import bisect
import math
import tempfile
from datetime import datetime, timezone

import numpy as np
import xgboost as xgb
from quixstreams import Application

DAY = 86_400_000
LATENESS = DAY  # what EndToEndBench allows Vigil; older events are pruned beyond the windows plus this


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--commit-interval", type=float, default=1.0)
    parser.add_argument("--state-dir", default=None)
    args = parser.parse_args()

    booster = xgb.Booster()
    booster.load_model(args.model)
    booster.set_param({"nthread": 1})

    app = Application(
        broker_address=args.broker,
        consumer_group=args.group,
        processing_guarantee="exactly-once",
        auto_offset_reset="earliest",
        commit_interval=args.commit_interval,
        state_dir=args.state_dir or tempfile.mkdtemp(prefix="quix-state-"),
        loglevel="WARNING",
    )
    source = app.topic(args.input, key_deserializer="string", value_deserializer="bytes")
    scores = app.topic(args.output, key_serializer="string", value_serializer="json")

    def parse(value: bytes):
        tid, when, customer, terminal, amount, fraud = value.decode().split(",")
        moment = datetime.fromisoformat(when).replace(tzinfo=timezone.utc)
        return {
            "id": tid,
            "t": int(moment.timestamp() * 1000),
            "TERMINAL_ID": terminal,
            "amount": float(amount),
            "fraud": int(fraud),
            "weekend": 1.0 if moment.weekday() >= 5 else 0.0,
            "night": 1.0 if moment.hour <= 6 else 0.0,
        }

    def customer_features(event, state):
        times = state.get("t", [])
        amounts = state.get("a", [])
        t = event["t"]
        at = bisect.bisect_right(times, t)
        times.insert(at, t)
        amounts.insert(at, event["amount"])
        end = at + 1  # events up to t that arrived before this one, and this one
        features = []
        for days in (1, 7, 30):
            start = bisect.bisect_right(times, t - days * DAY, 0, end)
            count = end - start
            total = math.fsum(amounts[start:end])
            features += [float(count), total / count if count else math.nan]
        cut = bisect.bisect_right(times, times[-1] - 30 * DAY - LATENESS)
        state.set("t", times[cut:])
        state.set("a", amounts[cut:])
        event["customer"] = features
        return event

    def terminal_features(event, state):
        times = state.get("t", [])
        frauds = state.get("f", [])
        t = event["t"]
        at = bisect.bisect_right(times, t)
        features = []
        upper = bisect.bisect_right(times, t - 7 * DAY, 0, at)
        for days in (1, 7, 30):
            start = bisect.bisect_right(times, t - 7 * DAY - days * DAY, 0, upper)
            count = upper - start
            features += [float(count), sum(frauds[start:upper]) / count if count else 0.0]
        times.insert(at, t)
        frauds.insert(at, event["fraud"])
        cut = bisect.bisect_right(times, times[-1] - 37 * DAY - LATENESS)
        state.set("t", times[cut:])
        state.set("f", frauds[cut:])
        event["terminal"] = features
        return event

    def score(event):
        row = np.array([[event["amount"], event["weekend"], event["night"]] + event["customer"] + event["terminal"]])
        value = float(booster.inplace_predict(row, validate_features=False)[0])
        return {"id": event["id"], "score": value, "model_version": "1", "event_time": event["t"]}

    sdf = app.dataframe(source)
    sdf = sdf.apply(parse)
    sdf = sdf.apply(customer_features, stateful=True)
    sdf = sdf.group_by("TERMINAL_ID")
    sdf = sdf.apply(terminal_features, stateful=True)
    sdf = sdf.apply(score)
    sdf.to_topic(scores, key=lambda value: value["id"])
    app.run()


if __name__ == "__main__":
    main()
