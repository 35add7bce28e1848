"""kubesim: a simulated Kubernetes API server (many clusters, real wire format) for tests, the demo and benchmarks."""
