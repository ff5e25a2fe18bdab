/*
 * fetch_gap: does a live consumer get handed every record of a partition?
 *
 * A minimal librdkafka-only probe for the "committed records never handed to a read_committed
 * consumer" anomaly seen with the Tansu test broker. It
 *
 *   1. creates a topic with one partition (admin API),
 *   2. runs P producer threads that write small batches ("p:seq" values, 1-5 records each) to
 *      partition 0 concurrently: each batch is one transaction (mode txn) or one flushed
 *      acks=all send (mode plain),
 *   3. beside them runs live readers (read_committed and/or read_uncommitted) that assign
 *      partition 0 from the beginning and record every (offset, value) they are handed,
 *   4. after the producers end, reads the partition again from the beginning with fresh
 *      consumers of both isolation levels (the ground truth: nothing is being written then),
 *   5. reports every committed record (by the producers' own account) that a live reader was
 *      never handed, locates each run of them ("gap") with the truth's offsets and prints the
 *      offsets the live reader was handed around it, and checks the truth against the account.
 *
 * librdkafka's debug log for chosen readers: FETCH_GAP_DEBUG=fetch (its "debug" contexts) and
 * FETCH_GAP_DEBUG_READERS=live-ru (names: live-rc, live-ru, truth-rc, truth-ru; default the
 * truth readers).
 *
 * Usage: fetch_gap -b HOST:PORT [-t TOPIC] [-m txn|plain] [-p PRODUCERS] [-d SECONDS]
 *                  [-r rc,ru] [-w FETCH_WAIT_MS] [-q]
 * The last line printed is a one-line summary ("RESULT ...") for scripts. Exit status: 0 when
 * no gap was found, 3 when a live reader missed records, 1 on an error.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define MAX_PRODUCERS 32
#define PARTITION 0

/* ---------------------------------------------------------------- options and small helpers */

static const char *bootstrap = NULL;
static char topic[128] = "";
static int transactional = 1;           /* -m txn (1) or plain (0) */
static int producers = 6;               /* -p */
static int duration_s = 15;             /* -d */
static int live_rc = 1, live_ru = 1;    /* -r which live readers run */
static const char *fetch_wait_ms = "10"; /* -w fetch.wait.max.ms of every consumer */
static int quiet = 0;                   /* -q: print at most 20 gaps per reader */

static atomic_int producers_done = 0;   /* set once every producer thread has ended */
static atomic_int failed = 0;           /* set on any unexpected error */
static atomic_long expected_total = -1; /* records the producers committed, once they are done */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fetch_gap: error: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_store(&failed, 1);
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "fetch_gap: out of memory\n");
        exit(1);
    }
    return q;
}

/* Sets one configuration property, failing loudly on a typo or a bad value. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fail("config %s=%s: %s", name, value, errstr);
        return -1;
    }
    return 0;
}

/* Client-level errors (connection losses and the like) are logged, not fatal: librdkafka retries. */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    fprintf(stderr, "fetch_gap: %s: client error %s: %s\n", rd_kafka_name(rk),
            rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    if (err == RD_KAFKA_RESP_ERR__FATAL) atomic_store(&failed, 1);
}

static rd_kafka_conf_t *base_conf(void) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (conf_set(conf, "bootstrap.servers", bootstrap) != 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
}

/* Takes ownership of conf (librdkafka does on success; we destroy it on failure). */
static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        fail("rd_kafka_new: %s", errstr);
    }
    return rk;
}

/* ---------------------------------------------------------------- topic creation */

static int create_topic(void) {
    rd_kafka_conf_t *conf = base_conf();
    if (!conf) return -1;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    if (!rk) return -1;

    char errstr[512];
    int rc = -1;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, 1, 1, errstr, sizeof errstr);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (!nt) {
        fail("NewTopic: %s", errstr);
        goto out;
    }
    if (rd_kafka_AdminOptions_set_request_timeout(opts, 10000, errstr, sizeof errstr)) {
        fail("AdminOptions: %s", errstr);
        goto out;
    }
    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (!ev) {
        fail("CreateTopics: no answer in 15 s");
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        fail("CreateTopics: %s", rd_kafka_event_error_string(ev));
    } else {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n;
        const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        if (!tr || n != 1) {
            fail("CreateTopics: unexpected result");
        } else if (rd_kafka_topic_result_error(tr[0]) &&
                   rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fail("CreateTopics %s: %s", topic, rd_kafka_topic_result_error_string(tr[0]));
        } else {
            rc = 0;
        }
    }
    rd_kafka_event_destroy(ev);
