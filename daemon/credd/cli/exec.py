"""`credd exec` lives in the client distribution; this registers it among the daemon's commands."""

from credd_client.cli.exec import register

__all__ = ["register"]
