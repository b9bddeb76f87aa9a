package credd_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	credd "credd.dev/go"
)

// Every failure of the other end is a clear *Error: never a panic, never a hang.

func expectCode(t *testing.T, err error, sentinel *credd.Error, fragment string) *credd.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %s, got %T %v", sentinel.Code, err, err)
	}
	var ce *credd.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a *credd.Error: %T", err)
	}
	if !strings.Contains(ce.Error(), fragment) {
		t.Fatalf("message %q lacks %q", ce.Error(), fragment)
	}
	return ce
}

func TestGarbageIsAProtocolError(t *testing.T) {
	socket := fakeDaemon(t, func(conn net.Conn, _ string) {
		conn.Write([]byte("SSH-2.0-OpenSSH_9.2 hunter2-secret\r\n\r\n"))
	})
	_, err := newClient(t, socket, 5*time.Second).Get(context.Background(), "x")
	ce := expectCode(t, err, credd.ErrProtocol, "malformed answer")
	if strings.Contains(ce.Error(), "hunter2") {
		t.Fatal("the message quotes what was received")
	}
}

func TestAnAnswerCutShortIsAProtocolError(t *testing.T) {
	socket := fakeDaemon(t, func(conn net.Conn, _ string) {
		conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"name\": \"x\""))
	})
	_, err := newClient(t, socket, 5*time.Second).Get(context.Background(), "x")
	expectCode(t, err, credd.ErrProtocol, "cut short")
}

func TestAClosedConnectionWithoutAnswerIsUnavailable(t *testing.T) {
	socket := fakeDaemon(t, func(conn net.Conn, _ string) { conn.Close() })
	_, err := newClient(t, socket, 5*time.Second).Status(context.Background())
	ce := expectCode(t, err, credd.ErrUnavailable, "closed the connection without answering")
	if ce.ExitCode() != 3 {
		t.Fatalf("exit code %d", ce.ExitCode())
	}
}

func TestNotJSONAndWrongTypesAreProtocolErrors(t *testing.T) {
	for body, fragment := range map[string]string{
		"<html>hello</html>":                       "not a JSON object",
		`["a list"]`:                               "not a JSON object",
		`{"credentials": "no"}`:                    "'credentials",
		`{"credentials": [{"name": 5}]}`:           "name' is not a string",
		`{"credentials": [{"secret": ["top-s"]}]}`: "is not a string",
	} {
		socket := fakeDaemon(t, func(conn net.Conn, _ string) { conn.Write([]byte(jsonAnswer(200, body))) })
		_, err := newClient(t, socket, 5*time.Second).List(context.Background())
		ce := expectCode(t, err, credd.ErrProtocol, fragment)
		if strings.Contains(ce.Error(), "top-s") {
			t.Fatal("the message quotes a value")
		}
	}
}

func TestAnErrorWithoutEnvelopeNamesTheStatus(t *testing.T) {
	socket := fakeDaemon(t, func(conn net.Conn, _ string) { conn.Write([]byte(jsonAnswer(502, "bad gateway"))) })
	_, err := newClient(t, socket, 5*time.Second).Get(context.Background(), "x")
	ce := expectCode(t, err, credd.ErrProtocol, "HTTP 502")
	if ce.Status != 502 {
		t.Fatalf("status %d", ce.Status)
	}
}

