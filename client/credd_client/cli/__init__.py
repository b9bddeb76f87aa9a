"""The client-side commands of `credd`, with only the standard library and `credd_client`."""
