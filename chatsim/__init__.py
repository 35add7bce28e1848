"""chatsim: a local HTTP server that answers like Slack, DingTalk and WeCom robots (errors included) for tests."""
