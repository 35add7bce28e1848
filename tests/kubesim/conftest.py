"""kubesim's own tests use its pytest plugin, as the rest of the suite does."""

pytest_plugins = ["kubesim.pytest_plugin"]
