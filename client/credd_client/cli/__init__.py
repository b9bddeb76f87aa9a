"""Client-side commands of `credd`: standard library and `credd_client` only."""
