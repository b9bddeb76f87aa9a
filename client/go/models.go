package credd

import (
	"fmt"
	"time"
)

// Credential is one credential as the API returns it. Secret is set only by the calls that
// return it (Get, Refresh); RefreshToken and ClientSecret only when asked for with Get's
// include. The oauth2 fields are empty for a plain secret (unless a git helper stored a
// password's expiry and refresh token with it). A JSON null is the empty value.
//
// Its String and GoString leave the secret values out, so printing or logging a Credential
// cannot leak one.
type Credential struct {
	// Name is the key: 1 to 256 printable characters, slashes and spaces included.
	Name string `json:"name"`
	// Kind is "secret", "oauth2", "ssh-key", "aws" or "kube".
	Kind string `json:"kind"`
	// Username is the account the secret belongs to, if any.
	Username string `json:"username"`
	// Secret is the secret value; for oauth2, an access token valid for at least the
	// daemon's refresh margin.
	Secret string `json:"secret,omitempty"`
	// Labels are free-form string pairs.
	Labels map[string]string `json:"labels"`
	// AllowedPrograms are the executables allowed to read the secret; empty: any program.
	AllowedPrograms []string `json:"allowed_programs"`
	// CreatedAt is when the credential was first stored.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it was last replaced or refreshed.
	UpdatedAt time.Time `json:"updated_at"`
	// TokenEndpoint is the OAuth token endpoint the daemon refreshes against.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// ClientID is the OAuth client's id.
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret is the OAuth client's secret, only when asked for.
	ClientSecret string `json:"client_secret,omitempty"`
	// TokenEndpointAuthMethod is client_secret_basic, client_secret_post or none.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// RefreshToken is the grant's refresh token, only when asked for.
	RefreshToken string `json:"refresh_token,omitempty"`
	// ExpiresAt is when the access token (or an expiring password) expires.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Scope is the grant's scope.
	Scope string `json:"scope,omitempty"`
	// Status is ok, needs_login or error.
	Status string `json:"status,omitempty"`
	// LastError is why the last refresh failed.
	LastError string `json:"last_error,omitempty"`
	// NextRefreshAt is when the daemon refreshes next.
	NextRefreshAt *time.Time `json:"next_refresh_at,omitempty"`

	// Reach without exposure (issue 19): where the credential was made.
	// Origin is the view it was made through; empty: the main socket.
	Origin string `json:"origin,omitempty"`
	// Change events (issue 22)

	// Version is bumped with every change of the credential; a watcher compares it to catch up.
	Version int64 `json:"version,omitempty"`

	// ssh-key (issue 20): what is shown of an SSH key; its private part never leaves credd.

	// PublicKey is the public key line (as in a .pub file); Secret holds it too.
	PublicKey string `json:"public_key,omitempty"`
	// KeyType is ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa.
	KeyType string `json:"key_type,omitempty"`
	// Fingerprint is SHA256:... as ssh-keygen -l prints it.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Comment is the key's comment.
	Comment string `json:"comment,omitempty"`
	// Offered says whether the agent offers the key (ssh-add -d clears it); nil for other kinds.
	Offered *bool `json:"offered,omitempty"`

	// AWS (issue 21): an aws credential's settings; its keys come from GET /v1/aws/{name}.
	// AccessKeyID is the long-lived (or imported temporary) key's id.
	AccessKeyID string `json:"access_key_id,omitempty"`
	// Region is the profile's region, kept with the keys.
	Region string `json:"region,omitempty"`
	// MFASerial is the MFA device whose code `credd aws login` asks.
	MFASerial string `json:"mfa_serial,omitempty"`
	// RoleARN is the role assumed (AssumeRole) for the keys handed out.
	RoleARN string `json:"role_arn,omitempty"`
	// Session is whether STS session keys are handed out instead of the stored ones.
	Session *bool `json:"session,omitempty"`
	// SessionDuration is how long a session lasts, in seconds (nil: STS's defaults).
	SessionDuration *int `json:"session_duration,omitempty"`

	// Kubernetes and OpenID Connect (issue 21)
	// ClientCertificate is a kube client-certificate user's certificate (PEM); its key is
	// never in a Credential.
	ClientCertificate string `json:"client_certificate,omitempty"`
	// IDToken is an OpenID Connect login's ID token, only when asked for.
	IDToken string `json:"id_token,omitempty"`
	// IDTokenExpiresAt is when that ID token expires.
	IDTokenExpiresAt *time.Time `json:"id_token_expires_at,omitempty"`
}

// String shows the credential without its secret values.
func (c Credential) String() string {
	return fmt.Sprintf("Credential{Name: %q, Kind: %q, Username: %q, Labels: %v, UpdatedAt: %s}",
		c.Name, c.Kind, c.Username, c.Labels, c.UpdatedAt.Format(time.RFC3339))
}

