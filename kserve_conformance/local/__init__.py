"""The embedded local target: Kubernetes API emulator, reconciler, model servers, ingress gateway."""