out:
    rd_kafka_AdminOptions_destroy(opts);
    if (nt) rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

/* ---------------------------------------------------------------- producers */

/* Per-sequence fate as the producer knows it. */
enum { SEQ_UNKNOWN = 0, SEQ_COMMITTED = 1, SEQ_FAILED = 2 };

typedef struct {
    int index;
    unsigned char *fate;  /* fate[seq] */
    size_t n;             /* sequences used */
    size_t cap;
    long batches_ok, batches_failed;
    atomic_long delivered_ok, delivered_failed; /* plain mode delivery reports */
} producer_t;

static producer_t prod[MAX_PRODUCERS];

/* Plain mode: a delivery report fixes the fate of one record (its sequence is the opaque). */
static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    producer_t *p = opaque;
    size_t seq = (size_t)(uintptr_t)m->_private;
    if (m->err) {
        atomic_fetch_add(&p->delivered_failed, 1);
        p->fate[seq] = SEQ_FAILED;
        fprintf(stderr, "fetch_gap: producer %d seq %zu: delivery failed: %s\n", p->index, seq,
                rd_kafka_err2str(m->err));
    } else {
        atomic_fetch_add(&p->delivered_ok, 1);
        p->fate[seq] = SEQ_COMMITTED;
    }
}

/* Handles a failed transactional call: returns 1 when the transaction should be aborted and the
 * loop may go on, 0 when the producer must stop. */
static int txn_error(producer_t *p, const char *what, rd_kafka_error_t *err) {
    fprintf(stderr, "fetch_gap: producer %d: %s: %s%s%s\n", p->index, what,
            rd_kafka_error_string(err), rd_kafka_error_is_retriable(err) ? " (retriable)" : "",
            rd_kafka_error_txn_requires_abort(err) ? " (abort)" : "");
    int abortable = rd_kafka_error_txn_requires_abort(err) || rd_kafka_error_is_retriable(err);
    if (rd_kafka_error_is_fatal(err)) {
        atomic_store(&failed, 1);
        abortable = 0;
    }
    rd_kafka_error_destroy(err);
    return abortable;
}

static void *producer_main(void *arg) {
    producer_t *p = arg;
    rd_kafka_conf_t *conf = base_conf();
    if (!conf) return NULL;
    char txid[200];
    snprintf(txid, sizeof txid, "fetch-gap-%s-%d", topic, p->index);
    if (conf_set(conf, "acks", "all") || conf_set(conf, "linger.ms", "0") ||
        (transactional && (conf_set(conf, "transactional.id", txid) ||
                           conf_set(conf, "transaction.timeout.ms", "60000")))) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    if (!rk) return NULL;

    rd_kafka_error_t *err;
    if (transactional && (err = rd_kafka_init_transactions(rk, 30000))) {
        txn_error(p, "init_transactions", err);
        atomic_store(&failed, 1);
        goto out;
    }

    unsigned seed = (unsigned)p->index * 7919u + 17u;
    double end = now_s() + duration_s;
    while (now_s() < end && !atomic_load(&failed)) {
        int k = 1 + (int)(rand_r(&seed) % 5); /* 1-5 records per batch */
        if (p->n + (size_t)k > p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 4096;
            p->fate = xrealloc(p->fate, cap);
            memset(p->fate + p->cap, SEQ_UNKNOWN, cap - p->cap);
            p->cap = cap;
        }
        size_t first = p->n;
        p->n += (size_t)k;
        if (transactional && (err = rd_kafka_begin_transaction(rk))) {
            txn_error(p, "begin_transaction", err);
            atomic_store(&failed, 1);
            break;
        }
        int ok = 1;
        for (size_t seq = first; seq < first + (size_t)k && ok; seq++) {
            char value[64];
            int len = snprintf(value, sizeof value, "%d:%zu", p->index, seq);
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(PARTITION),
                RD_KAFKA_V_VALUE(value, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)seq), RD_KAFKA_V_END);
            if (e) {
                fprintf(stderr, "fetch_gap: producer %d: produce: %s\n", p->index, rd_kafka_err2str(e));
                ok = 0;
                for (size_t s = seq; s < first + (size_t)k; s++) p->fate[s] = SEQ_FAILED;
            }
        }
        if (transactional) {
            /* The delivery report of a transactional record says it was written, not that it was
             * committed: the fate of the whole batch is the commit's outcome. */
            /* A retriable commit error means: call commit again; anything else aborts. */
            for (int attempt = 0; ok && (err = rd_kafka_commit_transaction(rk, 30000)); attempt++) {
                if (rd_kafka_error_is_retriable(err) && attempt < 5) {
                    txn_error(p, "commit_transaction (retrying)", err);
                    continue;
                }
                ok = 0;
                if (!txn_error(p, "commit_transaction", err)) goto stop;
            }
            if (!ok && (err = rd_kafka_abort_transaction(rk, 30000))) {
                txn_error(p, "abort_transaction", err);
                atomic_store(&failed, 1);
                break;
            }
            for (size_t s = first; s < first + (size_t)k; s++)
                p->fate[s] = ok ? SEQ_COMMITTED : SEQ_FAILED;
        } else {
            rd_kafka_resp_err_t e = rd_kafka_flush(rk, 30000);
            if (e) {
                fail("producer %d: flush: %s", p->index, rd_kafka_err2str(e));
                break;
            }
        }
        if (ok) p->batches_ok++;
        else p->batches_failed++;
    }
