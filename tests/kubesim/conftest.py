"""kubesim's tests use the fixtures of its pytest plugin (imported here: `pytest_plugins` is only allowed at the top).

tests/conftest.py registers `kubesim.pytest_plugin` for the whole suite; importing the fixtures again here keeps
this folder runnable on its own and does no harm.
"""

from kubesim.pytest_plugin import kubesim_factory, kubesim_server

__all__ = ["kubesim_factory", "kubesim_server"]
