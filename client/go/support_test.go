package credd_test

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	credd "credd.dev/go"
)

// need returns the environment variable the pytest driver (tests/clients/test_go.py) sets
// for a test against a real component; without it the test is skipped, or fails in CI.
func need(t *testing.T, key string) string {
	t.Helper()
	value := os.Getenv(key)
	if value == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: tests/clients/test_go.py runs this test (CI=true: fail, never skip)", key)
		}
		t.Skipf("%s is not set: tests/clients/test_go.py runs this test", key)
	}
	return value
}

// needRoot: tests that chown to another user; CI runs as root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("this test needs root (CI runs as root)")
		}
		t.Skip("this test needs root")
	}
}

// shortDir is a fresh 0700 folder under /tmp: AF_UNIX paths are capped near 104 bytes.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "cdgo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fakeDaemon listens on a socket of its own and runs answer on each connection once the
// request's head has been read. It stops with the test.
func fakeDaemon(t *testing.T, answer func(conn net.Conn, request string)) string {
	t.Helper()
	socket := filepath.Join(shortDir(t), "s.sock")
	listener, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); listener.Close() })
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				request, err := readHead(conn)
				if err != nil {
					return
				}
				answer(conn, request)
				select { // hold the connection until the test ends (a silent daemon)
				case <-done:
				case <-time.After(100 * time.Millisecond):
				}
			}()
		}
	}()
	return socket
}

func readHead(conn net.Conn) (string, error) {
	return readHeadFrom(conn)
}

// readHeadFrom reads one request's head byte by byte, so that nothing of the next request
// on a kept-alive connection is buffered away.
func readHeadFrom(conn net.Conn) (string, error) {
	reader := bufio.NewReaderSize(oneByte{conn}, 16)
	var head strings.Builder
	for {
		line, err := reader.ReadString('\n')
		if err != nil {
			return "", err
		}
		head.WriteString(line)
		if line == "\r\n" {
			return head.String(), nil
		}
	}
}

// jsonAnswer is a whole HTTP answer with a JSON body.
func jsonAnswer(status int, body string) string {
	return "HTTP/1.1 " + itoa(status) + " " + http.StatusText(status) + "\r\n" +
		"Content-Type: application/json\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body
}

func itoa(n int) string { return strconv.Itoa(n) }

func newClient(t *testing.T, socket string, timeout time.Duration) *credd.Client {
	t.Helper()
	client, err := credd.New(credd.Options{Socket: socket, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// oneByte reads one byte at a time.
type oneByte struct{ conn net.Conn }

func (o oneByte) Read(p []byte) (int, error) { return o.conn.Read(p[:1]) }
