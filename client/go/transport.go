package credd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
)

// startHint ends every "no daemon" message, as in the Python client.
const startHint = "start one with `credd serve`, or install the login service with `credd service install`"

// dialer opens a connection to the daemon's socket once the folder and the peer are trusted.
type dialer struct {
	socket    string
	daemonUID int // another uid the user named (CREDD_DAEMON_UID); -1 if none
}

func (d *dialer) trusted(uid int) bool {
	return uid == os.Getuid() || (d.daemonUID >= 0 && uid == d.daemonUID)
}

// trustedFolderOwner: with CREDD_DAEMON_UID the socket folder may also be root's (a
// container's /run/credd, made by docker), as the Python client accepts.
func (d *dialer) trustedFolderOwner(uid int) bool {
	return d.trusted(uid) || (d.daemonUID >= 0 && uid == 0)
}

// dial ignores the address net/http asks for: every request goes to the one socket.
func (d *dialer) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	folder := filepath.Dir(d.socket)
	if err := checkSocketFolder(folder, d.socket, d.trustedFolderOwner); err != nil {
		return nil, err
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "unix", d.socket)
	if err != nil {
		return nil, d.dialError(err)
	}
	unix, ok := conn.(*net.UnixConn)
	if !ok {
		conn.Close()
		return nil, newError("daemon_unavailable", "not a Unix socket: "+d.socket, nil)
	}
	uid, err := peerUID(unix)
	if refusal := d.checkPeer(uid, err); refusal != nil {
		conn.Close()
		return nil, refusal
	}
	return conn, nil
}

// checkPeer refuses a daemon of another uid, and one whose uid cannot be read (err): a
// client that cannot tell who answers does not talk to it, as the Python client.
func (d *dialer) checkPeer(uid int, err error) *Error {
	if err != nil {
		return newError("forbidden", fmt.Sprintf(
			"cannot tell which user runs the process answering on %s (%v); refusing to talk to it",
			d.socket, err), err)
	}
	if !d.trusted(uid) {
		return newError("forbidden", fmt.Sprintf(
			"the process answering on %s runs as uid %d, not as you (uid %d); refusing to talk "+
				"to it. Remove that socket and start your own daemon with `credd serve`, or set "+
				"CREDD_DAEMON_UID=%d if that daemon is yours (a view bound into a container)",
			d.socket, uid, os.Getuid(), uid), nil)
	}
	return nil
}

func (d *dialer) dialError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return noDaemon(d.socket, err)
	case errors.Is(err, syscall.EAGAIN):
		return newError("daemon_unavailable", fmt.Sprintf(
			"the daemon on %s takes no new connection now (too many waiting); try again",
			d.socket), err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return noDaemon(d.socket, err)
	}
	return newError("daemon_unavailable", fmt.Sprintf(
		"cannot connect to the daemon on %s (%v)", d.socket, errnoText(err)), err)
}

func noDaemon(socket string, cause error) *Error {
	return newError("daemon_unavailable", fmt.Sprintf("no daemon answers on %s; %s", socket, startHint), cause)
}

// errnoText names a system error without net's "dial unix PATH:" prefix.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// exchangeError turns a failed round trip (no answer, or none that parses) into an *Error.
// Messages never quote what was received: it may hold a secret.
func (c *Client) exchangeError(ctx context.Context, err error) error {
	var known *Error
	if errors.As(err, &known) {
		return known // from dial: the folder, the peer, nobody listening
	}
	if ctxErr := ctx.Err(); ctxErr != nil || isTimeout(err) {
		return c.timeoutError(ctx, err)
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, io.EOF):
		return newError("daemon_unavailable", fmt.Sprintf(
			"the daemon on %s closed the connection without answering", c.socket), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("an answer cut short")
	case errors.As(err, &errno):
		return newError("daemon_unavailable", fmt.Sprintf(
			"the connection to the daemon on %s broke (%v)", c.socket, errno), err)
	}
	return malformed("not an HTTP answer")
}

// timeoutError is ErrTimeout, except for a context the caller canceled, which is returned as
// it is (context.Canceled), as callers of context-aware Go APIs expect.
func (c *Client) timeoutError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	cause := ctx.Err()
	if cause == nil {
		cause = err
	}
	return newError("daemon_timeout", fmt.Sprintf(
		"credd did not answer within %g s (socket %s)", c.timeout.Seconds(), c.socket), cause)
}

func isTimeout(err error) bool {
	var timeout interface{ Timeout() bool }
	return errors.As(err, &timeout) && timeout.Timeout()
}

func malformed(what string) *Error {
	return newError("protocol_error", "malformed answer from the daemon: "+what, nil)
}
