"""`credd kube`: the client's command (credd_client.cli.kube), hooked into the daemon's CLI."""

from credd_client.cli.kube import register

__all__ = ["register"]
