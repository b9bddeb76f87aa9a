// Package githelper is git-credential-credd: git's credential helper protocol answered from
// credd, exactly as the Python helper (credd_client.git_helper) answers it.
//
// git runs `git-credential-credd get|store|erase` and writes key=value lines on its standard
// input, ended by a blank line (or end of file). Attributes it does not know are ignored.
//
// A credential matches a request when protocol, host (port included) and path are equal (a
// request without path matches only a credential stored without one) and the request's
// username, if any, is the credential's. `store` keeps a password's password_expiry_utc (and
// an oauth_refresh_token) with it and `get` answers them back; a password past its expiry is
// never answered. An oauth2 credential answers a fresh access token with its expiry, and is
// never replaced by `store` nor removed by `erase`.
//
// With no daemon answering, every action does nothing, with a hint on standard error and
// exit 0; so does `store` or `erase` refused by a read-only view (forbidden).
package githelper

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	credd "credd.dev/go"
	"credd.dev/go/internal/names"
)

// Prog is the helper's name in its messages.
const Prog = "git-credential-credd"

const (
	expiryKey       = "password_expiry_utc"
	refreshTokenKey = "oauth_refresh_token"
	oauthUsername   = "oauth2"
)

// Store is what the helper needs of credd; *credd.Client is one.
type Store interface {
	List(ctx context.Context) ([]credd.Credential, error)
	Get(ctx context.Context, name string, include ...string) (*credd.Credential, error)
	Set(ctx context.Context, name string, in credd.Input) (*credd.Credential, error)
	Delete(ctx context.Context, name string) error
}

// Helper answers one request; Now is the clock expiries are compared with.
type Helper struct {
	Creds  Store
	Stderr io.Writer
	Now    func() time.Time
}

// ReadRequest reads the attributes of one request; a blank line ends it. Multi-valued x[]
// attributes keep the last value.
func ReadRequest(r io.Reader) map[string]string {
	attributes := map[string]string{}
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for scanner.Scan() {
		line := strings.TrimSuffix(scanner.Text(), "\r")
		if line == "" {
			break
		}
		if key, value, ok := strings.Cut(line, "="); ok {
			attributes[key] = value
		}
	}
	return attributes
}

// TargetOf is the request's target; false when git gave no protocol or host.
func TargetOf(attributes map[string]string) (names.GitTarget, bool) {
	protocol, host := attributes["protocol"], attributes["host"]
	if protocol == "" || host == "" {
		return names.GitTarget{}, false
	}
	return names.NewGitTarget(protocol, host, attributes["path"], attributes["username"]), true
}

// Matches says whether the credential called name (with username) answers request.
func Matches(request names.GitTarget, name, username string) bool {
	stored, ok := names.ParseGitName(name)
	if !ok {
		return false
	}
	owner := username
	if owner == "" {
		owner = stored.Username
	}
	return stored.Protocol == request.Protocol && stored.Host == request.Host &&
		stored.Path == request.Path && (request.Username == "" || request.Username == owner)
}

// find returns the matching credentials' metadata, the most recently updated first.
func (h *Helper) find(ctx context.Context, request names.GitTarget) ([]credd.Credential, error) {
	all, err := h.Creds.List(ctx)
	if err != nil {
		return nil, err
	}
	var found []credd.Credential
	for _, c := range all {
		if Matches(request, c.Name, c.Username) {
			found = append(found, c)
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].UpdatedAt.After(found[j].UpdatedAt) })
	return found, nil
}

// expired says whether a credential's expiry is not in the future.
func (h *Helper) expired(c *credd.Credential) bool {
	return c.ExpiresAt != nil && !c.ExpiresAt.After(h.Now())
}

// Get returns the lines git reads back: the first matching credential that can be answered.
func (h *Helper) Get(ctx context.Context, request names.GitTarget) ([]string, error) {
	found, err := h.find(ctx, request)
	if err != nil {
		return nil, err
	}
	for i := range found {
		meta := &found[i]
		if h.expired(meta) {
			continue
		}
		cred, err := h.read(ctx, meta)
		if errors.Is(err, credd.ErrNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, err
		}
		if cred.Secret != "" && !h.expired(cred) && !h.breaksProtocol(cred) {
			return answer(cred, request), nil
		}
	}
	return nil, nil
}

// read fetches the credential with its secret, and the refresh token git gave with an
// expiring password: only such a password carries one (an oauth2 credential's stays in credd).
// A view answers no refresh token (forbidden): the password is then read without it.
func (h *Helper) read(ctx context.Context, meta *credd.Credential) (*credd.Credential, error) {
	if meta.Kind != "secret" || meta.ExpiresAt == nil {
		return h.Creds.Get(ctx, meta.Name)
	}
	cred, err := h.Creds.Get(ctx, meta.Name, "refresh_token")
	if errors.Is(err, credd.ErrForbidden) {
		return h.Creds.Get(ctx, meta.Name)
	}
	return cred, err
}

func answer(cred *credd.Credential, request names.GitTarget) []string {
	username := cred.Username
	if username == "" {
		if stored, ok := names.ParseGitName(cred.Name); ok {
			username = stored.Username
		}
	}
	if username == "" {
		username = request.Username
	}
	if username == "" && cred.Kind == "oauth2" {
		username = oauthUsername
	}
	lines := []string{"protocol=" + request.Protocol, "host=" + request.Host}
	if request.Path != "" {
		lines = append(lines, "path="+request.Path)
	}
	if username != "" {
		lines = append(lines, "username="+username)
	}
	lines = append(lines, "password="+cred.Secret)
	if cred.ExpiresAt != nil {
		lines = append(lines, fmt.Sprintf("%s=%d", expiryKey, cred.ExpiresAt.Unix()))
	}
	if cred.Kind == "secret" && cred.RefreshToken != "" {
		lines = append(lines, refreshTokenKey+"="+cred.RefreshToken)
	}
	return lines
}

