"""Kubernetes reads: ``reader`` does the HTTP, ``parse`` turns raw JSON into model objects."""
