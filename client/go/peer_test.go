package credd

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// The peer check's rules, and the parsing of macOS's struct xucred, on every system.

func TestAPeerWhoseUIDCannotBeReadIsRefused(t *testing.T) {
	d := &dialer{socket: "/s/credd.sock", daemonUID: -1}
	refusal := d.checkPeer(0, errors.New("no peer credentials on plan9"))
	if refusal == nil || !errors.Is(refusal, ErrForbidden) ||
		!strings.Contains(refusal.Message, "cannot tell which user") ||
		!strings.Contains(refusal.Message, "plan9") {
		t.Fatalf("an unreadable peer answered %v", refusal)
	}
	if refusal := d.checkPeer(os.Getuid(), nil); refusal != nil {
		t.Fatalf("the user's own daemon was refused: %v", refusal)
	}
	if refusal := d.checkPeer(os.Getuid()+1, nil); refusal == nil || !errors.Is(refusal, ErrForbidden) {
		t.Fatalf("another uid answered %v", refusal)
	}
	named := &dialer{socket: "/s/credd.sock", daemonUID: os.Getuid() + 1}
	if refusal := named.checkPeer(os.Getuid()+1, nil); refusal != nil {
		t.Fatalf("the uid CREDD_DAEMON_UID names was refused: %v", refusal)
	}
}

func xucred(version uint32, uid uint32, groups int16, size int) []byte {
	raw := make([]byte, size)
	if size >= 10 {
		binary.LittleEndian.PutUint32(raw[0:], version)
		binary.LittleEndian.PutUint32(raw[4:], uid)
		binary.LittleEndian.PutUint16(raw[8:], uint16(groups))
	}
	return raw
}

func TestXucredGivesItsUIDOrAnError(t *testing.T) {
	if uid, err := xucredUID(xucred(0, 501, 3, xucredSize)); err != nil || uid != 501 {
		t.Fatalf("a good struct xucred gave %d, %v", uid, err)
	}
	for what, raw := range map[string][]byte{
		"short":         xucred(0, 501, 3, xucredSize-1),
		"empty":         nil,
		"version 1":     xucred(1, 501, 3, xucredSize),
		"17 groups":     xucred(0, 501, 17, xucredSize),
		"negative size": xucred(0, 501, -1, xucredSize),
	} {
		if uid, err := xucredUID(raw); err == nil {
			t.Errorf("%s: read uid %d, not refused", what, uid)
		}
	}
}