// GoString is String: %#v must not print the secret values either.
func (c Credential) GoString() string { return c.String() }

// Input is the body of Set: a credential to create or replace. Kind "secret" is the default.
type Input struct {
	// Kind is "secret" (the default when empty), "oauth2" or "kube".
	Kind string `json:"kind"`
	// Secret is the secret value; for oauth2, the current access token.
	Secret string `json:"secret"`
	// Username is the account, if any.
	Username string `json:"username,omitempty"`
	// Labels are free-form string pairs.
	Labels map[string]string `json:"labels,omitempty"`
	// AllowedPrograms limits which executables may read the secret.
	AllowedPrograms []string `json:"allowed_programs,omitempty"`
	// TokenEndpoint (oauth2) is where the daemon refreshes the access token.
	TokenEndpoint string `json:"token_endpoint,omitempty"`
	// ClientID (oauth2) is the OAuth client's id.
	ClientID string `json:"client_id,omitempty"`
	// ClientSecret (oauth2) is the OAuth client's secret, if it has one.
	ClientSecret string `json:"client_secret,omitempty"`
	// TokenEndpointAuthMethod (oauth2) is client_secret_basic, client_secret_post or none.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// RefreshToken is the grant's refresh token (oauth2), or a refresh token kept with an
	// expiring password (secret).
	RefreshToken string `json:"refresh_token,omitempty"`
	// ExpiresAt is when the access token or password expires; sent in UTC.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Scope (oauth2) is the grant's scope.
	Scope string `json:"scope,omitempty"`

	// AWS (issue 21): kind "aws"; Secret is then the secret access key.
	// AccessKeyID is the key's id.
	AccessKeyID string `json:"access_key_id,omitempty"`
	// SessionToken is an imported temporary key's token (with ExpiresAt).
	SessionToken string `json:"session_token,omitempty"`
	// Region is the profile's region.
	Region string `json:"region,omitempty"`
	// MFASerial is the MFA device of the account.
	MFASerial string `json:"mfa_serial,omitempty"`
	// RoleARN is a role to assume.
	RoleARN string `json:"role_arn,omitempty"`
	// Session says whether to hand out STS session keys (nil: the daemon's default).
	Session *bool `json:"session,omitempty"`
	// SessionDuration is how long a session lasts, in seconds.
	SessionDuration *int `json:"session_duration,omitempty"`

	// Kubernetes and OpenID Connect (issue 21)
	// ClientCertificate (kube) is a client certificate (PEM); Secret is then its key (PEM).
	ClientCertificate string `json:"client_certificate,omitempty"`
	// IDToken (oauth2) is an OpenID Connect login's ID token.
	IDToken string `json:"id_token,omitempty"`
}

// String shows the input without its secret values.
func (in Input) String() string {
	return fmt.Sprintf("Input{Kind: %q, Username: %q, Labels: %v}", in.Kind, in.Username, in.Labels)
}

// GoString is String, without the secret values.
func (in Input) GoString() string { return in.String() }

// Status is the daemon's health, as GET /v1/status reports it.
type Status struct {
	// PID is the daemon's process id.
	PID int `json:"pid"`
	// Version is the daemon's version.
	Version string `json:"version"`
	// StartedAt is when the daemon started.
	StartedAt time.Time `json:"started_at"`
	// UptimeSeconds is how long it has run.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// Socket is the socket it serves; empty through a view.
	Socket string `json:"socket"`
	// Store describes the encrypted store file; zero through a view, which is told nothing of it.
	Store StoreStatus `json:"store"`
	// KeyBackend says where the store's key comes from; zero through a view.
	KeyBackend KeyBackendStatus `json:"key_backend"`
	// Locked is true while the daemon holds no key.
	Locked bool `json:"locked"`
	// LockReason says why it is locked.
	LockReason string `json:"lock_reason"`
	// LockAfter is the idle lock's delay in seconds, nil when off.
	LockAfter *float64 `json:"lock_after"`
	// LocksAt is when the idle lock will lock, nil when it will not.
	LocksAt *time.Time `json:"locks_at"`
	// Credentials counts the credentials.
	Credentials CredentialCounts `json:"credentials"`
	// OAuth summarises the background refreshes.
	OAuth OAuthSummary `json:"oauth"`
	// Views are the views the daemon serves (on the main socket).
	Views []ViewStatus `json:"views,omitempty"`
	// View is the view this client talks through; nil on the main socket.
	View *ViewStatus `json:"view,omitempty"`
	// Programs says whether the daemon can tell which program calls it.
	Programs *ProgramIdentity `json:"programs,omitempty"`

	// AWS (issue 21): the aws credentials' STS sessions, summarised as OAuth is.
	AWS *OAuthSummary `json:"aws,omitempty"`

	// Change events (issue 22)

	// Watchers are the open event streams (on the main socket) and what each holds.
	Watchers []WatcherStatus `json:"watchers,omitempty"`
}

