"""The rule registry is the one list of rule names: what the rules report, the thresholds they read, the units
the templates format, the replay's metrics and the default inhibition all agree with it."""

from __future__ import annotations

import dataclasses

import pytest

from worker import pipeline, settings
from worker.model import history, policies, rules
from worker.model.thresholds import Thresholds
from worker.notify import templates
from worker.replay import incidents
from worker.rules import evaluate, health


def test_names_are_unique() -> None:
    assert len(rules.NAMES) == len(rules.RULES)


def test_every_threshold_a_rule_names_is_a_field_and_every_field_is_read() -> None:
    fields = {f.name for f in dataclasses.fields(Thresholds)}
    named = {key for r in rules.RULES for key in r.thresholds}
    assert named <= fields, named - fields
    assert fields <= named, f"no rule reads {sorted(fields - named)}"


def test_defaults_come_from_thresholds() -> None:
    assert rules.BY_NAME["cpu_usage"].defaults()["cpu_critical"] == Thresholds().cpu_critical


def test_the_rules_and_the_scan_report_exactly_the_registry() -> None:
    assert evaluate.RULES == tuple(r.name for r in rules.RULES if r.reported_by == "rules")
    scan_rules = {r.name for r in rules.RULES if r.reported_by == "scan"}
    cfg = settings.parse({}, env={})
    for outcome, slow, failures in (
        ("ok", "", 0),
        ("slow", "took 70s", 0),
        ("timeout", "", 9),
        ("unreachable", "", 9),
    ):
        reported = health.cluster_health(cfg.scan_failures_before_alert, "c", outcome, "down", failures, slow)
        assert {f.rule for f in reported} == scan_rules, outcome


def test_the_scan_reads_pod_usage_for_the_rules_whose_message_names_top_pods() -> None:
    assert pipeline.POD_USAGE_RULES == {"cpu_usage", "memory_usage"}


def test_the_predicted_rules_are_tied_to_their_history_metric() -> None:
    # a contract with the replay's scoring: these names and metrics
    assert rules.PREDICTED == {
        "nodefs": "nodefs_fill_predicted",
        "imagefs": "imagefs_fill_predicted",
        "inodes": "inodes_fill_predicted",
        "memory": "memory_fill_predicted",
        "pods": "pods_fill_predicted",
    }
    assert set(rules.PREDICTED) <= set(history.METRICS)
    for metric, name in rules.PREDICTED.items():
        assert rules.by_metric(metric)[-1] == name


def test_every_unit_has_a_template_filter() -> None:
    assert {r.unit for r in rules.RULES if r.unit} <= set(templates.FILTERS)


def test_replay_metrics() -> None:
    assert incidents.METRIC_RULES == {
        "cpu": ("cpu_usage",),
        "memory": ("memory_usage", "memory_fill_predicted"),
        "disk": ("disk_nodefs",),
        "ready": ("node_not_ready", "node_unknown", "ready_drop"),
    }


def test_default_inhibition_mutes_a_not_ready_nodes_load_and_pressure() -> None:
    # docs/noise.md: usage, disk, requests and pressure; NetworkUnavailable still pages
    assert set(rules.NODE_LOAD) == {
        "cpu_usage", "memory_usage", "pods_usage", "disk_nodefs", "disk_imagefs", "disk_inodes", "cpu_requests",
        "memory_requests", "ephemeral_requests", "pods_requests", "memory_pressure", "disk_pressure",
        "pid_pressure", "nodefs_fill_predicted", "imagefs_fill_predicted", "inodes_fill_predicted",
        "memory_fill_predicted", "pods_fill_predicted",
    }  # fmt: skip
    for inhibit in policies.DEFAULT_INHIBIT:
        for name in (*inhibit.source_rules, *inhibit.target_rules):
            assert name in rules.BY_NAME


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("cpu_usage", None),
        ("cpu_usge", "unknown rule 'cpu_usge' (did you mean cpu_usage"),
        ("zzzz", "unknown rule 'zzzz' (known: cpu_usage, "),
    ],
)
def test_name_problem(name: str, problem: str | None) -> None:
    said = rules.name_problem(name)
    assert said == problem if problem is None else said is not None and said.startswith(problem)


@pytest.mark.parametrize(
    ("pattern", "fine"),
    [("cpu_*", True), ("disk_*", True), ("*", True), ("cluster_?nreachable", True), ("cpu_usage", True),
     ("gpu_*", False), ("cpu_usge", False), ("[", False)],
)  # fmt: skip
def test_pattern_problem(pattern: str, fine: bool) -> None:
    assert (rules.pattern_problem(pattern) is None) == fine
