// Package dockerhelper is docker-credential-credd: docker's credential helper protocol
// answered from credd, exactly as the Python helper (credd_client.docker_helper) answers it.
//
//	docker-credential-credd store   reads {"ServerURL", "Username", "Secret"}; prints nothing
//	docker-credential-credd get     reads a server URL; prints {"ServerURL", "Username", "Secret"}
//	docker-credential-credd erase   reads a server URL; prints nothing
//	docker-credential-credd list    prints {"<server URL>": "<username>", ...}
//
// Errors go to standard output with exit 1, as docker reads them there. A missing credential
// is exactly NotFound, the text docker recognises, and so is the answer to get with no
// daemon, with a hint on standard error. A read-only view's refusal of store or erase is
// nothing to do: exit 0 and one line on standard error. Credentials are named
// docker:<server URL>.
package dockerhelper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	credd "credd.dev/go"
	"credd.dev/go/internal/names"
)

// Prog is the helper's name in its messages.
const Prog = "docker-credential-credd"

// The texts docker reads on standard output.
const (
	NotFound        = "credentials not found in native keychain"
	MissingURL      = "no credentials server URL"
	MissingUsername = "no credentials username"
)

// Store is what the helper needs of credd; *credd.Client is one.
type Store interface {
	List(ctx context.Context) ([]credd.Credential, error)
	Get(ctx context.Context, name string, include ...string) (*credd.Credential, error)
	Set(ctx context.Context, name string, in credd.Input) (*credd.Credential, error)
	Delete(ctx context.Context, name string) error
}

// helperError is a message for docker, printed on standard output.
type helperError string

func (e helperError) Error() string { return string(e) }

// credentials is what docker sends to store and reads back from get.
type credentials struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

func store(ctx context.Context, s Store, text string) error {
	var data map[string]any
	// Not the parser's message: it would quote the input, which holds the secret.
	if err := json.Unmarshal([]byte(text), &data); err != nil || data == nil {
		return helperError("the input is not a JSON object")
	}
	server, _ := data["ServerURL"].(string)
	username, _ := data["Username"].(string)
	secret, hasSecret := data["Secret"].(string)
	server = strings.TrimSpace(server)
	if server == "" {
		return helperError(MissingURL)
	}
	if username == "" {
		return helperError(MissingUsername)
	}
	if !hasSecret {
		return helperError("the input has no Secret")
	}
	_, err := s.Set(ctx, names.DockerName(server), credd.Input{
		Kind: "secret", Secret: secret, Username: username,
		Labels: map[string]string{"registry": server},
	})
	return err
}

func get(ctx context.Context, s Store, server string) (string, error) {
	cred, err := s.Get(ctx, names.DockerName(server))
	if err != nil {
		return "", err
	}
	return encode(credentials{ServerURL: server, Username: cred.Username, Secret: cred.Secret})
}

func list(ctx context.Context, s Store) (string, error) {
	all, err := s.List(ctx)
	if err != nil {
		return "", err
	}
	listing := map[string]string{}
	for _, c := range all {
		if server, ok := names.DockerServer(c.Name); ok {
			listing[server] = c.Username
		}
	}
	return encode(listing)
}

// encode is JSON without Go's HTML escapes (docker's own helpers print "<token>" as is).
func encode(value any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(value); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Run answers one request and returns the exit status.
func Run(action string, stdin io.Reader, stdout, stderr io.Writer, open func() (Store, error)) int {
	text := ""
	if action != "list" {
		data, _ := io.ReadAll(stdin)
		text = string(data)
	}
	server := strings.TrimSpace(text)
	out, err := dispatch(action, text, server, open)
	if err == nil {
		if out != "" {
			fmt.Fprintln(stdout, out)
		}
		return 0
	}
	var message helperError
	var creddErr *credd.Error
	switch {
	case errors.As(err, &message):
		fmt.Fprintln(stdout, message)
	case errors.Is(err, credd.ErrNotFound):
		fmt.Fprintln(stdout, NotFound)
	case errors.Is(err, credd.ErrUnavailable):
		fmt.Fprintf(stderr, "%s: %s\n", Prog, err)
		switch action {
		case "list": // nothing to list: docker goes on without credentials
			fmt.Fprintln(stdout, "{}")
			return 0
		case "get": // docker's not-found text, so a pull goes on anonymously
			fmt.Fprintln(stdout, NotFound)
		default: // store and erase cannot be done, and docker shows why
			fmt.Fprintln(stdout, err)
		}
	case (action == "store" || action == "erase") && errors.Is(err, credd.ErrForbidden):
		fmt.Fprintf(stderr, "%s: %s\n", Prog, oneLine(err))
		return 0 // a read-only view: nothing to keep or remove here
	case errors.As(err, &creddErr):
		fmt.Fprintln(stdout, creddErr.Message)
	default:
		fmt.Fprintln(stdout, err)
	}
	return 1
}

func dispatch(action, text, server string, open func() (Store, error)) (string, error) {
	if (action == "get" || action == "erase") && server == "" {
		return "", helperError(MissingURL)
	}
	s, err := open()
	if err != nil {
		return "", err
	}
	ctx := context.Background()
	switch action {
	case "store":
		return "", store(ctx, s, text)
	case "get":
		return get(ctx, s, server)
	case "erase":
		return "", s.Delete(ctx, names.DockerName(server))
	}
	return list(ctx, s)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// Main is the command: its arguments (without the program's name) and its exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, open func() (Store, error)) int {
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintf(stdout, "%s %s\n", Prog, credd.Version)
		return 0
	}
	if len(args) == 1 {
		switch args[0] {
		case "store", "get", "erase", "list":
			return Run(args[0], stdin, stdout, stderr, open)
		}
	}
	fmt.Fprintf(stdout, "usage: %s store|get|erase|list|version\n", Prog)
	return 1
}