stop:
    if (!transactional) {
        rd_kafka_resp_err_t e = rd_kafka_flush(rk, 30000);
        if (e) fail("producer %d: final flush: %s", p->index, rd_kafka_err2str(e));
    }
out:
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---------------------------------------------------------------- readers */

typedef struct {
    int64_t offset;
    int producer;
    int64_t seq;
} handed_t;

typedef struct {
    const char *name;       /* "live-rc", "truth-ru", ... */
    const char *isolation;  /* read_committed | read_uncommitted */
    handed_t *h;            /* everything handed, in handing order */
    size_t n, cap;
    long malformed;         /* values not of the form p:seq */
    atomic_int done;        /* set by main once the producers are done: finish at the end */
    double deadline_after_done; /* give up this many seconds after the producers ended */
    int ok;
} reader_t;

static void record_handed(reader_t *r, const rd_kafka_message_t *m) {
    int pi = -1;
    long long seq = -1;
    if (!m->payload || sscanf((const char *)m->payload, "%d:%lld", &pi, &seq) != 2 || pi < 0 ||
        pi >= producers || seq < 0) {
        r->malformed++;
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16384;
        r->h = xrealloc(r->h, r->cap * sizeof *r->h);
    }
    r->h[r->n++] = (handed_t){m->offset, pi, seq};
}

