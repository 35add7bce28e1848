"""Pure trend models: one node's history of one metric -> time to the kubelet's limit, with a confidence.

``kubelet.limit`` names the line (eviction thresholds, image GC), ``trend.predict`` answers a ``Prediction`` or a
``Refusal`` with its reason (``outcome``; the steps in ``clean``, ``cycles`` and ``fit``), ``decide.decide`` turns
that into a severity with hysteresis. No I/O, no clock: ``now`` is a parameter; standard library only (``robust``
holds the Theil–Sen fit).
"""
