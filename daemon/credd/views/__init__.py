"""Views: second sockets of the daemon, each exposing only the credentials a user chose."""
