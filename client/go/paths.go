package credd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// socketFile is the socket's name in its folder when CREDD_HOME is not set.
const socketFile = "credd.sock"

// SocketPath is the socket the daemon listens on, found from the environment alone, as
// every credd client finds it: CREDD_SOCKET wins; otherwise the socket lives in
// $XDG_RUNTIME_DIR/credd, else in /tmp/credd-$UID, and a daemon run with CREDD_HOME has a
// socket name of its own there (credd-<12 hex digits of the SHA-256 of its absolute path>.sock).
// Empty variables count as unset. getenv is os.Getenv when nil.
func SocketPath(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if explicit := getenv("CREDD_SOCKET"); explicit != "" {
		return explicit
	}
	folder := fmt.Sprintf("/tmp/credd-%d", os.Getuid())
	if runtime := getenv("XDG_RUNTIME_DIR"); runtime != "" {
		folder = filepath.Join(runtime, "credd")
	}
	name := socketFile
	if home := getenv("CREDD_HOME"); home != "" {
		digest := sha256.Sum256([]byte(absoluteHome(home, getenv)))
		name = "credd-" + hex.EncodeToString(digest[:])[:12] + ".sock"
	}
	return filepath.Join(folder, name)
}

// absoluteHome is CREDD_HOME as the daemon hashes it: "~" expanded, made absolute, cleaned.
func absoluteHome(home string, getenv func(string) string) string {
	if home == "~" || strings.HasPrefix(home, "~/") {
		if user := getenv("HOME"); user != "" {
			home = user + home[1:]
		} else if user, err := os.UserHomeDir(); err == nil {
			home = user + home[1:]
		}
	}
	if absolute, err := filepath.Abs(home); err == nil {
		return absolute
	}
	return filepath.Clean(home)
}

// checkSocketFolder refuses a socket folder that another user owns or may write to: whoever
// can write there can replace the socket with their own. A missing folder is ErrUnavailable.
// trusted says which owners are acceptable: the user, or the daemon uid the user named.
func checkSocketFolder(folder, socket string, trusted func(uid int) bool) error {
	info, err := os.Stat(folder)
	if err != nil {
		if os.IsNotExist(err) {
			return noDaemon(socket, err)
		}
		return newError("daemon_unavailable", fmt.Sprintf("cannot look at the socket folder %s (%v)", folder, err), err)
	}
	uid := os.Getuid()
	owner, ok := fileOwner(info)
	if ok && !trusted(owner) {
		return newError("forbidden", fmt.Sprintf(
			"the socket folder %s belongs to uid %d, not to you (uid %d); remove it, or set "+
				"CREDD_SOCKET to a socket in a folder of your own", folder, owner, uid), nil)
	}
	if mode := info.Mode(); mode.Perm()&0o022 != 0 {
		return newError("forbidden", fmt.Sprintf(
			"the socket folder %s may be written by other users (mode %04o); run `chmod 700 %s`",
			folder, modeBits(mode), folder), nil)
	}
	return nil
}

// modeBits is the mode as chmod takes it, sticky bit included (os.FileMode keeps it apart).
func modeBits(mode os.FileMode) uint32 {
	bits := uint32(mode.Perm())
	if mode&os.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}
