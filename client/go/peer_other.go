//go:build !linux && !darwin

package credd

import (
	"errors"
	"net"
	"runtime"
)

// peerUID cannot tell the peer's uid here (no SO_PEERCRED or LOCAL_PEERCRED): the error
// makes the client refuse the daemon, never trust it unchecked.
func peerUID(*net.UnixConn) (int, error) {
	return 0, errors.New("no peer credentials on " + runtime.GOOS)
}
