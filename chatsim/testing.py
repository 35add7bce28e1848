"""ChatSim: run chatsim in a background thread on a free port, for tests and demos in the same process."""

from __future__ import annotations

import threading
import time
from typing import Any

from chatsim.server import Server
from chatsim.state import Fault, State


class ChatSim:
    """``with ChatSim() as chat: channel url = chat.dingtalk_url("tok") ...; chat.wait_for(1)``.

    ``strict`` (default) answers like the real services for tokens/keys nobody registered; the ``*_url``
    helpers register the id they hand out.
    """

    def __init__(
        self,
        *,
        strict: bool = True,
        rate_limit: int = 20,
        rate_window: float = 60.0,
        penalty: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = State(strict=strict, rate_limit=rate_limit, rate_window=rate_window, penalty=penalty)
        self._server = Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ChatSim:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="chatsim", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return self._server.url

    def slack_url(self, token: str) -> str:
        self._ensure("slack", token)
        return f"{self.url}/services/TCHATSIM/BCHATSIM/{token}"

    def register_dingtalk(self, token: str, secret: str | None = None, keyword: str | None = None) -> str:
        self.state.register("dingtalk", token, secret, keyword)
        return self.dingtalk_url(token)

    def dingtalk_url(self, token: str) -> str:
        self._ensure("dingtalk", token)
        return f"{self.url}/robot/send?access_token={token}"

    def wecom_url(self, key: str) -> str:
        self._ensure("wecom", key)
        return f"{self.url}/cgi-bin/webhook/send?key={key}"

    def webhook_url(self, name: str, secret: str | None = None) -> str:
        if secret is not None:
            self.state.register("webhook", name, secret)
        self._ensure("webhook", name)
        return f"{self.url}/hook/{name}"

    def _ensure(self, channel: str, ident: str) -> None:
        with self.state.cond:
            if (channel, ident) not in self.state.robots:
                self.state.register(channel, ident)

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self.state.cond:
            return [m.to_json() for m in self.state.messages if channel in (None, m.channel)]

    def attempts(self, channel: str | None = None) -> list[str]:
        """Outcome of every request so far ("accepted", "fault:hang", "errcode:130101", ...), in order."""
        with self.state.cond:
            return [a.outcome for a in self.state.attempts if channel in (None, a.channel)]

    def wait_for(self, count: int, channel: str | None = None, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until at least ``count`` messages were accepted (on ``channel``); TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self.state.cond:
            while True:
                got = [m.to_json() for m in self.state.messages if channel in (None, m.channel)]
                left = deadline - time.monotonic()
                if len(got) >= count:
                    return got
                if left <= 0:
                    raise TimeoutError(f"{len(got)} of {count} messages after {timeout}s")
                self.state.cond.wait(left)

    def fault(self, channel: str, **kw: Any) -> None:
        """Queue a fault: times, ident, status, body, errcode, errmsg, retry_after, hang, close (see Fault)."""
        self.state.add_fault(Fault(channel=channel, **kw))

    def reset(self) -> None:
        self.state.reset()
