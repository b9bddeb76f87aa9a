package credd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is this client's version, the same as the Python client's.
const Version = "0.1.0"

// DefaultTimeout bounds each call when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody caps an answer's body, as the Python client does.
const maxBody = 64 << 20

// Options configures New. The zero value finds the daemon as every credd client does.
type Options struct {
	// Socket is the daemon's socket; empty: SocketPath(Getenv).
	Socket string
	// Timeout bounds each call (connecting, sending, reading the whole answer), on top of
	// any deadline of the call's context; zero: DefaultTimeout.
	Timeout time.Duration
	// Getenv reads the environment (CREDD_SOCKET, CREDD_HOME, XDG_RUNTIME_DIR,
	// CREDD_DAEMON_UID); nil: os.Getenv.
	Getenv func(string) string
}

// Client talks to the credd daemon of this user. It keeps its connections alive between
// calls and is safe for concurrent use; Close releases them.
type Client struct {
	socket  string
	timeout time.Duration
	http    *http.Client
	idle    *http.Transport
}

// New makes a client; it connects on the first call. It fails only when CREDD_DAEMON_UID is
// set and not a uid.
func New(opts Options) (*Client, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	socket := opts.Socket
	if socket == "" {
		socket = SocketPath(getenv)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	daemonUID := -1
	if text := getenv("CREDD_DAEMON_UID"); text != "" {
		uid, err := strconv.Atoi(text)
		if err != nil || uid < 0 {
			return nil, newError("invalid_request",
				"CREDD_DAEMON_UID must be a uid (a number), the user the daemon of a view runs as", nil)
		}
		daemonUID = uid
	}
	d := &dialer{socket: socket, daemonUID: daemonUID}
	transport := &http.Transport{
		DialContext:         d.dial,
		MaxIdleConnsPerHost: 8,
		// Below the daemon's keep-alive (uvicorn's 5 s), so that an idle connection is
		// dropped here before the daemon closes it under a request.
		IdleConnTimeout:    4 * time.Second,
		DisableCompression: true,
		Proxy:              nil,
	}
	return &Client{
		socket:  socket,
		timeout: timeout,
		http:    &http.Client{Transport: transport},
		idle:    transport,
	}, nil
}

// Socket is the path of the socket this client talks to.
func (c *Client) Socket() string { return c.socket }

// Close closes the idle connections; a later call opens a new one.
func (c *Client) Close() error {
	c.idle.CloseIdleConnections()
	return nil
}

// Get returns the credential with its secret; for oauth2, an access token fresh enough to
// use (the daemon refreshes it first if needed). include asks for the fields returned only
// on request: "refresh_token", "client_secret".
func (c *Client) Get(ctx context.Context, name string, include ...string) (*Credential, error) {
	target, err := credentialPath(name)
	if err != nil {
		return nil, err
	}
	if len(include) > 0 {
		parts := make([]string, len(include))
		for i, field := range include {
			parts[i] = EncodePathSegment(field)
		}
		target += "?include=" + strings.Join(parts, ",")
	}
	var cred Credential
	if err := c.call(ctx, http.MethodGet, target, nil, &cred); err != nil {
		return nil, err
	}
	return &cred, nil
}

// Set creates or replaces a credential and returns its metadata (no secret).
func (c *Client) Set(ctx context.Context, name string, in Input) (*Credential, error) {
	target, err := credentialPath(name)
	if err != nil {
		return nil, err
	}
	if in.Kind == "" {
		in.Kind = "secret"
	}
	if in.ExpiresAt != nil {
		utc := in.ExpiresAt.UTC()
		in.ExpiresAt = &utc
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, newError("invalid_request", "the credential cannot be encoded as JSON", nil)
	}
	var cred Credential
	if err := c.call(ctx, http.MethodPut, target, body, &cred); err != nil {
		return nil, err
	}
	return &cred, nil
}

// Delete removes a credential; ErrNotFound if there is none by that name.
func (c *Client) Delete(ctx context.Context, name string) error {
	target, err := credentialPath(name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, target, nil, nil)
}

// List returns every credential's metadata, without secret values.
func (c *Client) List(ctx context.Context) ([]Credential, error) {
	var answer struct {
		Credentials *[]Credential `json:"credentials"`
	}
	if err := c.call(ctx, http.MethodGet, "/v1/credentials", nil, &answer); err != nil {
		return nil, err
	}
	if answer.Credentials == nil {
		return nil, unexpected("'credentials' is not a list of objects")
	}
	return *answer.Credentials, nil
}

// Status returns the daemon's health: pid, version, key backend, lock state, store, counts.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var status Status
	if err := c.call(ctx, http.MethodGet, "/v1/status", nil, &status); err != nil {
		return nil, err
	}
	if status.Version == "" || status.PID == 0 {
		return nil, unexpected("'pid' or 'version' is missing")
	}
	return &status, nil
}

