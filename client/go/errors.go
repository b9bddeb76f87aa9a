package credd

// Error is every error this package returns: the wire code of the daemon's error envelope
// (or of a client-side failure: daemon_unavailable, daemon_timeout, protocol_error), the
// HTTP status and a message a person can act on. Messages never hold a secret value.
//
// Compare with the sentinels through errors.Is, which also matches a code's parent
// (ErrPayloadTooLarge is an ErrInvalidRequest, ErrWrongPassphrase an ErrLocked):
//
//	if errors.Is(err, credd.ErrNeedsLogin) { ... }
type Error struct {
	// Code is the wire code, such as "not_found".
	Code string
	// Status is the HTTP status of the answer; 0 for a failure on the client's side.
	Status int
	// Message says what went wrong and, where it can, what to do.
	Message string

	cause error
}

// Error returns the message.
func (e *Error) Error() string {
	if e.Message == "" {
		return "credd: " + e.Code
	}
	return e.Message
}

// Unwrap returns the underlying error (a socket or context error), if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is a sentinel of e's code or of one of its parents.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Message != "" || t.Status != 0 {
		return false // only the sentinels, which hold a code alone, match by code
	}
	for code := e.Code; code != ""; code = parents[code] {
		if code == t.Code {
			return true
		}
	}
	return false
}

// ExitCode is the exit status a command ends with for this error, as credd's own CLI does.
func (e *Error) ExitCode() int {
	for code := e.Code; code != ""; code = parents[code] {
		if exit, ok := exitCodes[code]; ok {
			return exit
		}
	}
	return 1
}

// The sentinels: one per wire code. Returned errors are never these values themselves but
// *Error values that match them with errors.Is.
var (
	// ErrUnavailable: no socket, connection refused, nobody listening (exit 3).
	ErrUnavailable = &Error{Code: "daemon_unavailable"}
	// ErrTimeout: connected, but the daemon did not answer within the client's timeout.
	ErrTimeout = &Error{Code: "daemon_timeout"}
	// ErrProtocol: an answer that makes no sense (not HTTP, cut short, not the JSON promised).
	ErrProtocol = &Error{Code: "protocol_error"}
	// ErrInvalidRequest: the request is malformed (exit 2).
	ErrInvalidRequest = &Error{Code: "invalid_request"}
	// ErrPayloadTooLarge: a body over the daemon's limit; also an ErrInvalidRequest.
	ErrPayloadTooLarge = &Error{Code: "payload_too_large"}
	// ErrMethodNotAllowed: the path does not take that method.
	ErrMethodNotAllowed = &Error{Code: "method_not_allowed"}
	// ErrNotFound: no such credential or path (exit 4).
	ErrNotFound = &Error{Code: "not_found"}
	// ErrNeedsLogin: an OAuth grant needs `credd login` (exit 5).
	ErrNeedsLogin = &Error{Code: "needs_login"}
	// ErrLocked: the daemon holds no key.
	ErrLocked = &Error{Code: "locked"}
	// ErrWrongPassphrase: `unlock` was given the wrong passphrase; also an ErrLocked.
	ErrWrongPassphrase = &Error{Code: "wrong_passphrase"}
	// ErrStoreUnreadable: the store file does not decrypt or parse.
	ErrStoreUnreadable = &Error{Code: "store_unreadable"}
	// ErrWriteFailed: the store could not be written (a full disk).
	ErrWriteFailed = &Error{Code: "write_failed"}
	// ErrRefreshFailed: an access token expired and its refresh failed.
	ErrRefreshFailed = &Error{Code: "refresh_failed"}
	// ErrLoginFailed: an OAuth login did not complete.
	ErrLoginFailed = &Error{Code: "login_failed"}
	// ErrForbidden: this peer may not do that (a read-only view, another user's socket).
	ErrForbidden = &Error{Code: "forbidden"}
	// ErrInternal: a bug in the daemon.
	ErrInternal = &Error{Code: "internal_error"}
)

var parents = map[string]string{
	"payload_too_large": "invalid_request",
	"wrong_passphrase":  "locked",
}

var exitCodes = map[string]int{
	"daemon_unavailable": 3,
	"invalid_request":    2,
	"not_found":          4,
	"needs_login":        5,
}

func newError(code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}
