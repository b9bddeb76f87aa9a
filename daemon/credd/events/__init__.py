"""Change events: what changed in the store (names and versions, never values), fanned out to
the watchers of `GET /v1/events`."""
