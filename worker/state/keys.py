"""Every Redis key nodewatch uses, in one place. Nothing outside worker/state builds a key name.

All keys start ``nw:``. Per-cluster keys carry the cluster in a hash tag (``nw:{prod-eu}:...``) so one cluster's
state lives in one Redis Cluster slot and a Lua script may touch it atomically. Every key that is not
configuration has a TTL or a bounded size, and the keys without a TTL are listed in ``WITHOUT_TTL``; a test churns
nodes and clusters and checks both (tests/faults/test_faults_bounds.py). Stored notifications are capped by
``worker.model.limits`` (lists 100 items, strings 2000 characters, params 64 KiB: "… +N more"). A removed cluster's
keys are deleted or expire (``store.Stores.commit_scan(forget=True)``).

| key                          | type   | TTL / bound                         | purpose (bytes per node, measured)          |
|------------------------------|--------|-------------------------------------|---------------------------------------------|
| nw:{c}:alerts                | hash   | 7 d, refreshed each scan; one entry | fingerprint -> AlertState JSON (~275 B/alert)|
|                              |        | per open alert of a present node    |                                             |
| nw:{c}:cd:{fp}               | string | the repeat interval                 | cooldown: alive = do not repeat             |
| nw:{c}:n:{id}                | string | 2 d; <= PAYLOAD_MAX bytes           | notification payload (task args carry id)   |
| nw:{c}:dl:{id}:{receiver}    | string | 2 d                                 | delivery log: already sent, do not resend   |
| nw:{c}:lock                  | string | scan time limit                     | scan lock: one scan of a cluster at a time  |
| nw:{c}:wdlock                | string | 30 s                                | the watchdog deciding about the cluster:    |
|                              |        |                                     | one process at a time (worker/watchdog.py)  |
| nw:{c}:status                | hash   | 7 d; deleted with the cluster       | last scan start/end/duration/lag/outcome    |
| nw:{c}:scans                 | list   | LTRIM 200, 7 d; deleted with it     | recent scans: start, end, lag, outcome      |
| nw:{c}:counts                | hash   | 7 d; deleted with the cluster; ~30  | scan counters for /metrics: outcomes,       |
|                              |        | fields                              | duration and lag histogram buckets, sums    |
| nw:{c}:flap                  | hash   | 7 d, refreshed each scan; one entry | fingerprint -> recent transitions, flapping |
|                              |        | per (present node, rule) with a     | since, node (~90 B/entry)                   |
|                              |        | transition in flapWindow (flapping: |                                             |
|                              |        | + flapQuiet); a vanished node's and |                                             |
|                              |        | a removed cluster's are forgotten   |                                             |
| nw:{c}:storm:{rule}          | string | noise.groupInterval                 | a grouped (storm) message went out: batch the rest until this end (scan clock) |
| nw:{c}:groupbuf              | hash   | 2 d; deleted with the cluster       | rule|id -> notification waiting for its group |
| nw:silences                  | hash   | pruned when a silence ends          | silence id -> matchers, author, comment, end |
| nw:{c}:inv                   | hash   | 7 d; present nodes only; deleted    | node -> last scan's labels, taints, Ready (~400 B/node) + ~scan; only changed fields written |
|                              |        | with the cluster                    |                                             |
| nw:{c}:fails                 | string | 7 d; deleted with the cluster       | consecutive failed scans                    |
| nw:{c}:why                   | stream | MAXLEN ~1000 (+ WHY_SLACK); 2 d     | why a notification was not sent / delayed   |
|                              |        | once its cluster is removed         |                                             |
| nw:sched                     | zset   | one member per configured cluster   | cluster -> next due time (epoch s)          |
| nw:removed                   | set    | drained each dispatch tick          | clusters dropped from nw:sched, to forget   |
| nw:deadletters               | list   | LTRIM 1000                          | messages that could not be delivered        |
| nw:stats                     | hash   | none (a few counters per receiver)  | delivered / failed / dead-lettered counts   |
| nw:redbeat:*                 | (RedBeat) | RedBeat's own                    | the beat lock and beat's schedule           |
| nw:{c}:rr:{receiver}:{fp}    | string | max(longest repeatInterval, 1 d)    | when the receiver last got it, written      |
|                              |        |                                     | after a send succeeded: repeatInterval      |
| nw:{r:NAME}:bucket           | hash   | until refilled (<= one window)      | token bucket of receiver NAME (~60 B)       |
| nw:{r:NAME}:waiting          | zset   | PAYLOAD_TTL, refreshed on add       | "cluster<TAB>id" held back by the rate      |
|                              |        |                                     | limit; score: critical first, then oldest   |
| nw:{r:NAME}:heartbeat        | string | watchdog.heartbeatInterval          | the receiver's "I am alive" went out: the   |
|                              |        |                                     | next is due when it expires                 |
| nw:{r:NAME}:flush            | string | the flush's delay + FLUSH_SLACK     | a digest flush task is scheduled            |
| nw:{c}:h:{node}              | hash   | HISTORY_TTL (8 d), refreshed each   | history (worker/state/history.py): scan     |
|                              |        | write; scan tier 6 h, 5-min tier    | samples 6 h + 5-min mean/max 7 d of 8       |
|                              |        | 7 d, each capped in bytes; a node   | metrics (~16 KB/node measured, <= 24 KB);   |
|                              |        | gone from its cluster keeps it till | written by every scan that read the cluster |
|                              |        | the TTL; deleted with the cluster   | (pipeline.run_scan), one pipelined round    |
|                              |        | (pipeline.forget)                   | trip after the commit script, not in it     |
| nw:{c}:hn                    | zset   | HISTORY_TTL; members not written    | nodes with history -> last sample time      |
|                              |        | for 7 d are dropped; deleted with   |                                             |
|                              |        | the cluster                         |                                             |
| nw:hb:{worker}               | string | WORKER_HEARTBEAT_TTL                | when this worker's consumer loop last ran   |
|                              |        |                                     | (`nodewatch health --worker`: liveness)     |
| nw:{c}:pred                  | hash   | 7 d, refreshed by each write; one   | node<TAB>metric -> the last prediction's    |
|                              |        | entry per (present node, metric     | 5-min bucket (~30 B), + the finding while   |
|                              |        | above the prediction floor); a      | it is active (~700 B); read with the scan's |
|                              |        | gone node's entries are deleted;    | state, written in its commit               |
|                              |        | deleted with the cluster            | (worker/state/predictions.py)               |
| nw:{c}:view                  | string | 7 d, rewritten by each scan that    | the dashboard's node table: one row per     |
|                              |        | read the cluster; deleted with it   | node (nodeview.py, ~150 B/node)             |
| nw:{c}:viewsum               | string | 7 d, as view; deleted with it       | the fleet page's line: ready/total, worst   |
|                              |        |                                     | figures, degraded reads (~400 B)            |
"""

