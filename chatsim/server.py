"""The HTTP face of chatsim: Slack, DingTalk, WeCom and generic webhook endpoints plus the /_chat control API."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import http.server
import json
import re
import socket
import time
import urllib.parse
from typing import Any

from chatsim.state import CHANNELS, Fault, Robot, State

SLACK_PATH = re.compile(r"^/services/(T[A-Za-z0-9]+)/(B[A-Za-z0-9]+)/([A-Za-z0-9]+)$")
HOOK_PATH = re.compile(r"^/hook/([A-Za-z0-9._-]+)$")
DINGTALK_WINDOW_MS = 3600 * 1000  # DingTalk rejects a timestamp more than an hour off
DINGTALK_MAX_BYTES = 20000  # request body; errcode 460101 "message too long, exceed 20000 bytes"
WECOM_MAX_BYTES = 4096  # markdown.content in UTF-8 bytes (text.content: 2048); errcode 40058
# Slack Block Kit (api.slack.com/reference/block-kit/blocks): header text 150 characters, section text 3000, at most
# 10 fields of 2000, context at most 10 elements, 50 blocks a message; beyond them HTTP 400 "invalid_blocks".
# Slack cuts a top-level ``text`` past 40,000 characters itself (accepted, truncated).
SLACK_LIMITS = {"header": 150, "section": 3000, "field": 2000, "fields": 10, "elements": 10, "blocks": 50}
SLACK_TEXT_MAX = 40000
SLACK_ATTACHMENTS_MAX = 100
# a generic receiver behind a proxy refuses a body over nginx's default client_max_body_size (1 MB) with 413
WEBHOOK_MAX_BYTES = 1024 * 1024
_MARKUP = re.compile(r"<[^>]+>|\*\*|^[#>\s]+")


def headline(text: str) -> str:
    """First non-blank line of a message, without markdown/WeCom markup: what a phone notification shows."""
    for line in text.splitlines():
        clean = _MARKUP.sub("", line).strip().strip("*").strip()
        if clean:
            return clean
    return ""


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would add 40 ms per answer
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the URL holds tokens; the record at /_chat/messages is the log

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, dict | list):
            data, ctype = json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        else:
            data, ctype = str(body if body is not None else "").encode(), "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _errcode(self, code: int, msg: str) -> None:
        self._reply(200, {"errcode": code, "errmsg": msg})

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client may already be gone

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- dispatch ---------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state = self.server.state
        channel = query.get("channel")
        if url.path == "/_chat/messages":
            with state.cond:
                msgs = [m.to_json() for m in state.messages if channel in (None, m.channel)]
            self._reply(200, msgs)
        elif url.path == "/_chat/attempts":
            with state.cond:
                rows = [dataclasses.asdict(a) for a in state.attempts if channel in (None, a.channel)]
            self._reply(200, rows)
        elif url.path == "/_chat/faults":
            with state.cond:
                self._reply(200, [dataclasses.asdict(f) for f in state.faults])
        else:
            self._reply(404, "not found")

    def do_DELETE(self) -> None:
        if self.path == "/_chat/faults":
            with self.server.state.cond:
                self.server.state.faults.clear()
            self._reply(200, {"ok": True})
        else:
            self._reply(404, "not found")

    def do_POST(self) -> None:
        raw = self._read()
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path.startswith("/_chat/"):
            self._control(url.path, raw)
            return
        if m := SLACK_PATH.match(url.path):
            channel, ident = "slack", m.group(3)
        elif url.path == "/robot/send":
            channel, ident = "dingtalk", query.get("access_token", "")
        elif url.path == "/cgi-bin/webhook/send":
            channel, ident = "wecom", query.get("key", "")
        elif m := HOOK_PATH.match(url.path):
            channel, ident = "webhook", m.group(1)
        else:
            self._reply(404, "not found")
            return
        state = self.server.state
        if fault := state.take_fault(channel, ident):
            self._fault(channel, ident, fault)
            return
        getattr(self, f"_{channel}")(ident, query, raw)

    def _fault(self, channel: str, ident: str, fault: Fault) -> None:
        state = self.server.state
        if fault.hang is not None:
            state.attempt(channel, ident, "fault:hang")
            # wait on the stop event so that shutting the server down does not wait for the hang
            state.stopping.wait(fault.hang)
            self._drop()
            return
        if fault.close:
            state.attempt(channel, ident, "fault:close")
            self._drop()
            return
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.errcode is not None:
            state.attempt(channel, ident, f"fault:errcode:{fault.errcode}")
            body = {"errcode": fault.errcode, "errmsg": fault.errmsg or "injected"}
            self._reply(fault.status or 200, body, headers)
            return
        status = fault.status or 500
        state.attempt(channel, ident, f"fault:http:{status}")
        default = {429: "rate_limited", 500: "rollup_error"}.get(status, "injected")
        self._reply(status, fault.body if fault.body is not None else default, headers)

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            return None

    # -- services ---------------------------------------------------------------------------------------------
    def _slack(self, ident: str, query: dict[str, str], raw: bytes) -> None:
        state = self.server.state
        robot = state.robot("slack", ident)
        if robot is None:
            state.attempt("slack", ident, "http:404")
            self._reply(404, "no_service")
            return
        body = self._json(raw)
        if not isinstance(body, dict):
            state.attempt("slack", ident, "http:400")
            self._reply(400, "invalid_payload")
            return
        if not body.get("text") and not body.get("blocks") and not body.get("attachments"):
            state.attempt("slack", ident, "http:400")
            self._reply(400, "no_text")
            return
        problem = slack_problem(body)
        if problem:
            state.attempt("slack", ident, "http:400")
            self._reply(400, problem)
            return
        if state.over_limit(robot, time.time()):
            state.attempt("slack", ident, "http:429")
            self._reply(429, "rate_limited", {"Retry-After": "1"})
            return
        if isinstance(body.get("text"), str) and len(body["text"]) > SLACK_TEXT_MAX:
            # what Slack does with a longer text: accepts it and shows its start
            body["text"] = body["text"][:SLACK_TEXT_MAX]
        state.attempt("slack", ident, "accepted")
        state.accept(robot, headline(str(body.get("text", ""))), body, {})
        self._reply(200, "ok")

    def _dingtalk(self, ident: str, query: dict[str, str], raw: bytes) -> None:
        state = self.server.state
        robot = state.robot("dingtalk", ident)
        if robot is None:
            state.attempt("dingtalk", ident, "errcode:300001")
            self._errcode(300001, "token is not exist")
            return
        if robot.secret is not None:
            problem = self._dingtalk_signature(robot, query)
            if problem:
                state.attempt("dingtalk", ident, "errcode:310000")
                self._errcode(310000, problem)
                return
        body = self._json(raw)
        text = _dingtalk_text(body)
        if text is None:
            state.attempt("dingtalk", ident, "errcode:40035")
            self._errcode(40035, "缺少参数 json")
            return
        if len(raw) > DINGTALK_MAX_BYTES:
            state.attempt("dingtalk", ident, "errcode:460101")
            self._errcode(460101, f"message too long, exceed {DINGTALK_MAX_BYTES} bytes")
            return
        if robot.keyword and robot.keyword not in text:
            state.attempt("dingtalk", ident, "errcode:310000")
            self._errcode(310000, "keywords not in content, more: [https://open.dingtalk.com/]")
            return
        if state.over_limit(robot, time.time()):
            state.attempt("dingtalk", ident, "errcode:130101")
            self._errcode(130101, "send too fast, exceed 20 times per minute")
            return
        state.attempt("dingtalk", ident, "accepted")
        state.accept(robot, headline(text), body, {})
        self._errcode(0, "ok")

    def _dingtalk_signature(self, robot: Robot, query: dict[str, str]) -> str:
        """Empty when the request is signed by the robot's secret within the window, else DingTalk's complaint."""
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > DINGTALK_WINDOW_MS:
            return f"invalid timestamp {timestamp}, more: [https://open.dingtalk.com/]"
        assert robot.secret is not None
        if not hmac.compare_digest(sign, dingtalk_sign(robot.secret, timestamp)):
            return "sign not match, more: [https://open.dingtalk.com/]"
        return ""

    def _wecom(self, ident: str, query: dict[str, str], raw: bytes) -> None:
        state = self.server.state
        robot = state.robot("wecom", ident)
        if robot is None:
            state.attempt("wecom", ident, "errcode:93000")
            self._errcode(93000, "invalid webhook url, hint: [chatsim]")
            return
        body = self._json(raw)
        msgtype = body.get("msgtype") if isinstance(body, dict) else None
        section = body.get(msgtype) if isinstance(body, dict) and isinstance(msgtype, str) else None
        content = section.get("content") if isinstance(section, dict) else None
        if msgtype not in ("text", "markdown") or not isinstance(content, str):
            state.attempt("wecom", ident, "errcode:40008")
            self._errcode(40008, "invalid message type")
            return
        limit = WECOM_MAX_BYTES if msgtype == "markdown" else 2048
        if len(content.encode()) > limit:
            state.attempt("wecom", ident, "errcode:40058")
            self._errcode(40058, f"{msgtype}.content exceed max length {limit}")
            return
        if state.over_limit(robot, time.time()):
            state.attempt("wecom", ident, "errcode:45009")
            self._errcode(45009, "api freq out of limit")
            return
        state.attempt("wecom", ident, "accepted")
        state.accept(robot, headline(content), body, {})
        self._errcode(0, "ok")

    def _webhook(self, ident: str, query: dict[str, str], raw: bytes) -> None:
        state = self.server.state
        robot = state.robot("webhook", ident)
        if robot is None:
            state.attempt("webhook", ident, "http:404")
            self._reply(404, "no such hook")
            return
        if len(raw) > WEBHOOK_MAX_BYTES:
            state.attempt("webhook", ident, "http:413")
            self._reply(413, "Request Entity Too Large")
            return
        signature = self.headers.get("X-Nodewatch-Signature", "")
        if robot.secret is not None:
            expected = "sha256=" + hmac.new(robot.secret.encode(), raw, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature, expected):
                state.attempt("webhook", ident, "http:401")
                self._reply(401, "bad signature")
                return
        body = self._json(raw)
        if not isinstance(body, dict):
            state.attempt("webhook", ident, "http:400")
            self._reply(400, "body is not a JSON object")
            return
        title = body.get("title") or (body.get("commonAnnotations") or {}).get("summary") or ""
        headers = {"X-Nodewatch-Signature": signature} if signature else {}
        state.attempt("webhook", ident, "accepted")
        state.accept(robot, headline(str(title)), body, headers)
        self._reply(200, {"status": "ok"})

    # -- control API ------------------------------------------------------------------------------------------
    def _control(self, path: str, raw: bytes) -> None:
        state = self.server.state
        spec = self._json(raw) or {}
        try:
            if path == "/_chat/faults":
                state.add_fault(Fault(**spec))
            elif path == "/_chat/register":
                state.register(spec["channel"], spec["id"], spec.get("secret"), spec.get("keyword"))
            elif path == "/_chat/reset":
                state.reset()
            else:
                self._reply(404, "not found")
                return
        except (TypeError, KeyError, ValueError) as exc:
            self._reply(400, {"error": str(exc)})
            return
        self._reply(200, {"ok": True})


def slack_problem(body: dict[str, Any]) -> str:
    """Slack's 400 answer for a message outside Block Kit's limits, or "" when it is within them."""
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or len(attachments) > SLACK_ATTACHMENTS_MAX:
        return "invalid_attachments"
    lists = [
        body.get("blocks") or [],
        *((a or {}).get("blocks") or [] for a in attachments if isinstance(a, dict)),
    ]
    for blocks in lists:
        if not isinstance(blocks, list) or len(blocks) > SLACK_LIMITS["blocks"]:
            return "invalid_blocks"
        if any(not _slack_block_ok(b) for b in blocks):
            return "invalid_blocks"
    return ""


def _slack_text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) and isinstance(obj.get("text"), str) else -1


def _slack_block_ok(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    kind = block.get("type")
    if kind == "header":
        return 0 < _slack_text_len(block.get("text")) <= SLACK_LIMITS["header"]
    if kind == "section":
        fields = block.get("fields")
        if fields is not None and (
            not isinstance(fields, list)
            or len(fields) > SLACK_LIMITS["fields"]
            or any(not 0 < _slack_text_len(f) <= SLACK_LIMITS["field"] for f in fields)
        ):
            return False
        if "text" in block and not 0 < _slack_text_len(block["text"]) <= SLACK_LIMITS["section"]:
            return False
        return fields is not None or "text" in block
    if kind == "context":
        elements = block.get("elements")
        return (
            isinstance(elements, list)
            and 0 < len(elements) <= SLACK_LIMITS["elements"]
            and all(
                (isinstance(e, dict) and e.get("type") == "image")
                or 0 < _slack_text_len(e) <= SLACK_LIMITS["section"]
                for e in elements
            )
        )
    return True  # other block kinds are not checked here


def _dingtalk_text(body: Any) -> str | None:
    """The content DingTalk checks for keywords, or None when the body is not a message it knows."""
    if not isinstance(body, dict):
        return None
    msgtype = body.get("msgtype")
    section = body.get(msgtype) if isinstance(msgtype, str) else None
    if not isinstance(section, dict):
        return None
    if msgtype == "text":
        return str(section.get("content", "")) or None
    if msgtype in ("markdown", "link", "actionCard"):
        text = section.get("text")
        return f"{section.get('title', '')}\n{text}" if isinstance(text, str) and text else None
    return None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: State) -> None:
        super().__init__(address, Handler)
        self.state = state

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.state.stopping.set()
        self.shutdown()
        self.server_close()


__all__ = ["CHANNELS", "Server", "State", "headline"]
