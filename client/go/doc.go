// Package credd is the Go client of credd, the per-user credential daemon: it speaks the
// daemon's HTTP API over its Unix socket, with the standard library only.
//
//	c, _ := credd.New(credd.Options{})
//	cred, err := c.Get(ctx, "git:https://github.com")
//	token := cred.Secret
//
// New finds the socket as every credd client does (CREDD_SOCKET; else the folder
// $XDG_RUNTIME_DIR/credd or /tmp/credd-$UID, with a socket name of its own under
// CREDD_HOME). Before a byte is sent, the socket's folder must be the user's own and the
// process answering on it must run as the user (SO_PEERCRED), or as the uid CREDD_DAEMON_UID
// names: whoever answers on the socket receives every secret asked for.
//
// Every error is an *Error carrying the wire code, compared with the sentinel values:
//
//	if errors.Is(err, credd.ErrNotFound) { ... }
//
// A Client keeps its connections alive between calls and is safe for concurrent use.
package credd
