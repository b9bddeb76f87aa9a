package githelper

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	credd "credd.dev/go"
)

// fakeStore keeps credentials in memory; refuse makes every write fail with that error.
type fakeStore struct {
	creds  map[string]credd.Credential
	refuse error
	writes int
}

func (f *fakeStore) List(context.Context) ([]credd.Credential, error) {
	var all []credd.Credential
	for _, c := range f.creds {
		c.Secret, c.RefreshToken = "", ""
		all = append(all, c)
	}
	return all, nil
}

func (f *fakeStore) Get(_ context.Context, name string, include ...string) (*credd.Credential, error) {
	c, ok := f.creds[name]
	if !ok {
		return nil, &credd.Error{Code: "not_found", Message: "no credential " + name}
	}
	if len(include) == 0 {
		c.RefreshToken = ""
	}
	return &c, nil
}

func (f *fakeStore) Set(_ context.Context, name string, in credd.Input) (*credd.Credential, error) {
	if f.refuse != nil {
		return nil, f.refuse
	}
	f.writes++
	f.creds[name] = credd.Credential{
		Name: name, Kind: in.Kind, Username: in.Username, Secret: in.Secret, Labels: in.Labels,
		ExpiresAt: in.ExpiresAt, RefreshToken: in.RefreshToken, UpdatedAt: time.Now(),
	}
	return nil, nil
}

func (f *fakeStore) Delete(_ context.Context, name string) error {
	if f.refuse != nil {
		return f.refuse
	}
	delete(f.creds, name)
	return nil
}

var now = time.Unix(2_000_000_000, 0)

func run(t *testing.T, store *fakeStore, action, request string) (code int, stdout, stderr string) {
	t.Helper()
	clock = func() time.Time { return now }
	defer func() { clock = time.Now }()
	var out, errOut bytes.Buffer
	code = Run(action, strings.NewReader(request), &out, &errOut, func() (Store, error) { return store, nil })
	return code, out.String(), errOut.String()
}

// An expiring password is kept with its expiry and refresh token and answered
// back, and never once expired.
func TestExpiringPasswordsAreKeptAndAnsweredBack(t *testing.T) {
	store := &fakeStore{creds: map[string]credd.Credential{}}
	request := "protocol=https\nhost=h.test\nusername=u\n"
	later := now.Add(time.Hour).Unix()
	code, _, stderr := run(t, store, "store", request+"password=tok\npassword_expiry_utc="+itoa(later)+"\noauth_refresh_token=rt\n\n")
	if code != 0 || stderr != "" {
		t.Fatalf("store: %d %q", code, stderr)
	}
	kept := store.creds["git:https://u@h.test"]
	if kept.Kind != "secret" || kept.ExpiresAt == nil || kept.ExpiresAt.Unix() != later || kept.RefreshToken != "rt" {
		t.Fatalf("kept %+v", kept)
	}
	_, stdout, _ := run(t, store, "get", request+"\n")
	want := "protocol=https\nhost=h.test\nusername=u\npassword=tok\npassword_expiry_utc=" + itoa(later) + "\noauth_refresh_token=rt\n"
	if stdout != want {
		t.Fatalf("get answered %q, want %q", stdout, want)
	}
	// The same again: nothing written.
	writes := store.writes
	run(t, store, "store", request+"password=tok\npassword_expiry_utc="+itoa(later)+"\noauth_refresh_token=rt\n\n")
	if store.writes != writes {
		t.Fatal("an unchanged credential was written again")
	}
	// Expired: never answered, as if absent.
	past := now.Add(-time.Second)
	kept.ExpiresAt = &past
	store.creds[kept.Name] = kept
	if _, stdout, _ := run(t, store, "get", request+"\n"); stdout != "" {
		t.Fatalf("an expired password was answered: %q", stdout)
	}
	// A password already expired when git sends it is not stored.
	run(t, store, "store", "protocol=https\nhost=old.test\nusername=u\npassword=x\npassword_expiry_utc="+itoa(now.Unix()-5)+"\n\n")
	if _, ok := store.creds["git:https://u@old.test"]; ok {
		t.Fatal("an expired password was stored")
	}
	// A permanent password stored over it drops the expiry.
	run(t, store, "store", request+"password=perm\n\n")
	if c := store.creds[kept.Name]; c.ExpiresAt != nil || c.RefreshToken != "" || c.Secret != "perm" {
		t.Fatalf("kept %+v", c)
	}
}

// A read-only view refuses store and erase: nothing to do, exit 0, one line.
func TestForbiddenStoreAndEraseAreNothingToDo(t *testing.T) {
	refused := &credd.Error{Code: "forbidden", Status: 403, Message: "the view 'ci' is read-only"}
	store := &fakeStore{creds: map[string]credd.Credential{
		"git:https://u@h.test": {Name: "git:https://u@h.test", Kind: "secret", Username: "u", Secret: "pw"},
	}, refuse: refused}
	for action, request := range map[string]string{
		"store": "protocol=https\nhost=h.test\nusername=u\npassword=new\n\n",
		"erase": "protocol=https\nhost=h.test\nusername=u\n\n",
	} {
		code, stdout, stderr := run(t, store, action, request)
		if code != 0 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "read-only") {
			t.Fatalf("%s: %d %q %q", action, code, stdout, stderr)
		}
	}
}

func TestOAuthCredentialsAreNeverReplacedNorErased(t *testing.T) {
	expiry := now.Add(time.Hour)
	store := &fakeStore{creds: map[string]credd.Credential{
		"git:https://o.test": {Name: "git:https://o.test", Kind: "oauth2", Secret: "at", ExpiresAt: &expiry, RefreshToken: "grant"},
	}}
	_, stdout, _ := run(t, store, "get", "protocol=https\nhost=o.test\n\n")
	want := "protocol=https\nhost=o.test\nusername=oauth2\npassword=at\npassword_expiry_utc=" + itoa(expiry.Unix()) + "\n"
	if stdout != want { // never the grant's refresh token
		t.Fatalf("%q", stdout)
	}
	run(t, store, "store", "protocol=https\nhost=o.test\nusername=oauth2\npassword=x\n\n")
	run(t, store, "erase", "protocol=https\nhost=o.test\nusername=oauth2\n\n")
	if c, ok := store.creds["git:https://o.test"]; !ok || c.Secret != "at" || c.Kind != "oauth2" {
		t.Fatal("the oauth2 credential was replaced or erased")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestReadRequestAndMatching(t *testing.T) {
	attributes := ReadRequest(strings.NewReader("protocol=https\nhost=h\r\nwwwauth[]=Basic\njunk\n\nhost=x\n"))
	if len(attributes) != 3 || attributes["host"] != "h" || attributes["wwwauth[]"] != "Basic" {
		t.Fatalf("%v", attributes)
	}
	if _, ok := TargetOf(map[string]string{"host": "h"}); ok {
		t.Fatal("a target without protocol")
	}
	request, _ := TargetOf(map[string]string{"protocol": "https", "host": "h:1"})
	for name, want := range map[string]bool{
		"git:https://u@h:1": true, "git:https://u@h:1/p": false, "git:https://u@h": false,
		"git:http://u@h:1": false, "keyring:u@h:1": false,
	} {
		if Matches(request, name, "") != want {
			t.Errorf("%s: want %v", name, want)
		}
	}
	withUser, _ := TargetOf(map[string]string{"protocol": "https", "host": "h:1", "username": "u"})
	if !Matches(withUser, "git:https://h:1", "u") || Matches(withUser, "git:https://v@h:1", "") {
		t.Error("the username rule")
	}
}
