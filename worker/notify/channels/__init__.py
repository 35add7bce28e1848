"""One module per chat service; each holds a channel class that satisfies ``worker.notify.channel.Channel``."""
