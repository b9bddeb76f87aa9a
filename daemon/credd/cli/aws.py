"""`credd aws`: lives in the client distribution (credd_client.cli.aws); hooked in here."""

from credd_client.cli.aws import register

__all__ = ["register"]
