//go:build darwin

package credd

import (
	"net"
	"syscall"
	"unsafe"
)

// peerUID is the uid of the process at the other end of the socket (LOCAL_PEERCRED). The
// syscall package wraps no getsockopt that fills a struct xucred, so it is called directly.
func peerUID(conn *net.UnixConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred [xucredSize]byte
	size := uint32(len(cred))
	var errno syscall.Errno
	if err := raw.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, solLocal, localPeercred,
			uintptr(unsafe.Pointer(&cred[0])), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return xucredUID(cred[:size])
}
