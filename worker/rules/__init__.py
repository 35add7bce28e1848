"""Pure rule evaluation: ``worker.rules.evaluate.evaluate`` turns a ClusterSample into findings."""
