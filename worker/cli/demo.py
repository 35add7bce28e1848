"""``nodewatch demo``: Redis, kubesim, a chat receiver, a worker, beat and Flower on one machine, for a first look.

Every part is real and runs as its own process: a redis-server (the local one when it answers, otherwise a
private one), ``python -m kubesim`` with the demo scenario, ``python -m chatsim`` standing in for Slack, DingTalk
and WeCom (it prints one line per delivered message, e.g. ``[dingtalk] ...``), ``nodewatch worker``,
``nodewatch beat``, ``nodewatch flower`` and ``nodewatch dashboard``, whose URL is the first line the demo
prints (the other parts' lines follow it). Ctrl-C or ``--duration`` stops them all and prints a summary.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import redis
import yaml

from worker import settings
from worker.cli import common, simulators, timefmt
from worker.model.thresholds import Thresholds

# The demo's incidents last a minute or two and it scans every 5 s: its for-durations are a few scans, not the
# production defaults (docs/noise.md). Said to the user when it starts, with the defaults beside them.
CHECK_INTERVAL, COOLDOWN_MIN, KEEP_FIRING_FOR = 5, 10, 15
SHORTENED = {  # config key: (the demo's seconds, what it is)
    "usageFor": (15, "CPU/memory alert after"),
    "usageWarningFor": (15, "a warning after"),
    "notReadyFor": (10, "NotReady after"),
    "pressureFor": (10, "node pressure after"),
    "diskWarningFor": (15, "a disk warning after"),
}


def timings() -> str:
    """The demo's timings beside the defaults, one line."""
    defaults, cfg = Thresholds(), settings.Settings()
    parts = [f"scans every {CHECK_INTERVAL}s ({timefmt.span(cfg.check_interval)})"]
    for key, (seconds, what) in SHORTENED.items():
        default = getattr(defaults, "".join("_" + c.lower() if c.isupper() else c for c in key))
        parts.append(f"{what} {seconds}s ({timefmt.span(default, exact=True)})")
    parts.append(f"resolved after {KEEP_FIRING_FOR}s quiet ({timefmt.span(cfg.noise.keep_firing_for)})")
    parts.append(f"repeats after {COOLDOWN_MIN}m ({timefmt.span(cfg.repeat_interval)})")
    return "demo: timings shortened for a first look, defaults in brackets: " + ", ".join(parts)


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="nodewatch-demo-"))
        self.children: list[tuple[str, subprocess.Popen[str]]] = []
        self.delivered: Counter[str] = Counter()
        self.stop = threading.Event()
        self.python = sys.executable
        self.nodewatch = str(Path(sys.executable).with_name("nodewatch"))
        self.held: list[str] | None = []  # lines said before the dashboard's URL, printed after it

    def say(self, line: str) -> None:
        if self.held is None:
            print(line, flush=True)
        else:
            self.held.append(line)

    # --- children ---
    def spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, log: bool = True
    ) -> subprocess.Popen[str]:
        out: IO[str] | int = open(self.tmp / f"{name}.log", "w") if log else subprocess.PIPE  # noqa: SIM115
        proc = subprocess.Popen(
            argv,
            env=env or os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.children.append((name, proc))
        return proc

    def wait_line(self, proc: subprocess.Popen[str], prefix: str, timeout: float = 60) -> str:
        assert proc.stdout is not None
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"child exited before printing {prefix!r}")
            if line.startswith(prefix):
                return line.strip()
        raise RuntimeError(f"no {prefix!r} line within {timeout}s")

    def redis_url(self) -> str:
        self.redis = common.local_redis(str(self.tmp))
        return self.redis.url

    def start_kubesim(self) -> Path:
        kdir = self.tmp / "kubeconfigs"
        proc = self.spawn(
            "kubesim",
            [
                self.python,
                "-m",
                "kubesim",
                "serve",
                "--scenario",
                str(simulators.kubesim_scenario("demo")),
                "--port",
                "0",
                "--kubeconfig-dir",
                str(kdir),
            ],
            log=False,
        )
        self.wait_line(proc, "kubesim ready")
        self._drain(proc, self.tmp / "kubesim.log")
        return kdir / "demo.yaml"

    def start_chatsim(self, ding_token: str, ding_secret: str) -> str:
        proc = self.spawn(
            "chatsim",
            [
                self.python,
                "-m",
                "chatsim",
                "serve",
                "--port",
                "0",
                "--print",
                "--dingtalk",
                f"{ding_token}:{ding_secret}",
            ],
            log=False,
        )
        line = self.wait_line(proc, "chatsim ready")
        url = line.split("url=", 1)[1].strip()
        threading.Thread(target=self._echo, args=(proc,), daemon=True).start()
        return url

    def _drain(self, proc: subprocess.Popen[str], path: Path) -> None:
        def run() -> None:
            assert proc.stdout is not None
            with open(path, "a") as f:
                for line in proc.stdout:
                    f.write(line)

        threading.Thread(target=run, daemon=True).start()

    def _echo(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if line.startswith("["):
                self.delivered[line[1 : line.index("]")]] += 1
                print(line, flush=True)

    def config(self, kubeconfig: str, context: str | None, chat: str, token: str, secret: str) -> Path:
        data: dict[str, Any] = {
            "checkInterval": CHECK_INTERVAL,
            "dispatchTick": 1,
            "logLevel": "warning",
            "logFormat": "text",
            "alertCooldown": COOLDOWN_MIN,
            "language": self.args.language or "zh",
            "thresholds": {"cpuWarning": 70, "cpuCritical": 90, "memoryWarning": 70, "memoryCritical": 90}
            | {key: seconds for key, (seconds, _) in SHORTENED.items()},
            "noise": {"keepFiringFor": KEEP_FIRING_FOR},
            "clusters": [
                {"name": "demo", "kubeconfig": kubeconfig, **({"context": context} if context else {})}
            ],
            "collect": {"diskStats": True},
            "notify": {"minRetryDelay": 1, "maxRetryDelay": 10},
            "slack": {"webhookURL": f"{chat}/services/TDEMO/BDEMO/{secrets.token_hex(8)}"},
            "dingtalk": {"webhookURL": f"{chat}/robot/send?access_token={token}", "secret": secret},
            "wecom": {"webhookURL": f"{chat}/cgi-bin/webhook/send?key={secrets.token_hex(8)}"},
        }
        path = self.tmp / "config.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        path.chmod(0o600)
        return path

    def run(self) -> int:
        started = time.time()
        url = self.redis_url()
        try:
            self.start_all(url)
            self._wait(self.args.duration)
            self.shutdown()
            self.summary(url, time.time() - started)
        finally:
            self.release()  # what was said before a failed start
            self.shutdown()  # also after a failed start: no child outlives the demo
            self.redis.close()
        return 0

    def start_all(self, url: str) -> None:
        if self.args.kubeconfig:
            kubeconfig, context = os.path.expanduser(self.args.kubeconfig), self.args.context
        else:
            kubeconfig, context = str(self.start_kubesim()), None
        token, secret = secrets.token_hex(8), "SEC" + secrets.token_hex(16)
        chat = self.start_chatsim(token, secret)
        config = self.config(kubeconfig, context, chat, token, secret)
        env = dict(os.environ, REDIS_URL=url, NODEWATCH_CONFIG=str(config))
        self.start_dashboard(env)
        auth = "demo:" + secrets.token_urlsafe(9)
        self.look(url, config, None if self.args.no_flower else auth)
        self.spawn("worker", [self.nodewatch, "worker", "--concurrency", "2"], env)
        self.spawn("beat", [self.nodewatch, "beat"], env)
        if not self.args.no_flower:
            # the password through the environment: a command line is what `ps` shows everyone
            port = str(self.args.flower_port)
            self.spawn(
                "flower", [self.nodewatch, "flower", "--port", port], dict(env, FLOWER_BASIC_AUTH=auth)
            )
        self.say(f"demo: logs in {self.tmp}; messages below as they are delivered (Ctrl-C stops)")
        self.release()

    def start_dashboard(self, env: dict[str, str]) -> None:
        """The dashboard on 127.0.0.1 with a password of this run (through the environment, like Flower's); its
        URL is the demo's first line, the fleet page it opens on shows the scenario's incidents as they come."""
        if self.args.no_dashboard:
            self.release()
            return
        auth = "demo:" + secrets.token_urlsafe(9)
        argv = [
            self.nodewatch,
            "dashboard",
            "--address",
            "127.0.0.1",
            "--port",
            str(port_or_any(self.args.dashboard_port)),
        ]
        proc = self.spawn("dashboard", argv, dict(env, NODEWATCH_DASHBOARD_BASIC_AUTH=auth), log=False)
        url = self.wait_line(proc, "dashboard ready", timeout=60).split("url=", 1)[1]
        self._drain(proc, self.tmp / "dashboard.log")
        print(f"demo: dashboard on {url} (user demo, password {auth[5:]})", flush=True)
        self.release()

    def release(self) -> None:
        """Print the lines held back for the dashboard's URL, and from now on print as they come."""
        for line in self.held or []:
            print(line, flush=True)
        self.held = None

    def look(self, url: str, config: Path, flower_auth: str | None) -> None:
        """Right after the dashboard's URL: how to look at the demo from another terminal, each command as it runs there."""
        here = os.path.relpath(self.nodewatch)
        nodewatch = here if not here.startswith("..") else self.nodewatch
        print(f"demo: Redis {self.redis.origin}. To look at it from another terminal while it runs:")
        print(f"  export REDIS_URL={url} NODEWATCH_CONFIG={config}")
        for command, what in (
            ("alerts list", "open alerts, with their fingerprints"),
            ("alerts why FP", "what was decided for one alert, and why"),
            ("cluster list", "the demo cluster's last scan"),
            ("history demo NODE", "a node's recent figures"),
        ):
            print(f"  {nodewatch} {command:<18} # {what}")
        if flower_auth:
            user, password = flower_auth.split(":", 1)
            print(f"  Flower: http://127.0.0.1:{self.args.flower_port} (user {user}, password {password})")
        print(timings(), flush=True)

    def _wait(self, duration: float | None) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        try:
            deadline = time.time() + duration if duration else None
            while not self.stop.is_set():
                if deadline and time.time() >= deadline:
                    break
                for name, proc in self.children:
                    if proc.poll() is not None:
                        print(f"demo: {name} exited with {proc.returncode}; see {self.tmp}/{name}.log")
                        return
                self.stop.wait(0.5)
        except KeyboardInterrupt:
            print()

    def shutdown(self) -> None:
        """SIGTERM every child's process group and wait (Celery children go with their worker)."""
        chosen = [(name, proc) for name, proc in self.children if proc.poll() is None]
        for _, proc in chosen:
            os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in chosen:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                print(f"demo: {name} did not stop in 15 s; killed")
                os.killpg(proc.pid, signal.SIGKILL)

    def summary(self, url: str, elapsed: float) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.delivered.items())) or "none"
        stats: dict[str, int] = {}
        scans = 0
        try:
            stores = common.stores(url)
            stats = stores.notifications.stats()
            scans = int(stores.schedule.scan_status("demo").get("scans", 0))
        except redis.RedisError:
            pass  # our private Redis is gone by now; the counts we saw are enough
        dead = sum(v for k, v in stats.items() if k.startswith("deadlettered:"))
        retried = sum(v for k, v in stats.items() if k.startswith("retried:"))
        total = sum(self.delivered.values())
        print(
            f"demo summary: {total} messages delivered ({counts}) in {elapsed:.0f}s; "
            f"{scans} scans, {retried} retries, {dead} dead letters"
        )


def port_or_any(port: int) -> int:
    """``port`` when it is free on 127.0.0.1, else 0 (any free one: the URL says which), so that a second demo,
    or a test running one, still starts."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return 0
    return port


def run(args: argparse.Namespace) -> int:
    # kubesim stands in for a cluster unless --kubeconfig names a real one; chatsim always receives the messages
    simulators.require("demo", *(() if args.kubeconfig else ("kubesim",)), "chatsim")
    return Demo(args).run()
