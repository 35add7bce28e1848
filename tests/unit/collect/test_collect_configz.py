"""worker/collect/configz.py: the kubelet's configz read as the kubelet writes it (or refused), and the per-process
cache that keeps the scans from asking more than once an hour per node."""

from __future__ import annotations

import pytest

from worker.collect import configz
from worker.collect.document import Malformed
from worker.collect.options import CollectOptions
from worker.predict import kubelet

GIB = 2**30
NOW = 1_700_000_000.0


def test_configz_is_read_as_the_kubelet_writes_it() -> None:
    doc = {
        "kubeletconfig": {
            "evictionHard": {
                "memory.available": "500Mi",
                "nodefs.available": "15%",
                "imagefs.available": "20%",
            },
            "imageGCHighThresholdPercent": 75,
            "imageGCLowThresholdPercent": 60,
            "maxPods": 110,
        }
    }
    got = configz.parse(doc)
    assert got == kubelet.KubeletConfig(
        memory_available=500 * 2**20, nodefs_available_pct=15, imagefs_available_pct=20, nodefs_inodes_free_pct=5,
        image_gc_high_pct=75, image_gc_low_pct=60,
    )  # fmt: skip
    assert kubelet.limit("nodefs", got) == kubelet.Limit(85.0, "nodefs.available<15%")
    # a percentage of memory needs the node's capacity; a config that says nothing keeps the defaults
    assert configz.parse(
        {"kubeletconfig": {"evictionHard": {"memory.available": "5%"}}}, 20 * GIB
    ).memory_available
    assert configz.parse({"kubeletconfig": {"maxPods": 50}}) == kubelet.DEFAULTS


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"kubeletconfig": {"evictionHard": {"nodefs.available": "lots"}}},
        {"kubeletconfig": {"evictionHard": {"nodefs.available": "150%"}}},
        {"kubeletconfig": {"imageGCHighThresholdPercent": "85"}},
        {"kubeletconfig": {"evictionHard": ["nodefs.available<10%"]}},
    ],
)
def test_a_configz_that_cannot_be_read_is_refused_not_guessed(doc: dict[str, object]) -> None:
    with pytest.raises(Malformed):
        configz.parse(doc)


def test_the_configz_cache_expires_and_is_bounded() -> None:
    cache = configz.KubeletConfigs(ttl_s=3600, max_entries=2)
    for i, name in enumerate(("a", "b", "c")):
        cache._keep("c1", name, configz.Known(kubelet.DEFAULTS, configz.CONFIGZ, NOW + i))
    assert cache.cached("c1", "a", NOW + 10) is None  # the oldest went
    assert cache.cached("c1", "c", NOW + 10) is not None
    assert cache.cached("c1", "c", NOW + 2 + 3600) is None  # an hour later it is read again
    got = cache.get(None, "c1", {"x": 0}, NOW, CollectOptions())
    assert got["x"].source == "kubelet defaults (configz not read: collect.diskStats off)"
