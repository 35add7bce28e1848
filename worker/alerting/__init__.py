"""The stages from finding to delivered message, in Alertmanager's order; each a pure decision handed ``now``
that returns a reason, plus the state it reads and writes.

| stage | pure decision | reads | writes |
|---|---|---|---|
| mute | ``rules.muting``: ``inhibited_by``, ``silenced_by``, ``in_maintenance`` (run by ``rules.noise.plan``) | silences, config's windows and inhibit rules, this scan's firing alerts | why |
| lifecycle | ``rules.lifecycle.step`` (pending, firing, repeat, escalated, resolved; ack; keep-firing-for) | alerts, cooldown keys | alerts, cooldowns |
| flap | ``rules.lifecycle.flap`` | flap records | flap records, why |
| storm | ``rules.storms.plan``, ``storms.grouped`` | storm markers, group buffer | storm markers, group buffer, payloads (dedup: ``SET NX``), why |
| route | ``notify.routing.route`` + ``routing.wanted`` (cluster, cluster labels, node group, rule, severity) | config | why |
| repeat | ``notify.routing.repeat_held`` (a route's ``repeatInterval``) | when a receiver last got the alert | why |
| rate limit / digest | ``ratelimit.Bucket`` (token bucket in Lua), ``notify.delivery.digest`` | bucket, digest queue | bucket, digest queue, counters, why |
| send | the channel; ``deliver.failure`` (``delivery.backoff``, ``delivery.gives_up``) | payload | dead letters, counters, why |
| record | — | delivery log | delivery log, when a receiver last got the alert, counters |

``transitions`` runs mute -> lifecycle -> flap -> storm for a scan and hands back what to commit (one Lua
script, ``state.store.Stores.commit_scan``); ``route`` runs route -> repeat for what the commit accepted;
``deliver`` runs rate limit -> send -> record for one (message, receiver), or a receiver's digest. The Celery
tasks (tasks/), the cluster-removal task and ``nodewatch replay`` all call these same functions.
"""
