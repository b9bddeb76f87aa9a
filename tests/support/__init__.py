"""Fixtures that start real components: a private Secret Service, the credd daemon."""
