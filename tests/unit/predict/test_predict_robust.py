"""worker.predict.robust (Theil–Sen with Sen's bounds) and worker.predict.kubelet (the lines), on known answers."""

from __future__ import annotations

import random

import pytest

from worker.predict import kubelet, robust

MIB = 1024**2
GIB = 1024**3


def test_theil_sen_recovers_a_line_despite_wild_points() -> None:
    rnd = random.Random(3)
    points = [(float(t), 2.0 + 0.5 * t + rnd.gauss(0, 0.1)) for t in range(60)]
    for i in range(0, 60, 5):  # 12 of 60 points wild (20 %)
        points[i] = (points[i][0], 100.0)
    fit = robust.theil_sen(points, level=0.9)
    assert fit is not None
    assert fit.slope == pytest.approx(0.5, abs=0.01)
    assert fit.at(10.0) == pytest.approx(7.0, abs=0.1)
    assert fit.crossing(32.0) == pytest.approx(60.0, abs=1.0)
    assert fit.rising_certainty > 0.99


def test_theil_sen_bounds_cover_the_truth_about_as_often_as_they_say() -> None:
    rnd = random.Random(7)
    covered = 0
    for _ in range(200):
        fit = robust.theil_sen([(float(t), 0.1 * t + rnd.gauss(0, 1)) for t in range(40)], level=0.9)
        assert fit is not None
        covered += fit.slope_low <= 0.1 <= fit.slope_high
    assert 0.85 <= covered / 200 <= 0.99


def test_flat_noise_is_not_surely_rising_and_fits_poorly() -> None:
    rnd = random.Random(11)
    fit = robust.theil_sen([(float(t), 50 + rnd.gauss(0, 1)) for t in range(40)])
    assert fit is not None
    assert fit.slope_low < 0 < fit.slope_high
    assert 0.05 < fit.rising_certainty < 0.95
    assert fit.quality < 0.5
    assert fit.crossing(60.0, slope=0.0) == float("inf")


def test_too_few_points_and_bins() -> None:
    assert robust.theil_sen([(0.0, 1.0), (1.0, 2.0)]) is None
    points = [(float(t), float(t % 7)) for t in range(1000)]
    binned = robust.bins(points, 10)
    assert len(binned) == 10
    assert binned[0][0] == pytest.approx(49.5, abs=0.5)
    assert robust.bins(points[:5], 10) == points[:5]
    assert robust.noise([(float(t), 3.0 * t) for t in range(50)]) == 0.0  # a trend is not noise


LIMITS = [
    # metric, kwargs, line (percent used), signal
    ("nodefs", {}, 90.0, "nodefs.available<10%"),
    ("imagefs", {}, 85.0, "imagefs.available<15%"),
    ("inodes", {}, 95.0, "nodefs.inodesFree<5%"),
    ("pods", {}, 100.0, "no pod slot left"),
    ("memory_requests", {}, 100.0, "memory fully requested"),
    # working set / allocatable: 16 GiB capacity, 15 GiB allocatable -> eviction at 16 GiB - 100 MiB
    ("memory", {"memory_capacity": 16 * GIB, "memory_allocatable": 15 * GIB}, 100 * (16 * GIB - 100 * MIB) / (15 * GIB), "memory.available<100Mi"),
    ("memory", {"memory_allocatable": 8 * GIB}, 100 * (8 * GIB - 100 * MIB) / (8 * GIB), "memory.available<100Mi"),
]  # fmt: skip


@pytest.mark.parametrize(("metric", "kwargs", "line", "signal"), LIMITS)
def test_kubelet_default_limits(metric: str, kwargs: dict[str, int], line: float, signal: str) -> None:
    limit = kubelet.limit(metric, **kwargs)  # type: ignore[arg-type]
    assert limit is not None
    assert limit.line == pytest.approx(line)
    assert limit.signal == signal


def test_imagefs_carries_the_gc_thresholds_and_config_overrides() -> None:
    limit = kubelet.limit("imagefs")
    assert limit is not None and (limit.gc_high, limit.gc_low) == (85.0, 80.0)
    custom = kubelet.KubeletConfig(nodefs_available_pct=15.0, image_gc_high_pct=75.0, image_gc_low_pct=70.0)
    assert kubelet.limit("nodefs", custom) == kubelet.Limit(85.0, "nodefs.available<15%")
    image = kubelet.limit("imagefs", custom)
    assert image is not None and image.gc_high == 75.0


def test_no_limit_for_cpu_unknown_or_memory_without_allocatable() -> None:
    assert kubelet.limit("cpu") is None
    assert kubelet.limit("gpu") is None
    assert kubelet.limit("memory") is None