func TestASilentDaemonTimesOut(t *testing.T) {
	socket := fakeDaemon(t, func(net.Conn, string) { time.Sleep(3 * time.Second) })
	client := newClient(t, socket, 200*time.Millisecond)
	start := time.Now()
	_, err := client.Get(context.Background(), "x")
	expectCode(t, err, credd.ErrTimeout, "credd did not answer within 0.2 s")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, credd.ErrUnavailable) {
		t.Fatalf("a timeout is DeadlineExceeded and not unavailable: %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("the timeout was not honoured")
	}
	// The caller's own deadline is honoured too, and a canceled context is context.Canceled.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newClient(t, socket, time.Minute).Status(ctx)
	expectCode(t, err, credd.ErrTimeout, "did not answer")
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = newClient(t, socket, time.Minute).Status(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestNoDaemonIsUnavailable(t *testing.T) {
	dir := shortDir(t)
	_, err := newClient(t, filepath.Join(dir, "none.sock"), time.Second).Status(context.Background())
	expectCode(t, err, credd.ErrUnavailable, "credd serve")
	// A socket file nobody listens on any more: connection refused.
	stale := filepath.Join(dir, "stale.sock")
	listener, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	listener.(*net.UnixListener).SetUnlinkOnClose(false)
	listener.Close()
	_, err = newClient(t, stale, time.Second).Status(context.Background())
	expectCode(t, err, credd.ErrUnavailable, "no daemon answers on "+stale)
	// A missing folder too.
	_, err = newClient(t, filepath.Join(dir, "no", "s.sock"), time.Second).Status(context.Background())
	expectCode(t, err, credd.ErrUnavailable, "credd serve")
}

func TestASocketFolderOthersMayWriteIsRefused(t *testing.T) {
	dir := shortDir(t)
	for _, mode := range []os.FileMode{0o770, 0o702, 0o777, 0o777 | os.ModeSticky} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := newClient(t, filepath.Join(dir, "s.sock"), time.Second).Status(context.Background())
		expectCode(t, err, credd.ErrForbidden, "chmod 700 "+dir)
	}
	os.Chmod(dir, 0o700)
}

func TestASocketFolderOfAnotherUserIsRefused(t *testing.T) {
	needRoot(t)
	dir := shortDir(t)
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err := newClient(t, filepath.Join(dir, "s.sock"), time.Second).Get(context.Background(), "x")
	expectCode(t, err, credd.ErrForbidden, "belongs to uid 65534, not to you")
	// Not even when a daemon uid is named that is not the folder's owner.
	client, err := credd.New(credd.Options{
		Socket: filepath.Join(dir, "s.sock"),
		Getenv: func(key string) string {
			if key == "CREDD_DAEMON_UID" {
				return "12345"
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Status(context.Background())
	expectCode(t, err, credd.ErrForbidden, "belongs to uid 65534")
}

func TestABadDaemonUIDIsRefusedByNew(t *testing.T) {
	_, err := credd.New(credd.Options{Getenv: func(key string) string {
		if key == "CREDD_DAEMON_UID" {
			return "nobody"
		}
		return ""
	}})
	expectCode(t, err, credd.ErrInvalidRequest, "CREDD_DAEMON_UID")
}

func TestInvalidNamesNeverLeaveTheClient(t *testing.T) {
	client := newClient(t, "/nonexistent/s.sock", time.Second)
	_, err := client.Get(context.Background(), "")
	expectCode(t, err, credd.ErrInvalidRequest, "cannot be empty")
	err = client.Delete(context.Background(), "bad\xffutf8")
	expectCode(t, err, credd.ErrInvalidRequest, "valid Unicode")
}

func TestRequestsCarryTheNameEncoded(t *testing.T) {
	seen := make(chan string, 8)
	socket := fakeDaemon(t, func(conn net.Conn, request string) {
		seen <- strings.SplitN(request, "\r\n", 2)[0]
		conn.Write([]byte(jsonAnswer(404, `{"error": {"code": "not_found", "message": "no credential"}}`)))
	})
	client := newClient(t, socket, 5*time.Second)
	for name, line := range map[string]string{
		"a/b c%d":  "GET /v1/credentials/a%2Fb%20c%25d?include=refresh_token HTTP/1.1",
		"..":       "GET /v1/credentials/%2E%2E?include=refresh_token HTTP/1.1",
		"é~x._-":   "GET /v1/credentials/%C3%A9~x._-?include=refresh_token HTTP/1.1",
		"q?x#y&z=": "GET /v1/credentials/q%3Fx%23y%26z%3D?include=refresh_token HTTP/1.1",
	} {
		_, err := client.Get(context.Background(), name, "refresh_token")
		expectCode(t, err, credd.ErrNotFound, "no credential")
		if got := <-seen; got != line {
			t.Fatalf("request line %q, want %q", got, line)
		}
	}
}

// One connection serves many calls: the client keeps it alive between them.
func TestConnectionsAreKeptAlive(t *testing.T) {
	socket := filepath.Join(shortDir(t), "s.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	accepted := make(chan struct{}, 100)
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			go func() {
				defer conn.Close()
				for {
					if _, err := readHeadFrom(conn); err != nil {
						return
					}
					conn.Write([]byte(jsonAnswer(404, `{"error": {"code": "not_found", "message": "none"}}`)))
				}
			}()
		}
	}()
	client := newClient(t, socket, 5*time.Second)
	for i := 0; i < 20; i++ {
		_, err := client.Get(context.Background(), "x")
		expectCode(t, err, credd.ErrNotFound, "none")
	}
	if len(accepted) != 1 {
		t.Fatalf("%d connections for 20 calls", len(accepted))
	}
}

// Every request says how long the call waits (RFC 7240 Prefer: wait): whole seconds,
// floor(min(the context's deadline, the timeout) - 2), never below 0.
func TestRequestsCarryPreferWait(t *testing.T) {
	seen := make(chan string, 8)
	socket := fakeDaemon(t, func(conn net.Conn, request string) {
		seen <- request
		conn.Write([]byte(jsonAnswer(404, `{"error": {"code": "not_found", "message": "none"}}`)))
	})
	cases := []struct {
		timeout  time.Duration
		deadline time.Duration // 0: the context has none
		want     string
	}{
		{10 * time.Second, 0, "wait=8"},
		{10 * time.Second, 5 * time.Second, "wait=2"},
		{3 * time.Second, 60 * time.Second, "wait=1"},
		{10 * time.Second, 1500 * time.Millisecond, "wait=0"},
		{1 * time.Second, 0, "wait=0"},
	}
	for _, c := range cases {
		client := newClient(t, socket, c.timeout)
		ctx := context.Background()
		if c.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, c.deadline)
			defer cancel()
		}
		_, err := client.Get(ctx, "x")
		expectCode(t, err, credd.ErrNotFound, "none")
		request := <-seen
		if got := headerOf(request, "Prefer"); got != c.want {
			t.Fatalf("timeout %v, deadline %v: Prefer %q, want %q\n%s", c.timeout, c.deadline, got, c.want, request)
		}
	}
}

// headerOf is one header's value in a request's head ("" when absent).
func headerOf(request, name string) string {
	for _, line := range strings.Split(request, "\r\n") {
		if key, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(key, name) {
			return strings.TrimSpace(value)
		}
	}
	return ""
}
