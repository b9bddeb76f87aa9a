"""The HTTP API over the socket: FastAPI routes, models and the error envelope."""