static void *reader_main(void *arg) {
    reader_t *r = arg;
    rd_kafka_conf_t *conf = base_conf();
    if (!conf) return NULL;
    /* Partition 0 is assigned directly (no subscribe, no rebalance) and offsets are never
     * committed; librdkafka still wants a group.id for assign(). */
    char group[200];
    snprintf(group, sizeof group, "fetch-gap-%s-%s", topic, r->name);
    if (conf_set(conf, "group.id", group) || conf_set(conf, "isolation.level", r->isolation) || conf_set(conf, "enable.auto.commit", "false") ||
        conf_set(conf, "enable.partition.eof", "true") || conf_set(conf, "auto.offset.reset", "earliest") ||
        conf_set(conf, "fetch.wait.max.ms", fetch_wait_ms)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    /* FETCH_GAP_DEBUG=CONTEXTS turns librdkafka's debug log (to stderr) on for the readers whose
     * name it also lists in FETCH_GAP_DEBUG_READERS (default: the truth readers). */
    const char *dbg = getenv("FETCH_GAP_DEBUG"), *dbg_readers = getenv("FETCH_GAP_DEBUG_READERS");
    if (dbg && *dbg && strstr(dbg_readers ? dbg_readers : "truth-rc,truth-ru", r->name) &&
        conf_set(conf, "debug", dbg)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    if (!rk) return NULL;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, PARTITION)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fail("%s: assign: %s", r->name, rd_kafka_err2str(e));
        goto out;
    }

    /* When to stop: once the producers are done (r->done), the reader has been handed as
     * many records as the producers committed and has seen a partition EOF since its last
     * record; or, when it misses some, after IDLE_S seconds at EOF without a new record. The
     * end offset the broker reports (ListOffsets, EOF offsets) is not trusted for this. */
    const double IDLE_S = 10;
    int at_eof = 0;            /* an EOF came after the last record */
    int64_t last_eof = -1;
    double done_at = 0, last_record_at = now_s();
    for (;;) {
        if (done_at == 0 && atomic_load(&r->done)) done_at = now_s();
        if (done_at && at_eof &&
            ((long)r->n >= atomic_load(&expected_total) || now_s() - last_record_at > IDLE_S)) {
            r->ok = 1;
            break;
        }
        if (done_at && now_s() - done_at > r->deadline_after_done) {
            rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(pos, topic, PARTITION);
            rd_kafka_resp_err_t pe = rd_kafka_position(rk, pos);
            fail("%s: not at the end %.0f s after the producers ended "
                 "(%zu handed, last at offset %" PRId64 ", last EOF at %" PRId64 ", position %" PRId64 "%s)",
                 r->name, r->deadline_after_done, r->n, r->n ? r->h[r->n - 1].offset : -1, last_eof,
                 pos->elems[0].offset, pe ? " unknown" : "");
            rd_kafka_topic_partition_list_destroy(pos);
            break;
        }
        if (atomic_load(&failed) && !atomic_load(&producers_done)) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* The EOF offset is where the broker said the readable log ends (LSO or HWM). */
            last_eof = m->offset;
            at_eof = 1;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "fetch_gap: %s: consume error: %s\n", r->name, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        record_handed(r, m);
        at_eof = 0;
        last_record_at = now_s();
        rd_kafka_message_destroy(m);
    }
    e = rd_kafka_consumer_close(rk);
    if (e) fail("%s: close: %s", r->name, rd_kafka_err2str(e));
out:
    rd_kafka_destroy(rk);
    return NULL;
}

/* The partition's end offset (ListOffsets latest) after the producers ended, for the report. */
static int query_end(int64_t *high) {
    rd_kafka_conf_t *conf = base_conf();
    if (!conf) return -1;
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    if (!rk) return -1;
    int64_t low = -1;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, PARTITION, &low, high, 10000);
    if (e) fprintf(stderr, "fetch_gap: query_watermark_offsets: %s\n", rd_kafka_err2str(e));
    rd_kafka_destroy(rk);
    return e ? -1 : 0;
}

/* ---------------------------------------------------------------- comparison */

static int cmp_handed_offset(const void *a, const void *b) {
    int64_t x = ((const handed_t *)a)->offset, y = ((const handed_t *)b)->offset;
    return x < y ? -1 : x > y;
}

/* Index of the first handed record with offset >= off in a reader whose handed offsets increase
 * (checked by the caller), r->n when none. */
static size_t lower_bound(const reader_t *r, int64_t off) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->h[mid].offset < off) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Compares a live reader with the ground truth of the same isolation level. Returns the number
 * of records of the truth the live reader was never handed. */
