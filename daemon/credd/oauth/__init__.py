"""OAuth 2.0: the token endpoint, the refresh schedule, and the background refresher."""
