//go:build linux

package credd

import (
	"net"
	"syscall"
)

// peerUID is the uid of the process at the other end of the socket (SO_PEERCRED); ok is
// false where the system cannot tell.
func peerUID(conn *net.UnixConn) (uid int, ok bool, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, false, err
	}
	if credErr != nil {
		return 0, false, credErr
	}
	return int(cred.Uid), true, nil
}