static long compare(const reader_t *live, const reader_t *truth, long *gap_count) {
    /* Handing order must be increasing offsets; anything else is reported (and sorted away). */
    long backwards = 0, dups = 0;
    for (size_t i = 1; i < live->n; i++) {
        if (live->h[i].offset < live->h[i - 1].offset) backwards++;
        else if (live->h[i].offset == live->h[i - 1].offset) dups++;
    }
    reader_t sorted = *live;
    if (backwards) {
        sorted.h = xrealloc(NULL, live->n * sizeof *live->h);
        memcpy(sorted.h, live->h, live->n * sizeof *live->h);
        qsort(sorted.h, sorted.n, sizeof *sorted.h, cmp_handed_offset);
    }
    long missing = 0, mismatched = 0, gaps = 0, printed = 0;
    size_t i = 0;
    while (i < truth->n) {
        size_t j = lower_bound(&sorted, truth->h[i].offset);
        if (j < sorted.n && sorted.h[j].offset == truth->h[i].offset) {
            if (sorted.h[j].producer != truth->h[i].producer || sorted.h[j].seq != truth->h[i].seq)
                mismatched++;
            i++;
            continue;
        }
        /* A gap: the run of truth records the live reader never got. */
        size_t g0 = i;
        while (i < truth->n) {
            size_t k = lower_bound(&sorted, truth->h[i].offset);
            if (k < sorted.n && sorted.h[k].offset == truth->h[i].offset) break;
            i++;
        }
        missing += (long)(i - g0);
        gaps++;
        if (quiet && printed >= 20) continue;
        printed++;
        printf("  %s GAP offsets %" PRId64 "..%" PRId64 " (%zu committed record%s:", live->name,
               truth->h[g0].offset, truth->h[i - 1].offset, i - g0, i - g0 == 1 ? "" : "s");
        for (size_t k = g0; k < i && k < g0 + 8; k++)
            printf(" %" PRId64 "=%d:%" PRId64, truth->h[k].offset, truth->h[k].producer, truth->h[k].seq);
        printf("%s)\n", i - g0 > 8 ? " ..." : "");
        printf("    handed around it:");
        size_t around = j; /* first handed offset past the gap's start */
        for (size_t k = around >= 4 ? around - 4 : 0; k < sorted.n && k < around + 4; k++)
            printf("%s%" PRId64, k == around ? " | " : " ", sorted.h[k].offset);
        printf("\n");
    }
    if (backwards || dups || mismatched)
        printf("  %s: %ld backward steps, %ld repeated offsets, %ld offsets with another value than the truth\n",
               live->name, backwards, dups, mismatched);
    if (sorted.h != live->h) free(sorted.h);
    *gap_count = gaps;
    return missing;
}

/* Checks the read_committed truth against the producers' own account: every record whose
 * transaction (or acks=all send) succeeded should be in it exactly once, no other. */
static long check_truth(const reader_t *truth, reader_t *const *lives, int nlive, long *extra) {
    long committed = 0, found = 0, unexpected = 0, dup = 0;
    unsigned char *seen[MAX_PRODUCERS];
    for (int p = 0; p < producers; p++) {
        seen[p] = calloc(prod[p].n ? prod[p].n : 1, 1);
        if (!seen[p]) exit(1);
        for (size_t s = 0; s < prod[p].n; s++) committed += prod[p].fate[s] == SEQ_COMMITTED;
    }
    for (size_t i = 0; i < truth->n; i++) {
        const handed_t *h = &truth->h[i];
        if ((size_t)h->seq >= prod[h->producer].n || prod[h->producer].fate[h->seq] != SEQ_COMMITTED) {
            unexpected++;
            continue;
        }
        if (seen[h->producer][h->seq]++) dup++;
        else found++;
    }
    /* Committed records the truth lacks: print them (and whether a live reader got them). */
    long listed = 0;
    for (int p = 0; p < producers; p++)
        for (size_t s = 0; s < prod[p].n; s++) {
            if (prod[p].fate[s] != SEQ_COMMITTED || seen[p][s]) continue;
            if (listed++ >= 20) continue;
            printf("  %s LACKS committed %d:%zu;", truth->name, p, s);
            for (int l = 0; l < nlive; l++)
                for (size_t i = 0; i < lives[l]->n; i++)
                    if (lives[l]->h[i].producer == p && lives[l]->h[i].seq == (int64_t)s)
                        printf(" %s was handed it at offset %" PRId64 ";", lives[l]->name, lives[l]->h[i].offset);
            for (size_t i = 0; i < truth->n; i++)
                if (truth->h[i].producer == p && (truth->h[i].seq == (int64_t)s - 1 || truth->h[i].seq == (int64_t)s + 1))
                    printf(" %s has %d:%" PRId64 " at offset %" PRId64 ";", truth->name, p, truth->h[i].seq,
                           truth->h[i].offset);
            printf("\n");
        }
    for (int p = 0; p < producers; p++) free(seen[p]);
    printf("  truth check: producers committed %ld records; %s holds %ld of them, %ld not committed "
           "by the producer's account, %ld repeated\n",
           committed, truth->name, found, unexpected, dup);
    *extra = unexpected + dup;
    return committed - found;
}

/* Compares a live reader with the producers' own account (independent of the truth readers):
 * returns how many committed records it was never handed; prints those the truth lacks too
 * (their offsets are then unknown) with the offsets the live reader got for their neighbours. */
