//go:build !linux

package credd

import "net"

// peerUID cannot tell the peer's uid here: the standard library's syscall package has no
// LOCAL_PEERCRED (macOS) or getpeereid. The folder check still applies.
func peerUID(*net.UnixConn) (uid int, ok bool, err error) { return 0, false, nil }
