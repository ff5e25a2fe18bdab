"""Probe: a transaction completed by another producer's commit while its own commit markers are
still being written. Tansu 0.6's txn_end (dynostore.rs) (1) marks the epoch PrepareCommit, (2)
writes one commit marker into each partition, each recorded into the epoch's `produces`, (3)
completes the overlapping transactions when all are prepared, clearing their `produces`. When
B's step (3) completes A during A's step (2), A's later markers land in A's cleared listing: A's
epoch is Committed with a non-empty listing (A's own step (3) logs WARN ...
otherwise=Some(Committed) naming A when it finds every transaction overlapping A prepared; not
when one is still open; and it also logs it when B completed A after A's last marker, leaving
nothing listed). Such an epoch counts as an overlapping, unprepared transaction, so later
commits into those partitions stay PrepareCommit until A's producer commits again.

Each trial: a fresh topic (8 partitions); transactional producers A and B (fresh ids) commit in
a tight loop, each transaction one record into every partition. A stops after a completed
commit: at the end of its run time, or (stop-on-warn, the default) at the first commit after
which the broker log names A in a WARN "Committed" line. A is closed and its transactional id
initialised again by a new producer (a restart). B commits 3 more times and stops. Then a fresh
producer C_p per partition p commits one record into p alone. Measured per partition, up to 10 s
after that (and once before C): records read by read_committed vs read_uncommitted, the offset
where a read_committed reader's fetch ends (the last stable offset) vs a read_uncommitted one's
(the high watermark), and whose records (A, B, C) stay unread. The blocked topics are read again
at the end (minutes later, nothing writing them). --no-stop-on-warn runs every trial and stops A
at the end of its run time only (the natural rate, and the trials without the WARN).
(ListOffsets read_committed is not used: Tansu 0.6 answers 0 for a partition with any
transaction not yet completed.)
Run: python completed_listing.py 127.0.0.1:PORT ~/.cache/vigil/broker-PORT.log [trials]
     [--no-stop-on-warn] (confluent-kafka from PyPI; the broker's RUST_LOG at warn or lower)."""
import re, sys, time, uuid, random, threading
from datetime import datetime, timezone
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

args = [a for a in sys.argv[1:] if not a.startswith("--")]
bootstrap, log_path = args[0], args[1]
trials = int(args[2]) if len(args) > 2 else 60
stop_on_warn = "--no-stop-on-warn" not in sys.argv
PARTS, B_AFTER, WAIT = 8, 3, 10.0
admin = AdminClient({"bootstrap.servers": bootstrap})
ansi = re.compile(r"\x1b\[[0-9;]*m")

class Log:  # the broker log from a position on; WARN lines naming a transactional id
    def __init__(self): self.f = open(log_path, "rb"); self.f.seek(0, 2)
    def new_lines(self): return [ansi.sub("", l.decode(errors="replace")).rstrip() for l in self.f.readlines()]
def warns(lines, tid): return [l for l in lines if "WARN" in l and f'"{tid}"' in l and "Committed" in l]
def stamp(line): return datetime.strptime(line[:27], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()

def producer(tid):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 0}); p.init_transactions(10); return p

def commit_loop(p, topic, tag, keep_going, after_commit=None, mark=None):
    n = 0
    while keep_going(n):
        if mark is not None: mark["last_begin"] = time.time()
        p.begin_transaction()
        for part in range(PARTS): p.produce(topic, value=f"{tag}{n}".encode(), partition=part)
        p.commit_transaction(30); n += 1
        if after_commit and after_commit(): break
    return n

def scan(topic, committed):  # per partition: values read up to end (EOF), end offset
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "s-" + uuid.uuid4().hex, "enable.auto.commit": False,
                  "isolation.level": "read_committed" if committed else "read_uncommitted", "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(PARTS)])
    vals, ends, deadline = {p: [] for p in range(PARTS)}, {}, time.time() + 5
    while len(ends) < PARTS and time.time() < deadline:
        m = c.poll(0.2)
        if m is None: continue
        if m.error(): ends[m.partition()] = m.offset(); continue
        vals[m.partition()].append(m.value().decode()); ends.pop(m.partition(), None)
    c.close(); return vals, ends

def held(topic):  # partition -> (records read_uncommitted reads and read_committed does not, LSO, HWM)
    (cv, lso), (uv, hwm) = scan(topic, True), scan(topic, False)  # LSO, HWM: where each reader's fetch ends (EOF)
    out = {}
    for p in range(PARTS):
        seen = set(cv[p]); unread = [v for v in uv[p] if v not in seen]
        if unread or lso.get(p) != hwm.get(p): out[p] = (unread, lso.get(p), hwm.get(p))
    return out

