package credd_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	credd "credd.dev/go"
)

// Tests against the real `credd serve` (real keyring, real OAuth server), started by
// tests/clients/test_go.py, which sets CREDD_SOCKET (or the variables under test) and the
// CREDD_TEST_* variables each test names.

func daemonClient(t *testing.T) *credd.Client {
	t.Helper()
	need(t, "CREDD_TEST_DAEMON")
	client, err := credd.New(credd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func TestDaemonRoundTrip(t *testing.T) {
	client := daemonClient(t)
	ctx := context.Background()
	status, err := client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if status.PID <= 0 || status.Version == "" || status.Socket != client.Socket() ||
		status.KeyBackend.Name == "" || status.Store.Path == "" || status.StartedAt.IsZero() {
		t.Fatalf("status %+v", status)
	}
	name := "go/round trip"
	meta, err := client.Set(ctx, name, credd.Input{Secret: "s1", Username: "u", Labels: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Name != name || meta.Kind != "secret" || meta.Secret != "" || meta.CreatedAt.IsZero() {
		t.Fatalf("set answered %v", meta)
	}
	got, err := client.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != "s1" || got.Username != "u" || got.Labels["a"] != "b" || got.ExpiresAt != nil {
		t.Fatalf("get answered %v", got)
	}
	if strings.Contains(got.String()+got.GoString(), "s1") {
		t.Fatal("a credential prints its secret")
	}
	listed, err := client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Name != name || listed[0].Secret != "" {
		t.Fatalf("list answered %v", listed)
	}
	if _, err := client.Set(ctx, name, credd.Input{Kind: "secret", Secret: "s2"}); err != nil {
		t.Fatal(err)
	}
	// Many calls at once on one client: the connections are kept and shared.
	var wg sync.WaitGroup
	failures := make(chan error, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				got, err := client.Get(ctx, name)
				if err == nil && got.Secret != "s2" {
					err = errors.New("a stale secret")
				}
				if err != nil {
					failures <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(failures)
	for err := range failures {
		t.Fatal(err)
	}
	if err := client.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	_, err = client.Get(ctx, name)
	expectCode(t, err, credd.ErrNotFound, "")
	var ce *credd.Error
	if errors.As(err, &ce); ce.ExitCode() != 4 || ce.Status != 404 {
		t.Fatalf("not_found: exit %d, HTTP %d", ce.ExitCode(), ce.Status)
	}
	expectCode(t, client.Delete(ctx, name), credd.ErrNotFound, "")
	_, err = client.Refresh(ctx, name)
	expectCode(t, err, credd.ErrNotFound, "")
}

func TestDaemonOddNames(t *testing.T) {
	client := daemonClient(t)
	ctx := context.Background()
	names := []string{
		"a/b/c", "/leading", "trailing/", "100%", "%2F", "%", "a%2e%2e", "ünïcødé ☃ 名前 🔑",
		strings.Repeat("n", 256), strings.Repeat("é", 256), "x y", "?#&=+;,", ".", "..",
		"a/../b", "./x", "git:https://octo cat@github.com:8443/org/repo.git", "~tilde",
	}
	for _, name := range names {
		if _, err := client.Set(ctx, name, credd.Input{Secret: "v:" + name}); err != nil {
			t.Fatalf("set %q: %v", name, err)
		}
	}
	listed, err := client.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range listed {
		seen[c.Name] = true
	}
	for _, name := range names {
		got, err := client.Get(ctx, name)
		if err != nil || got.Name != name || got.Secret != "v:"+name || !seen[name] {
			t.Fatalf("%q did not round-trip: %v %v", name, got, err)
		}
		if err := client.Delete(ctx, name); err != nil {
			t.Fatalf("delete %q: %v", name, err)
		}
	}
	_, err = client.Set(ctx, strings.Repeat("n", 257), credd.Input{Secret: "x"})
	expectCode(t, err, credd.ErrInvalidRequest, "")
}

func TestDaemonErrors(t *testing.T) {
	client := daemonClient(t)
	ctx := context.Background()
	_, err := client.Get(ctx, "absent")
	expectCode(t, err, credd.ErrNotFound, "")
	_, err = client.Set(ctx, "bad kind", credd.Input{Kind: "bogus", Secret: "x"})
	expectCode(t, err, credd.ErrInvalidRequest, "invalid request")
	_, err = client.Set(ctx, "labels", credd.Input{Secret: "x", Labels: map[string]string{"": "v"}})
	expectCode(t, err, credd.ErrInvalidRequest, "label")
	_, err = client.Get(ctx, "absent", "password")
	expectCode(t, err, credd.ErrInvalidRequest, "query")
	_, err = client.Set(ctx, "big", credd.Input{Secret: strings.Repeat("x", 2<<20)})
	ce := expectCode(t, err, credd.ErrPayloadTooLarge, "")
	if !errors.Is(err, credd.ErrInvalidRequest) || ce.Status != 413 || ce.ExitCode() != 2 {
		t.Fatalf("payload_too_large: %v, HTTP %d", err, ce.Status)
	}
	past := time.Now().Add(-time.Hour)
	_, err = client.Set(ctx, "unreachable", credd.Input{
		Kind: "oauth2", Secret: "old", TokenEndpoint: "http://127.0.0.1:9/token", ClientID: "c",
		RefreshToken: "rt", ExpiresAt: &past,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Refresh(ctx, "unreachable")
	expectCode(t, err, credd.ErrRefreshFailed, "")
}

// The daemon was locked by the driver (`credd lock`) with CREDD_TEST_LOCKED naming a credential.
func TestDaemonLocked(t *testing.T) {
	client := daemonClient(t)
	name := need(t, "CREDD_TEST_LOCKED")
	_, err := client.Get(context.Background(), name)
	ce := expectCode(t, err, credd.ErrLocked, "")
	if ce.Status != 423 {
		t.Fatalf("locked: HTTP %d", ce.Status)
	}
	status, err := client.Status(context.Background())
	if err != nil || !status.Locked {
		t.Fatalf("status while locked: %v %v", status, err)
	}
}

// The driver started the daemon without CREDD_SOCKET (or with it), and computed where the
// socket must be with the Python client; the Go client must find the same path.
func TestDaemonDiscovery(t *testing.T) {
	client := daemonClient(t)
	want := need(t, "CREDD_TEST_EXPECTED_SOCKET")
	if client.Socket() != want {
		t.Fatalf("found %s, want %s", client.Socket(), want)
	}
	status, err := client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if status.Socket != want {
		t.Fatalf("the daemon serves %s", status.Socket)
	}
}

// A listener running as another uid (setpriv), in a folder of ours: refused, unless
// CREDD_DAEMON_UID names that uid.
func TestDaemonOtherUID(t *testing.T) {
	socket := need(t, "CREDD_TEST_FOREIGN_SOCKET")
	uid := need(t, "CREDD_TEST_FOREIGN_UID")
	client := newClient(t, socket, 5*time.Second)
	_, err := client.Status(context.Background())
	expectCode(t, err, credd.ErrForbidden, "runs as uid "+uid+", not as you")
	named, err := credd.New(credd.Options{Socket: socket, Getenv: func(key string) string {
		if key == "CREDD_DAEMON_UID" {
			return uid
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	status, err := named.Status(context.Background())
	if err != nil {
		t.Fatalf("CREDD_DAEMON_UID=%s: %v", uid, err)
	}
	if strconv.Itoa(status.PID) == "" || status.Version == "" {
		t.Fatalf("status %+v", status)
	}
	other, _ := credd.New(credd.Options{Socket: socket, Getenv: func(key string) string {
		if key == "CREDD_DAEMON_UID" {
			return "4242"
		}
		return ""
	}})
	_, err = other.Status(context.Background())
	expectCode(t, err, credd.ErrForbidden, "runs as uid "+uid)
}

// An oauth2 credential from a real login against the project's OAuth server.
func TestDaemonRefresh(t *testing.T) {
	client := daemonClient(t)
	ctx := context.Background()
	name := need(t, "CREDD_TEST_OAUTH_NAME")
	before, err := client.Get(ctx, name, "refresh_token")
	if err != nil {
		t.Fatal(err)
	}
	if before.Kind != "oauth2" || before.Secret == "" || before.RefreshToken == "" ||
		before.TokenEndpoint == "" || before.ClientID == "" || before.ExpiresAt == nil {
		t.Fatalf("an oauth2 credential: %v", before)
	}
	refreshed, err := client.Refresh(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.Secret == "" || refreshed.Secret == before.Secret || !refreshed.ExpiresAt.After(time.Now()) ||
		refreshed.Status != "ok" {
		t.Fatalf("refresh answered %v (status %q)", refreshed, refreshed.Status)
	}
	after, err := client.Get(ctx, name, "refresh_token", "client_secret")
	if err != nil {
		t.Fatal(err)
	}
	if after.Secret != refreshed.Secret || after.RefreshToken == before.RefreshToken {
		t.Fatal("the refreshed token is not the one stored, or the refresh token did not rotate")
	}
	status, err := client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range status.OAuth.Credentials {
		found = found || (c.Name == name && c.Status == "ok" && c.ExpiresAt != nil)
	}
	if !found {
		t.Fatalf("status.oauth lacks %s: %+v", name, status.OAuth)
	}
}

// The driver revoked the grant at the OAuth server: the refresh needs a new login.
func TestDaemonNeedsLogin(t *testing.T) {
	client := daemonClient(t)
	name := need(t, "CREDD_TEST_REVOKED_NAME")
	_, err := client.Refresh(context.Background(), name)
	ce := expectCode(t, err, credd.ErrNeedsLogin, "credd login "+name)
	if ce.ExitCode() != 5 {
		t.Fatalf("exit %d", ce.ExitCode())
	}
	_, err = client.Get(context.Background(), name)
	expectCode(t, err, credd.ErrNeedsLogin, "")
}

// TestDaemonWatch is the client's part of tests/support/watch_scenario.py: live events, a
// daemon restart while the store changes, then the catch-up by versions.
func TestDaemonWatch(t *testing.T) {
	client := daemonClient(t)
	ready := need(t, "CREDD_TEST_WATCH_READY")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	for _, name := range []string{"w/kept", "w/moved", "w/gone"} {
		if _, err := client.Set(ctx, name, credd.Input{Secret: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	events := make(chan credd.Event, 16)
	done := make(chan error, 1)
	go func() {
		done <- client.Watch(ctx, credd.WatchOptions{
			Names: []string{"w/kept", "w/moved", "w/gone", "w/new"}, Holder: "exec",
		}, func(event credd.Event) error {
			events <- event
			return nil
		})
	}()
	next := func() credd.Event {
		select {
		case event := <-events:
			return event
		case err := <-done:
			t.Fatalf("the watch ended: %v", err)
		case <-ctx.Done():
			t.Fatal("no event in time")
		}
		return credd.Event{}
	}
	// Until the watch is connected, a change may come before it: set again until one is seen.
	for version := int64(2); ; version++ {
		if _, err := client.Set(ctx, "w/kept", credd.Input{Secret: strconv.FormatInt(version, 10)}); err != nil {
			t.Fatal(err)
		}
		select {
		case event := <-events:
			if event.Type != "changed" || event.Name != "w/kept" {
				t.Fatalf("first event %+v", event)
			}
		case <-time.After(2 * time.Second):
			continue
		}
		break
	}
	if err := os.WriteFile(ready, []byte("ready"), 0o600); err != nil {
		t.Fatal(err)
	}
	caught := map[credd.Event]bool{next(): true, next(): true, next(): true}
	for _, want := range []credd.Event{
		{Type: "changed", Name: "w/moved", Version: 2},
		{Type: "deleted", Name: "w/gone", Version: 1},
		{Type: "changed", Name: "w/new", Version: 1},
	} {
		if !caught[want] {
			t.Fatalf("after the restart: %v, not %+v", caught, want)
		}
	}
	kept, err := client.Set(ctx, "w/kept", credd.Input{Secret: "again"})
	if err != nil {
		t.Fatal(err)
	}
	if event := next(); event != (credd.Event{Type: "changed", Name: "w/kept", Version: kept.Version}) {
		t.Fatalf("live again: %+v", event)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the watch ended with %v", err)
	}
}
