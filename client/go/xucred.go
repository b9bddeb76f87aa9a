package credd

import (
	"encoding/binary"
	"fmt"
)

// macOS <sys/ucred.h> struct xucred, what getsockopt(SOL_LOCAL, LOCAL_PEERCRED) fills:
// cr_version, cr_uid, cr_ngroups (a short, then 2 bytes of padding), cr_groups[16]. Only
// version 0 is known: another layout is refused, not guessed (as the Python client does).
// Outside peer_darwin.go so that its parsing is tested on every system.
const (
	solLocal       = 0 // SOL_LOCAL
	localPeercred  = 1 // LOCAL_PEERCRED
	xucredSize     = 76
	xucredVersion  = 0
	xucredMaxGroup = 16
)

// xucredUID is the uid in a struct xucred; macOS runs little-endian only.
func xucredUID(raw []byte) (int, error) {
	if len(raw) < xucredSize {
		return 0, fmt.Errorf("a struct xucred of %d bytes, not %d", len(raw), xucredSize)
	}
	if version := binary.LittleEndian.Uint32(raw[0:4]); version != xucredVersion {
		return 0, fmt.Errorf("struct xucred version %d, not %d", version, xucredVersion)
	}
	if groups := int16(binary.LittleEndian.Uint16(raw[8:10])); groups < 0 || groups > xucredMaxGroup {
		return 0, fmt.Errorf("struct xucred with %d groups", groups)
	}
	return int(binary.LittleEndian.Uint32(raw[4:8])), nil
}
