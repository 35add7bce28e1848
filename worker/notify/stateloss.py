"""The note a message carries when Redis lost nodewatch's state shortly before: it may repeat an earlier one.

After Redis comes back empty nodewatch knows no alert, so the next scans send every alert still true as new
(a receiver's history is out of reach: webhooks are write-only). Saying so is what it can do (docs/reliability.md).
Pure: the time of the loss and the receiver's language are handed in.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from worker.model import Notification

NOTE = {
    "en": (
        "nodewatch lost its alert state at {at} (Redis came back empty): this alert may have been sent before, "
        "and silences and acks set before then are gone"
    ),
    "zh": "nodewatch 于 {at} 丢失了告警状态（Redis 重启后数据为空）：此告警可能已发送过，此前设置的静默和确认已失效",
}


def noted(message: Notification, lost_at: float | None, lang: str) -> Notification:
    """``message`` with the note added to its details when it was made after the loss at ``lost_at``."""
    if lost_at is None or message.created_at < lost_at:
        return message
    at = datetime.fromtimestamp(lost_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = NOTE.get(lang, NOTE["en"]).format(at=at)
    details = message.params.get("message")
    return dataclasses.replace(
        message, params={**message.params, "message": f"{details}; {note}" if details else note}
    )
