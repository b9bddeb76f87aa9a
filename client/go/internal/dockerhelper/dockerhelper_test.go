package dockerhelper

import (
	"bytes"
	"context"
	"strings"
	"testing"

	credd "credd.dev/go"
)

// refusingStore is a read-only view: every write is forbidden.
type refusingStore struct{}

var refused = &credd.Error{Code: "forbidden", Status: 403, Message: "the view 'ci' is read-only"}

func (refusingStore) List(context.Context) ([]credd.Credential, error) { return nil, nil }
func (refusingStore) Get(context.Context, string, ...string) (*credd.Credential, error) {
	return nil, refused
}
func (refusingStore) Set(context.Context, string, credd.Input) (*credd.Credential, error) {
	return nil, refused
}
func (refusingStore) Delete(context.Context, string) error { return refused }

// Store and erase refused by a read-only view are nothing to do.
func TestForbiddenStoreAndEraseAreNothingToDo(t *testing.T) {
	open := func() (Store, error) { return refusingStore{}, nil }
	for action, input := range map[string]string{
		"store": `{"ServerURL": "r.test", "Username": "u", "Secret": "s"}`,
		"erase": "r.test\n",
	} {
		var out, errOut bytes.Buffer
		code := Main([]string{action}, strings.NewReader(input), &out, &errOut, open)
		if code != 0 || out.Len() != 0 || strings.Count(errOut.String(), "\n") != 1 {
			t.Fatalf("%s: %d %q %q", action, code, out.String(), errOut.String())
		}
	}
	// get is not a write: the refusal is docker's error.
	var out, errOut bytes.Buffer
	if code := Main([]string{"get"}, strings.NewReader("r.test"), &out, &errOut, open); code != 1 || out.String() != refused.Message+"\n" {
		t.Fatalf("get: %d %q", code, out.String())
	}
}