def show(h): return "everything readable" if not h else "; ".join(f"p{p} LSO {l} HWM {hw} unread {who(u)}" for p, (u, l, hw) in h.items())

def who(unread):
    by = {}
    for v in unread: by.setdefault(v[0], []).append(v)
    return " ".join(f"{k}:{len(vs)}({vs[0]}..{vs[-1]})" for k, vs in sorted(by.items()))

results, blocked_topics, sample_warns = [], [], []
for trial in range(1, trials + 1):
    topic, h = "cl-" + uuid.uuid4().hex[:8], uuid.uuid4().hex[:6]
    admin.create_topics([NewTopic(topic, PARTS, 1)])[topic].result()
    tid_a, tid_b = f"cl-a-{h}", f"cl-b-{h}"
    a, b = producer(tid_a), producer(tid_b)
    log, watch = Log(), Log()
    run_for, a_done, info, mark = random.uniform(1.0, 2.0), threading.Event(), {}, {}
    def seen_warn():  # after each of A's commits: did the log name A in a WARN since the last look?
        return stop_on_warn and bool(warns(watch.new_lines(), tid_a))
    def run_a():
        t0 = time.time()
        try: info["a_commits"] = commit_loop(a, topic, "A", lambda n: time.time() - t0 < run_for, seen_warn, mark)
        except Exception as e: info["a_error"] = repr(e)
        a_done.set()
    def run_b():
        after = []
        def go(n):
            if a_done.is_set(): after.append(n)
            return not after or n - after[0] < B_AFTER
        try: info["b_commits"] = commit_loop(b, topic, "B", go)
        except Exception as e: info["b_error"] = repr(e)
    ta, tb = threading.Thread(target=run_a), threading.Thread(target=run_b)
    ta.start(); tb.start(); ta.join()
    a.close(); producer(tid_a).close()          # A's restart: its id initialised again (a new epoch)
    tb.join(); b.close()
    time.sleep(0.5); before = held(topic)         # every producer stopped, before C
    for p in range(PARTS):                       # C: one fresh producer per partition, one record each
        c = producer(f"cl-c-{h}-{p}"); c.begin_transaction(); c.produce(topic, value=f"C{p}".encode(), partition=p)
        c.commit_transaction(30); c.close()
    deadline = time.time() + WAIT
    while (still := held(topic)) and time.time() < deadline: time.sleep(1)
    lines = log.new_lines()
    wa, wb = warns(lines, tid_a), warns(lines, tid_b)
    sample_warns += wa[:1]
    # The WARN naming A comes only from A's own EndTxn: one stamped after A's last begin_transaction is its last commit's.
    last_warn = any(stamp(l) >= mark["last_begin"] for l in wa)
    r = dict(info, trial=trial, topic=topic, warn_a=len(wa), warn_b=len(wb), last_warn=last_warn, held=still, before=before)
    results.append(r)
    if still: blocked_topics.append((trial, topic))
    print(f"trial {trial:2d} {topic}: A {info.get('a_commits')} commits, B {info.get('b_commits')}; WARN naming A {len(wa)}"
          f" (A's last commit {'had' if r['last_warn'] else 'had no'} WARN), naming B {len(wb)}"
          + f"\n    A and B stopped, before C: {show(before)}\n    after C_p committed into each p, {WAIT:.0f} s later: {show(still)}"
          + "".join(f" {k}={v}" for k, v in info.items() if k.endswith("error")), flush=True)
    if stop_on_warn and len(blocked_topics) >= 3: break

if blocked_topics:
    print(f"\nre-reading the blocked topics ({time.strftime('%H:%M:%S')}; nothing has written them since their trial):")
    for trial, topic in blocked_topics:
        print(f"trial {trial} {topic}: {show(held(topic))}", flush=True)
n, wt = len(results), [r for r in results if r["warn_a"]]
lw, bl = [r for r in results if r["last_warn"]], [r for r in results if r["held"]]
print(f"\nsummary: {n} trials (stop-on-warn {'on' if stop_on_warn else 'off'}); WARN naming A during the trial: {len(wt)};"
      f" A's last commit followed by a WARN naming A: {len(lw)}; records held with A and B stopped (before C):"
      f" {sum(1 for r in results if r['before'])}; records held {WAIT:.0f} s after C's commits: {len(bl)}")
print(f"  held among trials whose A's last commit had the WARN: {sum(1 for r in lw if r['held'])}/{len(lw)};"
      f" held among trials with no WARN naming A at all: {sum(1 for r in results if r['held'] and not r['warn_a'])}/{n - len(wt)};"
      f" held among trials with a WARN for A but not on its last commit: {sum(1 for r in wt if r['held'] and not r['last_warn'])}/{len(wt) - len(lw)}")
for l in sample_warns[:5]: print("  log:", l)