from __future__ import annotations

PREFIX = "nw"
ALERTS_TTL = 7 * 24 * 3600
PAYLOAD_TTL = 2 * 24 * 3600
WHY_MAXLEN = 1000
WHY_SLACK = 100  # MAXLEN ~ trims whole stream nodes: a stream may hold up to one node (100 entries) more
DEADLETTER_MAX = 1000
# one stored notification: params <= limits.PARAMS_MAX (64 KiB) + a summary of <= 2000 characters + a few fields
PAYLOAD_MAX = 80 * 1024
# The keys that live without a TTL (fnmatch patterns), each bounded another way (the table says how). Every other
# key nodewatch writes has one. A new key without a TTL is added here with its bound, or the bounds test fails.
WITHOUT_TTL = (
    "nw:sched",
    "nw:removed",
    "nw:silences",
    "nw:deadletters",
    "nw:stats",
    "nw:{*}:why",
    "nw:redbeat:*",
)


def _c(cluster: str) -> str:
    return f"{PREFIX}:{{{cluster}}}"


def cluster_pattern(cluster: str) -> str:
    """A SCAN pattern matching every key of ``cluster``."""
    return f"{_c(cluster)}:*"


def cluster_part(cluster: str, key: str) -> str:
    """What follows the cluster's hash tag in one of its keys: ``alerts``, ``cd:{fp}``, ``n:{id}``..."""
    return key.removeprefix(f"{_c(cluster)}:")


def alerts(cluster: str) -> str:
    return f"{_c(cluster)}:alerts"


