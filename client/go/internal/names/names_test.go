package names

import (
	"strings"
	"testing"
	"testing/quick"
)

// The vectors of tests/unit/test_names.py: both implementations name and parse alike.

func TestUsernamesRoundTrip(t *testing.T) {
	roundTrips := func(username string) bool {
		username = strings.ToValidUTF8(username, "?")
		quoted := QuoteUser(username)
		return !strings.ContainsAny(quoted, "@/") && UnquoteUser(quoted) == username
	}
	if err := quick.Check(roundTrips, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
	for _, username := range []string{"a@b", "%41", "x/y:z", "tab\there", "\x7f", "ünï@"} {
		if !roundTrips(username) {
			t.Errorf("%q does not round-trip", username)
		}
	}
	if QuoteUser("a@b/c:d%\n") != "a%40b%2Fc%3Ad%25%0A" {
		t.Error(QuoteUser("a@b/c:d%\n"))
	}
	if UnquoteUser("%zz%4") != "%zz%4" {
		t.Error("a malformed escape is not kept")
	}
}

func TestGitNamesLookLikeURLsAndParseBack(t *testing.T) {
	if got := NewGitTarget("https", "github.com", "", "octocat").Name(); got != "git:https://octocat@github.com" {
		t.Error(got)
	}
	if got := NewGitTarget("https", "h:8443", "/a/b.git", "").Name(); got != "git:https://h:8443/a/b.git" {
		t.Error(got)
	}
	for _, name := range []string{"github.com", "git:https://", "git:://h", "git:https://u@/p", "docker:x"} {
		if _, ok := ParseGitName(name); ok {
			t.Errorf("%q parsed", name)
		}
	}
	want := NewGitTarget("ssh", "h.example:22", "org/repo.git", "o@c t")
	got, ok := ParseGitName(want.Name())
	if !ok || got != want {
		t.Errorf("%+v parsed back as %+v", want, got)
	}
	if server, ok := DockerServer("docker:ghcr.io"); !ok || server != "ghcr.io" {
		t.Error(server)
	}
	if _, ok := DockerServer("docker:"); ok {
		t.Error("an empty server")
	}
}
