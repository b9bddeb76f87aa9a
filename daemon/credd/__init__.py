"""credd: a per-user credential daemon.

Importing this package stays cheap: the everyday CLI commands use only the client.
"""

__version__ = "0.1.0"
