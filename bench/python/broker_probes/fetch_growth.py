"""Probe: does the test broker's fetch slow with the number of batches in the partition?
Writes batches of one record (flush after each, as a transactional pipe's small batches and
markers are), and every `step` batches times a fresh read_committed consumer reading the last 50
records from the end (assign at end-50, poll until EOF), median of 5.
Run: python fetch_growth.py 127.0.0.1:PORT 24000 4000 (confluent-kafka from PyPI; a fresh broker)."""
import sys, time, uuid, statistics
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
bootstrap, total, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
admin = AdminClient({"bootstrap.servers": bootstrap})
name = "fg-" + uuid.uuid4().hex[:8]
admin.create_topics([NewTopic(name, 1, 1)])[name].result()
p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "fg-" + uuid.uuid4().hex, "isolation.level": "read_committed",
              "enable.partition.eof": True, "enable.auto.commit": False, "fetch.wait.max.ms": 10})
written = 0
while written < total:
    t0 = time.time()
    for _ in range(step):
        p.produce(name, value=b"x" * 100); p.flush()
    produce_ms = (time.time() - t0) * 1000 / step
    written += step
    samples = []
    for _ in range(5):
        t0 = time.time()
        c.assign([TopicPartition(name, 0, written - 50)])
        n = 0
        while True:
            m = c.poll(1.0)
            if m is None: continue
            if m.error(): break
            n += 1
        samples.append((time.time() - t0) * 1000)
    print(f"{written:6d} batches in the partition: produce+flush {produce_ms:.2f} ms a batch; read the last 50 records {statistics.median(samples):.1f} ms (median of 5)", flush=True)