// Refresh refreshes an oauth2 credential's access token now and returns it.
func (c *Client) Refresh(ctx context.Context, name string) (*Credential, error) {
	target, err := credentialPath(name)
	if err != nil {
		return nil, err
	}
	var cred Credential
	if err := c.call(ctx, http.MethodPost, target+"/refresh", nil, &cred); err != nil {
		return nil, err
	}
	return &cred, nil
}

// call sends one request and decodes a 2xx answer into out (nil: the body is ignored); any
// other answer becomes the *Error its envelope names.
func (c *Client) call(ctx context.Context, method, target string, body []byte, out any) error {
	wait := preferWait(ctx, c.timeout)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req := &http.Request{
		Method: method,
		// Opaque: the target goes on the request line exactly as encoded here.
		URL: &url.URL{Scheme: "http", Host: "localhost", Opaque: target},
		Header: http.Header{
			// A request the daemon never read (it closed an idle connection) may be sent
			// again, as the Python client does; a nil value marks it so, and is not sent.
			"Idempotency-Key": nil,
			"Prefer":          {wait},
		},
		Host: "localhost",
	}
	if body != nil || method == http.MethodPut || method == http.MethodPost {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if len(body) == 0 {
			req.Body = http.NoBody
		}
	}
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return c.exchangeError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return c.exchangeError(ctx, err)
	}
	if len(data) > maxBody {
		return malformed("a body over 64 MiB")
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorFrom(resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if !json.Valid(data) || !bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return newError("protocol_error", fmt.Sprintf(
			"unexpected answer from the daemon (HTTP %d): not a JSON object", resp.StatusCode), nil)
	}
	if err := json.Unmarshal(data, out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// Names the field and the type, never the value: the value may be a secret.
			return unexpected(fmt.Sprintf("'%s' is not a %s", typeErr.Field, typeErr.Type))
		}
		return unexpected("a field of the wrong type")
	}
	return nil
}

// errorFrom turns a non-2xx answer into the *Error of its envelope's code.
func errorFrom(status int, data []byte) error {
	var envelope struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &envelope) == nil && envelope.Error != nil &&
		envelope.Error.Code != nil && envelope.Error.Message != nil {
		return &Error{Code: *envelope.Error.Code, Status: status, Message: *envelope.Error.Message}
	}
	return &Error{Code: "protocol_error", Status: status,
		Message: fmt.Sprintf("unexpected answer from the daemon (HTTP %d)", status)}
}

func unexpected(what string) *Error {
	return newError("protocol_error", "unexpected answer from the daemon: "+what, nil)
}

// credentialPath is the API path of a credential, its name percent-encoded.
func credentialPath(name string) (string, error) {
	if name == "" {
		return "", newError("invalid_request", "a credential name cannot be empty", nil)
	}
	if !utf8.ValidString(name) {
		return "", newError("invalid_request", "a credential name must be valid Unicode text", nil)
	}
	return "/v1/credentials/" + EncodePathSegment(name), nil
}

// EncodePathSegment percent-encodes text for one path segment: its UTF-8 bytes, all but
// RFC 3986's unreserved characters. "." and ".." are encoded whole, so that no URL
// normalisation on the way can read them as this folder or the parent folder.
func EncodePathSegment(text string) string {
	if text == "." || text == ".." {
		return strings.Repeat("%2E", len(text))
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}
