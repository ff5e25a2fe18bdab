"""Writes hst.expected.csv for HalfSpaceTreesTests: a seeded stream scored by River's
HalfSpaceTrees (score_one, then learn_one, as Vigil does), with a missing value now and then.

    /path/to/venv/bin/python Tests/VigilAnomalyTests/Fixtures/make_hst.py   (river==0.26.0)
"""
import csv, os, random, sys

# River 0.26 subscripts csv.DictReader, which Python 3.12 allows and 3.11 (Debian 12's) does not.
if sys.version_info < (3, 12):
    csv.DictReader.__class_getitem__ = classmethod(lambda cls, item: cls)
from river import anomaly

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(11)
model = anomaly.HalfSpaceTrees(n_trees=6, height=7, window_size=40, seed=42, limits={"temp": (10.0, 40.0)})
names = ["load", "temp", "flow"]
with open(os.path.join(here, "hst.expected.csv"), "w") as out:
    out.write(",".join(names + ["expected"]) + "\n")
    for i in range(600):
        x = {"load": rng.gauss(0.4, 0.05), "temp": rng.gauss(22, 1.5), "flow": rng.random() * 0.2 + 0.5}
        if i % 97 == 50:
            x["load"] = 0.95  # an outlier
        if i % 53 == 7:
            del x["flow"]  # a missing value
        score = model.score_one(x)
        model.learn_one(x)
        out.write(",".join("" if n not in x else repr(x[n]) for n in names) + "," + repr(score) + "\n")
