"""Kubernetes reads: ``reader`` runs one scan over ``http`` (the only Kubernetes HTTP); ``wire`` and the pure
parsers (``nodelist``, ``podlist``, ``eventlist``, ``kubelet``, ``quantities``, ``document``) turn answers into model
objects; ``samples`` joins them into a ClusterSample."""