def cooldown(cluster: str, fp: str) -> str:
    return f"{_c(cluster)}:cd:{fp}"


def payload(cluster: str, notification_id: str) -> str:
    return f"{_c(cluster)}:n:{notification_id}"


def delivered(cluster: str, notification_id: str, receiver: str) -> str:
    return f"{_c(cluster)}:dl:{notification_id}:{receiver}"


def scan_lock(cluster: str) -> str:
    return f"{_c(cluster)}:lock"


def watchdog_lock(cluster: str) -> str:
    return f"{_c(cluster)}:wdlock"


def status(cluster: str) -> str:
    return f"{_c(cluster)}:status"


def scans(cluster: str) -> str:
    return f"{_c(cluster)}:scans"


SCANS_MAX = 200


def counts(cluster: str) -> str:
    return f"{_c(cluster)}:counts"


def flaps(cluster: str) -> str:
    return f"{_c(cluster)}:flap"


def storm(cluster: str, rule: str) -> str:
    return f"{_c(cluster)}:storm:{rule}"


def group_buffer(cluster: str) -> str:
    return f"{_c(cluster)}:groupbuf"


SILENCES = f"{PREFIX}:silences"


def nodes(cluster: str) -> str:
    # a hash since the scale work (was the string nw:{c}:nodes, left to expire): a new name, no WRONGTYPE
    return f"{_c(cluster)}:inv"


def failures(cluster: str) -> str:
    return f"{_c(cluster)}:fails"


def why(cluster: str) -> str:
    return f"{_c(cluster)}:why"


SCHEDULE = f"{PREFIX}:sched"
REDBEAT_PREFIX = f"{PREFIX}:redbeat:"
REMOVED = f"{PREFIX}:removed"  # clusters claim_due dropped from the schedule; tasks.forget_cluster closes their alerts
DEADLETTERS = f"{PREFIX}:deadletters"
STATS = f"{PREFIX}:stats"


# --- notification delivery; receiver keys share a hash tag for one Lua script ---
FLUSH_SLACK = 120


ROUTE_REPEAT_MIN_TTL = 86400


def route_repeat(cluster: str, receiver: str, fp: str) -> str:
    return f"{_c(cluster)}:rr:{receiver}:{fp}"


def _r(receiver: str) -> str:
    return f"{PREFIX}:{{r:{receiver}}}"


def bucket(receiver: str) -> str:
    return f"{_r(receiver)}:bucket"


def waiting(receiver: str) -> str:
    return f"{_r(receiver)}:waiting"


def flush(receiver: str) -> str:
    return f"{_r(receiver)}:flush"


def heartbeat(receiver: str) -> str:
    return f"{_r(receiver)}:heartbeat"


# --- Redis loss ---
# | nw:epoch          | string | 7 d, set each beat tick | random id written when the state is first created; |
# |                   |        |                         | a beat that saw another (or none) knows it was lost |
# | nw:state_lost_at  | string | STATE_LOST_NOTE_S       | when a loss was noticed: messages made since say so |
EPOCH = f"{PREFIX}:epoch"
STATE_LOST_AT = f"{PREFIX}:state_lost_at"
STATE_LOST_NOTE_S = 3600


# --- history: worker/state/history.py ---
HISTORY_TTL = 8 * 24 * 3600  # a deleted node's history is gone a day after its last sample aged out


def history(cluster: str, node: str) -> str:
    return f"{_c(cluster)}:h:{node}"


def predictions(cluster: str) -> str:
    return f"{_c(cluster)}:pred"


def history_nodes(cluster: str) -> str:
    return f"{_c(cluster)}:hn"


WORKER_HEARTBEAT_TTL = 600  # a worker gone for good leaves its key for ten minutes, no longer


def worker_heartbeat(worker: str) -> str:
    """The heartbeat of one Celery worker (its node name, e.g. ``celery@nodewatch-worker-7d9f``)."""
    return f"{PREFIX}:hb:{worker}"


# --- the dashboard's view of the last scan: worker/state/nodeview.py ---
def view(cluster: str) -> str:
    return f"{_c(cluster)}:view"


def view_summary(cluster: str) -> str:
    return f"{_c(cluster)}:viewsum"
