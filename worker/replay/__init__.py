"""Replay evaluation: kubesim on a simulated clock through the real scan path, scored against the sketch."""