static long compare_account(const reader_t *live, const reader_t *truth) {
    int64_t *got[MAX_PRODUCERS], *at[MAX_PRODUCERS];
    for (int p = 0; p < producers; p++) {
        size_t n = prod[p].n ? prod[p].n : 1;
        got[p] = xrealloc(NULL, n * sizeof(int64_t));
        at[p] = xrealloc(NULL, n * sizeof(int64_t));
        for (size_t s = 0; s < n; s++) got[p][s] = at[p][s] = -1;
    }
    for (size_t i = 0; i < live->n; i++)
        if ((size_t)live->h[i].seq < prod[live->h[i].producer].n)
            got[live->h[i].producer][live->h[i].seq] = live->h[i].offset;
    for (size_t i = 0; i < truth->n; i++)
        if ((size_t)truth->h[i].seq < prod[truth->h[i].producer].n)
            at[truth->h[i].producer][truth->h[i].seq] = truth->h[i].offset;
    long missing = 0, unlocated = 0;
    for (int p = 0; p < producers; p++)
        for (size_t s = 0; s < prod[p].n; s++) {
            if (prod[p].fate[s] != SEQ_COMMITTED || got[p][s] >= 0) continue;
            missing++;
            if (at[p][s] >= 0) continue; /* listed with its offset by compare() */
            if (unlocated++ < 20)
                printf("  %s MISSED %d:%zu (offset unknown: %s lacks it too); it got %d:%zu at %" PRId64
                       " and %d:%zu at %" PRId64 "\n",
                       live->name, p, s, truth->name, p, s - 1, s ? got[p][s - 1] : -1, p, s + 1,
                       s + 1 < prod[p].n ? got[p][s + 1] : -1);
        }
    for (int p = 0; p < producers; p++) {
        free(got[p]);
        free(at[p]);
    }
    return missing;
}

/* ---------------------------------------------------------------- main */

