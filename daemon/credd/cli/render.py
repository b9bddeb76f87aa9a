"""`credd render` lives in the client distribution; this registers it among the daemon's."""

from credd_client.cli.render import register

__all__ = ["register"]
