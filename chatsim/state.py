"""What the simulated services remember: registered robots, queued faults, accepted messages, rate windows."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

CHANNELS = ("slack", "dingtalk", "wecom", "webhook")


def mask(ident: str) -> str:
    """Robot tokens are secrets even in a simulator's record: keep a short prefix to tell robots apart."""
    return f"{ident[:3]}***" if len(ident) > 6 else "***"


@dataclass
class Robot:
    """A registered endpoint: Slack token, DingTalk access_token, WeCom key or webhook name."""

    channel: str
    ident: str
    secret: str | None = None  # DingTalk signing secret / webhook HMAC secret
    keyword: str | None = None  # DingTalk keyword mode
    sent: collections.deque[float] = field(default_factory=collections.deque)
    throttled_until: float = 0.0


@dataclass
class Fault:
    """Answer the next ``times`` matching requests this way instead of processing them."""

    channel: str
    times: int = 1
    ident: str | None = None  # only for this token/key/name
    status: int | None = None
    body: Any = None
    errcode: int | None = None
    errmsg: str = ""
    retry_after: float | None = None
    hang: float | None = None  # seconds to stall, then close without answering
    close: bool = False  # close the connection without answering

    def matches(self, channel: str, ident: str) -> bool:
        return self.channel in (channel, "*") and self.ident in (None, ident)


@dataclass
class Message:
    seq: int
    channel: str
    robot: str  # masked id
    time: float
    headline: str
    body: Any
    headers: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Attempt:
    channel: str
    robot: str
    time: float
    outcome: str  # "accepted", "fault:<what>", "errcode:<n>", "http:<status>"


class State:
    """Thread-safe; the HTTP handlers and the test thread share one instance."""

    def __init__(
        self, *, strict: bool = True, rate_limit: int = 20, rate_window: float = 60.0, penalty: float = 0.0
    ) -> None:
        self.strict = strict
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.penalty = penalty  # a DingTalk robot over its limit stays throttled this long (real: ~10 min)
        self.robots: dict[tuple[str, str], Robot] = {}
        self.faults: list[Fault] = []
        self.messages: list[Message] = []
        self.attempts: list[Attempt] = []
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.on_accept: list[Any] = []

    def register(
        self, channel: str, ident: str, secret: str | None = None, keyword: str | None = None
    ) -> Robot:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        with self.cond:
            robot = Robot(channel, ident, secret, keyword)
            self.robots[(channel, ident)] = robot
            return robot

    def robot(self, channel: str, ident: str) -> Robot | None:
        with self.cond:
            robot = self.robots.get((channel, ident))
            if robot is None and not self.strict:
                robot = self.robots[(channel, ident)] = Robot(channel, ident)
            return robot

    def add_fault(self, fault: Fault) -> None:
        if fault.channel not in (*CHANNELS, "*"):
            raise ValueError(f"unknown channel {fault.channel!r}")
        with self.cond:
            self.faults.append(fault)

    def take_fault(self, channel: str, ident: str) -> Fault | None:
        with self.cond:
            for fault in self.faults:
                if fault.matches(channel, ident):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def over_limit(self, robot: Robot, now: float) -> bool:
        """True when ``robot`` already accepted ``rate_limit`` messages in the last ``rate_window`` seconds."""
        with self.cond:
            if now < robot.throttled_until:
                return True
            while robot.sent and robot.sent[0] <= now - self.rate_window:
                robot.sent.popleft()
            if len(robot.sent) >= self.rate_limit:
                robot.throttled_until = now + self.penalty
                return True
            return False

    def accept(self, robot: Robot, headline: str, body: Any, headers: dict[str, str]) -> Message:
        now = time.time()
        with self.cond:
            robot.sent.append(now)
            msg = Message(
                len(self.messages) + 1, robot.channel, mask(robot.ident), now, headline, body, headers
            )
            self.messages.append(msg)
            self.cond.notify_all()
        for callback in self.on_accept:
            callback(msg)
        return msg

    def attempt(self, channel: str, ident: str, outcome: str) -> None:
        with self.cond:
            self.attempts.append(Attempt(channel, mask(ident), time.time(), outcome))
            self.cond.notify_all()

    def reset(self) -> None:
        with self.cond:
            self.faults.clear()
            self.messages.clear()
            self.attempts.clear()
            for robot in self.robots.values():
                robot.sent.clear()
                robot.throttled_until = 0.0
