"""Commands that need only the client: they run on a machine with credd-client alone."""
