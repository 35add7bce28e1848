"""chatsim itself: control API over HTTP, rate windows, and the CLI's ready line and --print output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse

import pytest
import requests

from chatsim.server import dingtalk_sign, headline
from chatsim.testing import ChatSim


def test_control_api_fault_register_messages_reset(chat: ChatSim, session: requests.Session) -> None:
    base = chat.url
    assert session.post(f"{base}/_chat/register", json={"channel": "wecom", "id": "ctl-key-1234"}).ok
    fault = {"channel": "wecom", "times": 2, "errcode": 45009, "errmsg": "api freq out of limit"}
    assert session.post(f"{base}/_chat/faults", json=fault).ok
    assert session.get(f"{base}/_chat/faults").json()[0]["times"] == 2
    send = f"{base}/cgi-bin/webhook/send?key=ctl-key-1234"
    msg = {"msgtype": "markdown", "markdown": {"content": "## hello\nworld"}}
    codes = [session.post(send, json=msg).json()["errcode"] for _ in range(3)]
    assert codes == [45009, 45009, 0]
    [record] = session.get(f"{base}/_chat/messages", params={"channel": "wecom"}).json()
    assert record["headline"] == "hello" and record["robot"] == "ctl***"
    assert "ctl-key-1234" not in str(session.get(f"{base}/_chat/attempts").json())
    assert session.post(f"{base}/_chat/faults", json={"channel": "nope"}).status_code == 400
    assert session.post(f"{base}/_chat/reset").ok
    assert session.get(f"{base}/_chat/messages").json() == []


def test_dingtalk_receiver_checks_signature_itself(chat: ChatSim, session: requests.Session) -> None:
    url = chat.register_dingtalk("raw-token-1", "SECraw")
    ts = str(int(time.time() * 1000))
    msg = {"msgtype": "text", "text": {"content": "hi"}}
    good = f"{url}&timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign('SECraw', ts))}"
    bad = f"{url}&timestamp={ts}&sign={urllib.parse.quote_plus(dingtalk_sign('SECother', ts))}"
    assert session.post(bad, json=msg).json()["errcode"] == 310000
    assert session.post(good, json=msg).json() == {"errcode": 0, "errmsg": "ok"}


def test_rate_window_slides_and_penalty_holds() -> None:
    with ChatSim(rate_limit=2, rate_window=0.3, penalty=0.6) as chat, requests.Session() as s:
        url = chat.dingtalk_url("rate-token")
        msg = {"msgtype": "text", "text": {"content": "x"}}
        codes = [s.post(url, json=msg).json()["errcode"] for _ in range(3)]
        assert codes == [0, 0, 130101]
        time.sleep(0.4)  # past the window, still inside the penalty
        assert s.post(url, json=msg).json()["errcode"] == 130101
        deadline = time.monotonic() + 5
        while s.post(url, json=msg).json()["errcode"] != 0:
            assert time.monotonic() < deadline, "robot never recovered"
            time.sleep(0.05)
        assert len(chat.messages()) == 3


def test_wait_for_times_out_with_count(chat: ChatSim) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        chat.wait_for(1, timeout=0.1)


def test_headline_strips_markup() -> None:
    assert headline('<font color="warning">**🔥 [严重] x**</font>\nbody') == "🔥 [严重] x"
    assert headline("\n#### *title*\n") == "title"


def test_cli_prints_ready_and_accepted_messages() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chatsim",
            "serve",
            "--port",
            "0",
            "--print",
            "--dingtalk",
            "cli-token:SECcli",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().strip()
        assert ready.startswith("chatsim ready url=http://127.0.0.1:")
        base = ready.split("url=", 1)[1]
        ts = str(int(time.time() * 1000))
        sign = urllib.parse.quote_plus(dingtalk_sign("SECcli", ts))
        body = {
            "msgtype": "markdown",
            "markdown": {"title": "🔥 [严重] 集群 demo", "text": "#### 🔥 [严重] 集群 demo"},
        }
        answer = requests.post(
            f"{base}/robot/send?access_token=cli-token&timestamp={ts}&sign={sign}", json=body
        )
        assert answer.json()["errcode"] == 0
        # not strict by default: an unknown WeCom key is accepted, so demo configs need no registration
        wecom = {"msgtype": "markdown", "markdown": {"content": "**second**"}}
        assert requests.post(f"{base}/cgi-bin/webhook/send?key=any", json=wecom).json()["errcode"] == 0
        assert proc.stdout.readline().strip() == "[dingtalk] 🔥 [严重] 集群 demo"
        assert proc.stdout.readline().strip() == "[wecom] second"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
