package credd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func env(values map[string]string) func(string) string {
	return func(key string) string { return values[key] }
}

// The same vectors as tests/unit/test_client_paths.py: every client derives one path.
func TestSocketPath(t *testing.T) {
	tmp := fmt.Sprintf("/tmp/credd-%d", os.Getuid())
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"CREDD_SOCKET": "/x/y.sock", "XDG_RUNTIME_DIR": "/run/user/7", "CREDD_HOME": "/h"}, "/x/y.sock"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/7"}, "/run/user/7/credd/credd.sock"},
		{map[string]string{}, tmp + "/credd.sock"},
		{map[string]string{"XDG_RUNTIME_DIR": ""}, tmp + "/credd.sock"},
		{map[string]string{"CREDD_SOCKET": ""}, tmp + "/credd.sock"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/7", "CREDD_HOME": "/home/alice/.credd"}, "/run/user/7/credd/credd-820bd6ebc7a5.sock"},
		{map[string]string{"CREDD_HOME": "/home/alice/.credd"}, tmp + "/credd-820bd6ebc7a5.sock"},
		{map[string]string{"CREDD_HOME": "/home/alice/.credd/"}, tmp + "/credd-820bd6ebc7a5.sock"},
	} {
		if got := SocketPath(env(c.env)); got != c.want {
			t.Errorf("SocketPath(%v) = %s, want %s", c.env, got, c.want)
		}
	}
}

func TestCreddHomeIsHashedAsAnAbsoluteExpandedPath(t *testing.T) {
	dir := t.TempDir()
	previous, err := os.Getwd()
	if err != nil || os.Chdir(dir) != nil {
		t.Fatal("cannot change folder")
	}
	defer os.Chdir(previous)
	digest := sha256.Sum256([]byte(filepath.Join(dir, "store")))
	want := fmt.Sprintf("/tmp/credd-%d/credd-%s.sock", os.Getuid(), hex.EncodeToString(digest[:])[:12])
	for _, home := range []string{"store", "~/store", "./x/../store"} {
		if got := SocketPath(env(map[string]string{"CREDD_HOME": home, "HOME": dir})); got != want {
			t.Errorf("CREDD_HOME=%s: %s, want %s", home, got, want)
		}
	}
}
