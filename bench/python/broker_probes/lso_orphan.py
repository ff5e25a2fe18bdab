"""Probe: a committed transaction left behind for good. X writes P; Z writes P and Q; X commits
(Z open); W writes Q; Z commits (W open); W commits: W's end completes Z and itself but not X,
which overlaps only Z. Nothing writes P again.
Run: python lso_orphan.py 127.0.0.1:PORT (confluent-kafka from PyPI)."""
import sys, time, uuid
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
P, Q = "or-p-" + uuid.uuid4().hex[:6], "or-q-" + uuid.uuid4().hex[:6]
for f in admin.create_topics([NewTopic(P, 1, 1), NewTopic(Q, 1, 1)]).values(): f.result()
def producer(n):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": n + uuid.uuid4().hex[:6], "linger.ms": 0}); p.init_transactions(10); return p
def send(p, t, v): p.produce(t, value=v.encode()); p.flush()
def readable(t):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "r-" + uuid.uuid4().hex, "isolation.level": "read_committed", "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(t, 0, 0)]); vals, deadline = [], time.time() + 5
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None: continue
        if m.error(): break
        vals.append(m.value().decode())
    c.close(); return vals
x, z, w = producer("x"), producer("z"), producer("w")
x.begin_transaction(); send(x, P, "x")
z.begin_transaction(); send(z, P, "z"); send(z, Q, "z")
x.commit_transaction(10)
w.begin_transaction(); send(w, Q, "w")
z.commit_transaction(10)
w.commit_transaction(10)
print("P readable:", readable(P), " Q readable:", readable(Q))
time.sleep(5)
print("5 s later, all three committed and idle: P readable:", readable(P), " Q readable:", readable(Q))
