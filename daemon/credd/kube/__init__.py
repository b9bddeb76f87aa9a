"""Kubernetes: `kube` credentials, what `GET /v1/kube/{name}` answers, the kubeconfig import."""