// StoreStatus describes the store file.
type StoreStatus struct {
	// Path is the store file's path.
	Path string `json:"path"`
	// Exists is whether the file exists.
	Exists bool `json:"exists"`
	// Size is its size in bytes, nil when it does not exist.
	Size *int64 `json:"size"`
	// State is ok, missing or unreadable.
	State string `json:"state"`
	// Error says why it is unreadable.
	Error string `json:"error"`
}

// KeyBackendStatus says where the store's key comes from.
type KeyBackendStatus struct {
	// Name is the backend's name.
	Name string `json:"name"`
	// Detail describes it.
	Detail string `json:"detail"`
	// Insecure is true when the key sits in a key file instead of a secure keyring.
	Insecure bool `json:"insecure"`
	// Reason says why the key is kept where it is.
	Reason string `json:"reason"`
}

// CredentialCounts counts the credentials.
type CredentialCounts struct {
	// Total is the number of credentials, nil while the store cannot be read.
	Total *int `json:"total"`
	// ByKind counts them by kind.
	ByKind map[string]int `json:"by_kind"`
	// ByStatus counts the oauth2 ones by status.
	ByStatus map[string]int `json:"by_status"`
}

// OAuthSummary summarises the background refreshes.
type OAuthSummary struct {
	// NextRefreshAt is the next refresh of any credential.
	NextRefreshAt *time.Time `json:"next_refresh_at"`
	// Failures are the credentials whose refresh failed.
	Failures []OAuthFailure `json:"failures"`
	// Credentials is each oauth2 credential's state.
	Credentials []OAuthCredentialState `json:"credentials"`
}

// OAuthFailure is one credential whose refresh failed.
type OAuthFailure struct {
	// Name is the credential's name.
	Name string `json:"name"`
	// Status is needs_login or error.
	Status string `json:"status"`
	// LastError says what failed.
	LastError string `json:"last_error"`
}

// OAuthCredentialState is one oauth2 credential's refresh state.
type OAuthCredentialState struct {
	// Name is the credential's name.
	Name string `json:"name"`
	// Status is ok, needs_login or error.
	Status string `json:"status"`
	// ExpiresAt is when its access token expires.
	ExpiresAt *time.Time `json:"expires_at"`
	// NextRefreshAt is when it is refreshed next.
	NextRefreshAt *time.Time `json:"next_refresh_at"`
	// LastError says why the last refresh failed.
	LastError string `json:"last_error"`
}

// ViewStatus is one view: a second socket exposing only some credentials.
type ViewStatus struct {
	// Name is the view's name.
	Name string `json:"name"`
	// Patterns are the globs on credential names it exposes.
	Patterns []string `json:"patterns"`
	// Write is whether it takes PUT and DELETE.
	Write bool `json:"write"`
	// UIDs are the other uids it admits.
	UIDs []int `json:"uids"`
	// Socket is the view's socket.
	Socket string `json:"socket"`
	// ExpiresAt is when the view ends, nil if never.
	ExpiresAt *time.Time `json:"expires_at"`
	// LastUsedAt is its last request, nil if none.
	LastUsedAt *time.Time `json:"last_used_at"`
	// Requests counts the requests through it.
	Requests int `json:"requests"`

	// SSH keys (issue 20).

	// SSHKeys are the globs on ssh-key names its agent socket offers.
	SSHKeys []string `json:"ssh_keys"`
	// AgentSocket is its SSH agent socket (views/NAME.agent.sock), empty without SSHKeys.
	AgentSocket string `json:"agent_socket"`
}

// ProgramIdentity says whether the daemon can read its clients' executables.
type ProgramIdentity struct {
	// Identifiable is whether it can.
	Identifiable bool `json:"identifiable"`
	// Reason says why not.
	Reason string `json:"reason"`
}

// WatcherStatus is an open change-event stream: a `credd exec` or `credd render` declares
// the credentials it holds.
type WatcherStatus struct {
	// PID is the watching process (the socket's peer), nil when unknown.
	PID *int `json:"pid"`
	// Exe is its executable, empty when unknown.
	Exe string `json:"exe"`
	// Holder is what it declared it is: "exec", "render", or empty.
	Holder string `json:"holder"`
	// Names are the credentials it holds; nil: every one.
	Names []string `json:"names"`
	// View is the view it watches through; empty on the main socket.
	View string `json:"view"`
	// Since is when it started watching.
	Since time.Time `json:"since"`
}
