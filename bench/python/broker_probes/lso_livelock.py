"""Probe: two transactional producers whose transactions on one partition alternate, each
beginning its next before the other ends (as two busy instances writing a shared changelog,
checkpoint or output partition do). On Kafka every commit completes on its own; Tansu 0.6
completes a transaction only when every transaction overlapping it has ended too.
Run: python lso_livelock.py 127.0.0.1:PORT (confluent-kafka from PyPI)."""
import sys, time, uuid
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
name = "ll-" + uuid.uuid4().hex[:8]
admin.create_topics([NewTopic(name, 1, 1)])[name].result()

def producer(tid):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 0})
    p.init_transactions(10)
    return p

def end_of_read_committed():
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "r-" + uuid.uuid4().hex, "isolation.level": "read_committed",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(name, 0, 0)])
    end, n, deadline = None, 0, time.time() + 5
    while time.time() < deadline:
        m = c.poll(0.2)
        if m is None: continue
        if m.error(): end = m.offset(); break
        n += 1
    lo, hi = c.get_watermark_offsets(TopicPartition(name, 0), cached=True)
    c.close()
    return n, end, hi

b, c = producer("b-" + uuid.uuid4().hex[:6]), producer("c-" + uuid.uuid4().hex[:6])
def send(p, v): p.produce(name, value=v.encode()); p.flush()
b.begin_transaction(); send(b, "b0")
for i in range(5):
    c.begin_transaction(); send(c, f"c{i}")
    b.commit_transaction(10)            # c's transaction is open: b's stays prepared on Tansu
    b.begin_transaction(); send(b, f"b{i+1}")
    c.commit_transaction(10)            # b's next is open: c's stays prepared
    n, end, hi = end_of_read_committed()
    print(f"after round {i}: {2*(i+1)} transactions committed by their producers; read_committed reads {n} records, ends at {end}, high watermark {hi}", flush=True)
b.commit_transaction(10)
n, end, hi = end_of_read_committed()
print(f"after both producers end: read_committed reads {n} records, ends at {end}, high watermark {hi}", flush=True)