static void usage(void) {
    fprintf(stderr, "usage: fetch_gap -b HOST:PORT [-t TOPIC] [-m txn|plain] [-p PRODUCERS] [-d SECONDS]\n"
                    "                 [-r rc,ru] [-w FETCH_WAIT_MS] [-q]\n");
    exit(1);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "b:t:m:p:d:r:w:q")) != -1) {
        switch (opt) {
        case 'b': bootstrap = optarg; break;
        case 't': snprintf(topic, sizeof topic, "%s", optarg); break;
        case 'm':
            if (!strcmp(optarg, "txn")) transactional = 1;
            else if (!strcmp(optarg, "plain")) transactional = 0;
            else usage();
            break;
        case 'p': producers = atoi(optarg); break;
        case 'd': duration_s = atoi(optarg); break;
        case 'r':
            live_rc = strstr(optarg, "rc") != NULL;
            live_ru = strstr(optarg, "ru") != NULL;
            break;
        case 'w': fetch_wait_ms = optarg; break;
        case 'q': quiet = 1; break;
        default: usage();
        }
    }
    if (!bootstrap || producers < 1 || producers > MAX_PRODUCERS || duration_s < 1 || (!live_rc && !live_ru))
        usage();
    if (!topic[0]) snprintf(topic, sizeof topic, "fetch-gap-%ld", (long)time(NULL));

    printf("fetch_gap: librdkafka %s, broker %s, topic %s, mode %s, %d producers, %d s, live readers:%s%s, "
           "fetch.wait.max.ms %s\n",
           rd_kafka_version_str(), bootstrap, topic, transactional ? "txn" : "plain", producers, duration_s,
           live_rc ? " read_committed" : "", live_ru ? " read_uncommitted" : "", fetch_wait_ms);
    fflush(stdout);
    if (create_topic() != 0) return 1;

    reader_t live[2] = {
        {.name = "live-rc", .isolation = "read_committed"},
        {.name = "live-ru", .isolation = "read_uncommitted"},
    };
    int live_on[2] = {live_rc, live_ru};
    pthread_t live_t[2], prod_t[MAX_PRODUCERS];
    for (int i = 0; i < 2; i++) {
        atomic_init(&live[i].done, 0);
        live[i].deadline_after_done = 60;
        if (live_on[i] && pthread_create(&live_t[i], NULL, reader_main, &live[i])) {
            fprintf(stderr, "fetch_gap: pthread_create failed\n");
            return 1;
        }
    }
    double t0 = now_s();
    for (int p = 0; p < producers; p++) {
        prod[p].index = p;
        if (pthread_create(&prod_t[p], NULL, producer_main, &prod[p])) {
            fprintf(stderr, "fetch_gap: pthread_create failed\n");
            return 1;
        }
    }
    for (int p = 0; p < producers; p++) pthread_join(prod_t[p], NULL);
    double produce_s = now_s() - t0;
    long committed_total = 0;
    for (int p = 0; p < producers; p++)
        for (size_t q = 0; q < prod[p].n; q++) committed_total += prod[p].fate[q] == SEQ_COMMITTED;
    atomic_store(&expected_total, committed_total);
    atomic_store(&producers_done, 1);

    for (int i = 0; i < 2; i++) atomic_store(&live[i].done, 1);
    /* For information only: Tansu's ListOffsets answer has been seen to lag the records. */
    int64_t high = -1;
    query_end(&high);
    for (int i = 0; i < 2; i++)
        if (live_on[i]) pthread_join(live_t[i], NULL);

    /* Ground truth, read after the fact by fresh consumers. */
    reader_t truth[2] = {
        {.name = "truth-rc", .isolation = "read_committed"},
        {.name = "truth-ru", .isolation = "read_uncommitted"},
    };
    pthread_t truth_t[2];
    for (int i = 0; i < 2; i++) {
        atomic_init(&truth[i].done, 1);
        truth[i].deadline_after_done = 120;
        if (pthread_create(&truth_t[i], NULL, reader_main, &truth[i])) {
            fprintf(stderr, "fetch_gap: pthread_create failed\n");
            return 1;
        }
    }
    double t_truth = now_s();
    for (int i = 0; i < 2; i++) pthread_join(truth_t[i], NULL);
    t_truth = now_s() - t_truth;

    long batches_ok = 0, batches_failed = 0;
    for (int p = 0; p < producers; p++) {
        batches_ok += prod[p].batches_ok;
        batches_failed += prod[p].batches_failed;
    }
    printf("produced for %.1f s: %ld %s ok, %ld failed/aborted; partition end offset %" PRId64 "\n", produce_s,
           batches_ok, transactional ? "transactions" : "batches", batches_failed, high);
    printf("truth read in %.1f s: truth-rc %zu records, truth-ru %zu records; live-rc %zu handed%s, live-ru %zu handed%s\n", t_truth, truth[0].n,
           truth[1].n, live[0].n, live_rc ? "" : " (off)", live[1].n, live_ru ? "" : " (off)");

    long extra = 0;
    reader_t *lives[2];
    int nlive = 0;
    for (int i = 0; i < 2; i++)
        if (live_on[i]) lives[nlive++] = &live[i];
    long lost = check_truth(&truth[0], lives, nlive, &extra);
    long missing[2] = {0, 0}, gaps[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        if (live_on[i]) {
            long by_truth = compare(&live[i], &truth[i], &gaps[i]);
            missing[i] = compare_account(&live[i], &truth[i]);
            if (missing[i] != by_truth)
                printf("  %s: %ld committed records missed by the producers' account, %ld by %s\n", live[i].name,
                       missing[i], by_truth, truth[i].name);
        }

    int any_fail = atomic_load(&failed) || !truth[0].ok || !truth[1].ok || (live_rc && !live[0].ok) ||
                   (live_ru && !live[1].ok);
    printf("RESULT mode=%s producers=%d seconds=%d end_offset=%" PRId64 " batches=%ld failed_batches=%ld "
           "truth_rc=%zu truth_ru=%zu truth_lost=%ld truth_extra=%ld "
           "live_rc_handed=%zu live_rc_missing=%ld live_rc_gaps=%ld "
           "live_ru_handed=%zu live_ru_missing=%ld live_ru_gaps=%ld errors=%d\n",
           transactional ? "txn" : "plain", producers, duration_s, high, batches_ok, batches_failed, truth[0].n,
           truth[1].n, lost, extra, live[0].n, missing[0], gaps[0], live[1].n, missing[1], gaps[1], any_fail);

    for (int i = 0; i < 2; i++) {
        free(live[i].h);
        free(truth[i].h);
    }
    for (int p = 0; p < producers; p++) free(prod[p].fate);
    rd_kafka_wait_destroyed(5000);
    if (any_fail) return 1;
    return (missing[0] || missing[1]) ? 3 : 0;
}
