// Package names is how the helpers name the credentials they create, as the Python client's
// credd_client.names does, so that `credd list` shows where each one belongs:
//
//	git:<protocol>://[<username>@]<host>[:<port>][/<path>]    git-credential-credd
//	docker:<server URL as docker sends it>                    docker-credential-credd
//
// A username is percent-encoded where it holds %, @, /, : or a control character, so that
// the first bare @ always ends it and every name parses back.
package names

import (
	"fmt"
	"strings"
)

// GitPrefix and DockerPrefix start the names of the helpers' credentials.
const (
	GitPrefix    = "git:"
	DockerPrefix = "docker:"
)

func unsafeInUser(r rune) bool {
	return r == '%' || r == '@' || r == '/' || r == ':' || r < 32 || r == 127
}

// QuoteUser percent-encodes the characters a username cannot hold bare in a name.
func QuoteUser(username string) string {
	var b strings.Builder
	for _, r := range username {
		if unsafeInUser(r) {
			fmt.Fprintf(&b, "%%%02X", r) // all of them are ASCII: one byte each
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// UnquoteUser is QuoteUser's inverse; malformed escapes are kept as they are.
func UnquoteUser(text string) string {
	if !strings.Contains(text, "%") {
		return text
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		if text[i] == '%' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]) {
			out = append(out, unhex(text[i+1])<<4|unhex(text[i+2]))
			i += 3
			continue
		}
		out = append(out, text[i])
		i++
	}
	return strings.ToValidUTF8(string(out), "\uFFFD")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// GitTarget is what a git credential is for: protocol, host (port included), path, username.
type GitTarget struct {
	Protocol, Host, Path, Username string
}

// NewGitTarget makes a target; the path loses its leading and trailing slashes.
func NewGitTarget(protocol, host, path, username string) GitTarget {
	return GitTarget{Protocol: protocol, Host: host, Path: strings.Trim(path, "/"), Username: username}
}

// Name is the credential name of the target.
func (t GitTarget) Name() string {
	user, path := "", ""
	if t.Username != "" {
		user = QuoteUser(t.Username) + "@"
	}
	if t.Path != "" {
		path = "/" + t.Path
	}
	return GitPrefix + t.Protocol + "://" + user + t.Host + path
}

// Labels are the labels a new git credential gets.
func (t GitTarget) Labels() map[string]string {
	labels := map[string]string{"protocol": t.Protocol, "host": t.Host}
	if t.Path != "" {
		labels["path"] = t.Path
	}
	return labels
}

// ParseGitName parses a name made by Name (or typed by hand in that form).
func ParseGitName(name string) (GitTarget, bool) {
	rest, ok := strings.CutPrefix(name, GitPrefix)
	if !ok {
		return GitTarget{}, false
	}
	protocol, rest, found := strings.Cut(rest, "://")
	if !found || protocol == "" {
		return GitTarget{}, false
	}
	authority, path, _ := strings.Cut(rest, "/")
	user, host := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		user, host = UnquoteUser(authority[:at]), authority[at+1:]
	}
	if host == "" {
		return GitTarget{}, false
	}
	return NewGitTarget(protocol, host, path, user), true
}

// DockerName is the credential name of a docker server URL.
func DockerName(server string) string { return DockerPrefix + server }

// DockerServer is the server URL of a docker credential's name.
func DockerServer(name string) (string, bool) {
	server, ok := strings.CutPrefix(name, DockerPrefix)
	return server, ok && server != ""
}
