"""credd as an SSH agent (draft-miller-ssh-agent, what OpenSSH's `ssh-agent` speaks).

wire.py      sans-I/O: message numbers, framing, reading and writing the encodings
keys.py      private keys in and out (OpenSSH, PEM, the agent's wire form), signing
changes.py   the store changes the agent and the commands make to `ssh-key` credentials
agent.py     one dispatch table from message type to handler, over the daemon's service
listener.py  the socket: bound beside credd.sock, the same peer check, on the event loop
"""