// breaksProtocol: a value with a newline or NUL cannot be said in git's protocol.
func (h *Helper) breaksProtocol(cred *credd.Credential) bool {
	for _, value := range []string{cred.Secret, cred.Username, cred.RefreshToken} {
		if strings.ContainsAny(value, "\n\x00") {
			fmt.Fprintf(h.Stderr, "%s: %s holds a newline or NUL, which git's protocol cannot carry; skipped\n",
				Prog, cred.Name)
			return true
		}
	}
	return false
}

// lastRFC3339Second is 9999-12-31T23:59:59Z: an expiry past it cannot be written in RFC 3339.
const lastRFC3339Second = 253402300799

// expiry is the request's password_expiry_utc; ok is false when git sent one that cannot be
// read (not a plain number of seconds, or past year 9999), which would otherwise make the
// password a permanent one, or one already past: such a password is never kept.
func (h *Helper) expiry(attributes map[string]string) (at *time.Time, ok bool) {
	text, given := attributes[expiryKey]
	if !given {
		return nil, true
	}
	if text == "" || strings.TrimLeft(text, "0123456789") != "" {
		return nil, false
	}
	seconds, err := strconv.ParseInt(text, 10, 64)
	if err != nil || seconds > lastRFC3339Second {
		return nil, false
	}
	when := time.Unix(seconds, 0).UTC()
	if !when.After(h.Now()) {
		return nil, false
	}
	return &when, true
}

// Store keeps the password git says worked, in the most recent matching credential (keeping
// its name and labels) or a new one; nothing is written when it already holds all of it.
func (h *Helper) Store(ctx context.Context, request names.GitTarget, attributes map[string]string) error {
	password := attributes["password"]
	if password == "" || request.Username == "" {
		return nil
	}
	expiresAt, worth := h.expiry(attributes)
	if !worth {
		return nil
	}
	refreshToken := ""
	if expiresAt != nil { // a refresh token is kept only with the expiry it came with
		refreshToken = attributes[refreshTokenKey]
	}
	found, err := h.find(ctx, request)
	if err != nil {
		return err
	}
	for _, meta := range found {
		if meta.Kind == "oauth2" {
			return nil // credd keeps this one fresh itself: never replace it
		}
	}
	name, labels := request.Name(), request.Labels()
	if len(found) > 0 {
		current, err := h.read(ctx, &found[0])
		if err != nil {
			return err
		}
		if current.Secret == password && current.Username == request.Username &&
			sameTime(current.ExpiresAt, expiresAt) && current.RefreshToken == refreshToken {
			return nil
		}
		merged := map[string]string{}
		for k, v := range current.Labels {
			merged[k] = v
		}
		for k, v := range labels {
			merged[k] = v
		}
		name, labels = current.Name, merged
	}
	_, err = h.Creds.Set(ctx, name, credd.Input{
		Kind: "secret", Secret: password, Username: request.Username, Labels: labels,
		ExpiresAt: expiresAt, RefreshToken: refreshToken,
	})
	return err
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Unix() == b.Unix()
}

// Erase removes every matching credential; with password given, only one holding it. An
// oauth2 credential is never erased: its grant is credd's to renew or to drop.
func (h *Helper) Erase(ctx context.Context, request names.GitTarget, attributes map[string]string) error {
	password, withPassword := attributes["password"]
	found, err := h.find(ctx, request)
	if err != nil {
		return err
	}
	for _, meta := range found {
		if meta.Kind == "oauth2" {
			continue
		}
		if withPassword {
			current, err := h.Creds.Get(ctx, meta.Name)
			if err != nil {
				return err
			}
			if current.Secret != password {
				continue
			}
		}
		if err := h.Creds.Delete(ctx, meta.Name); err != nil && !errors.Is(err, credd.ErrNotFound) {
			return err
		}
	}
	return nil
}

// clock is the time expiries are compared with (a variable for the tests).
var clock = time.Now

// Run answers one request read from stdin and returns the exit status.
func Run(action string, stdin io.Reader, stdout, stderr io.Writer, open func() (Store, error)) int {
	attributes := ReadRequest(stdin)
	request, ok := TargetOf(attributes)
	if !ok {
		return 0
	}
	store, err := open()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %s\n", Prog, oneLine(err))
		return 1
	}
	h := &Helper{Creds: store, Stderr: stderr, Now: clock}
	ctx := context.Background()
	switch action {
	case "get":
		var lines []string
		lines, err = h.Get(ctx, request)
		if err == nil && len(lines) > 0 {
			fmt.Fprint(stdout, strings.Join(lines, "\n")+"\n")
		}
	case "store":
		err = h.Store(ctx, request, attributes)
	default:
		err = h.Erase(ctx, request, attributes)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %s\n", Prog, oneLine(err))
	if errors.Is(err, credd.ErrUnavailable) {
		return 0 // git goes on to its other helpers or a prompt
	}
	if action != "get" && errors.Is(err, credd.ErrForbidden) {
		return 0 // a read-only view: nothing to keep or remove here
	}
	return 1
}

// oneLine is an error's message on one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
}

// Main is the command: its arguments (without the program's name) and its exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, open func() (Store, error)) int {
	if len(args) == 1 && args[0] == "--version" {
		fmt.Fprintf(stdout, "%s %s\n", Prog, credd.Version)
		return 0
	}
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: %s get|store|erase (git runs it; see gitcredentials(7))\n", Prog)
		return 2
	}
	switch args[0] {
	case "get", "store", "erase":
		return Run(args[0], stdin, stdout, stderr, open)
	}
	return 0 // git's protocol: ignore actions a helper does not know
}
