"""The replay's stand-ins for the world outside: channels that keep what they are given, and a simulated clock."""

from __future__ import annotations

from worker.model import Notification
from worker.notify.channel import Channel


class Sink:
    """The replay's channels: what each receiver would have got, kept instead of sent."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Notification]] = []

    def channel(self, receiver: str) -> Channel:
        sink = self

        class Kept:
            target = f"replay sink ({receiver})"

            def send(self, notification: Notification) -> None:
                sink.got.append((receiver, notification))

        return Kept()

    def take(self) -> list[tuple[str, Notification]]:
        out, self.got = self.got, []
        return out


class Clock:
    """The simulated time, for the delivery stages' clock."""

    now = 0.0

    def __call__(self) -> float:
        return self.now
