package credd

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// sentinels is every sentinel, by its code.
var sentinels = map[string]*Error{}

func init() {
	for _, e := range []*Error{
		ErrUnavailable, ErrTimeout, ErrProtocol, ErrInvalidRequest, ErrPayloadTooLarge,
		ErrMethodNotAllowed, ErrNotFound, ErrNeedsLogin, ErrLocked, ErrWrongPassphrase,
		ErrStoreUnreadable, ErrWriteFailed, ErrRefreshFailed, ErrLoginFailed, ErrForbidden,
		ErrInternal,
	} {
		sentinels[e.Code] = e
	}
}

// TestEveryWireCodeHasASentinel: the driver passes the codes the API defines
// (tests/support/api_contract.py); each must become an error errors.Is matches.
func TestEveryWireCodeHasASentinel(t *testing.T) {
	codes := strings.Split(os.Getenv("CREDD_TEST_ERROR_CODES"), ",")
	if codes[0] == "" {
		codes = nil
		for code := range sentinels {
			codes = append(codes, code)
		}
	}
	for _, code := range codes {
		sentinel, ok := sentinels[code]
		if !ok {
			t.Errorf("no sentinel for the wire code %q", code)
			continue
		}
		got := errorFrom(418, []byte(`{"error": {"code": "`+code+`", "message": "m"}}`))
		if !errors.Is(got, sentinel) {
			t.Errorf("%s: errors.Is fails", code)
		}
		for other, s := range sentinels {
			if other != code && parents[code] != other && errors.Is(got, s) {
				t.Errorf("%s also matches %s", code, other)
			}
		}
	}
}

func TestParentsAndExitCodes(t *testing.T) {
	for code, want := range map[string]int{
		"daemon_unavailable": 3, "daemon_timeout": 1, "invalid_request": 2,
		"payload_too_large": 2, "not_found": 4, "needs_login": 5, "locked": 1,
		"wrong_passphrase": 1, "forbidden": 1, "something_new": 1,
	} {
		e := &Error{Code: code, Message: "m"}
		if e.ExitCode() != want {
			t.Errorf("%s: exit %d, want %d", code, e.ExitCode(), want)
		}
	}
	tooLarge := &Error{Code: "payload_too_large", Message: "m"}
	if !errors.Is(tooLarge, ErrInvalidRequest) || !errors.Is(&Error{Code: "wrong_passphrase"}, ErrLocked) {
		t.Error("a code does not match its parent")
	}
	if errors.Is(ErrInvalidRequest, tooLarge) {
		t.Error("an error with a message is not a sentinel")
	}
	unknown := errorFrom(400, []byte(`{"error": {"code": "brand_new", "message": "why"}}`))
	var ce *Error
	if !errors.As(unknown, &ce) || ce.Code != "brand_new" || ce.Message != "why" || ce.Status != 400 {
		t.Errorf("an unknown code is kept: %#v", unknown)
	}
}
