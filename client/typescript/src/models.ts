/**
 * What the daemon answers, typed field for field as its OpenAPI document defines them (the
 * JSON names, snake_case). A test compares these interfaces with the document, so a field
 * added to the API without this client fails it.
 *
 * Decoding is strict about the fields a caller relies on (a wrong type is a `ProtocolError`)
 * and lenient about the rest: keys a newer daemon adds stay on the object. Secret values are
 * hidden from `console.log` and `util.inspect`, so logging a credential cannot leak one.
 */

import { inspect } from "node:util";

import { ProtocolError } from "./errors";

export type CredentialKind = "secret" | "oauth2" | "ssh-key" | "aws" | "kube";
export type AuthMethod = "client_secret_basic" | "client_secret_post" | "none";
export type OAuthStatus = "ok" | "needs_login" | "error";
/** The secret fields `get` returns only when asked for. */
export type SecretInclude = "refresh_token" | "client_secret" | "id_token";

/** One credential (`CredentialOut`). Times are RFC 3339 in UTC. */
export interface Credential {
  readonly name: string;
  readonly kind: CredentialKind;
  readonly username: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** Absolute paths of the executables allowed to read the secret; empty: any of yours. */
  readonly allowed_programs: readonly string[];
  readonly created_at: string;
  readonly updated_at: string;
  /** Set by the calls that return it: `get` and `refresh`; for oauth2, the access token. */
  readonly secret?: string | null;
  readonly token_endpoint?: string | null;
  readonly client_id?: string | null;
  /** Only with `get(name, { include: ["client_secret"] })`. */
  readonly client_secret?: string | null;
  readonly token_endpoint_auth_method?: AuthMethod | null;
  /** Only with `get(name, { include: ["refresh_token"] })`. */
  readonly refresh_token?: string | null;
  readonly expires_at?: string | null;
  readonly scope?: string | null;
  readonly status?: OAuthStatus | null;
  readonly last_error?: string | null;
  readonly next_refresh_at?: string | null;
  // Reach without exposure (issue 19): where the credential was made.
  /** The view the credential was made through; null: the main socket. */
  readonly origin?: string | null;
  // Change events (issue 22)
  /** Bumped with every change of the credential; a watcher compares it to catch up. */
  readonly version?: number;
  // ssh-key (issue 20): what is shown of an SSH key; its private part never leaves credd.
  /** The public key line (as in a .pub file); `secret` holds it too. */
  readonly public_key?: string | null;
  /** ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa. */
  readonly key_type?: string | null;
  /** SHA256:... as `ssh-keygen -l` prints it. */
  readonly fingerprint?: string | null;
  readonly comment?: string | null;
  /** Whether the agent offers the key (`ssh-add -d` clears it). */
  readonly offered?: boolean | null;
  // AWS (issue 21): an aws credential's settings; its keys come from GET /v1/aws/{name}.
  readonly access_key_id?: string | null;
  readonly region?: string | null;
  readonly mfa_serial?: string | null;
  readonly role_arn?: string | null;
  /** Whether STS session keys are handed out instead of the stored ones. */
  readonly session?: boolean | null;
  /** Seconds a session lasts; null: STS's defaults (12 h, 1 h for a role). */
  readonly session_duration?: number | null;
  // Kubernetes and OpenID Connect (issue 21)
  /** kube: a client-certificate user's certificate (PEM); its key is never here. */
  readonly client_certificate?: string | null;
  /** oauth2: an OpenID Connect login's ID token, only with `include: ["id_token"]`. */
  readonly id_token?: string | null;
  readonly id_token_expires_at?: string | null;
}

/** The body of `set`: a credential as the API takes it (`CredentialIn`). */
export interface CredentialInput {
  kind?: CredentialKind;
  secret: string;
  username?: string | null;
  labels?: Record<string, string>;
  allowed_programs?: string[];
  token_endpoint?: string;
  client_id?: string;
  client_secret?: string;
  token_endpoint_auth_method?: AuthMethod;
  refresh_token?: string;
  expires_at?: string;
  scope?: string;
  // AWS (issue 21): kind "aws"; `secret` is then the secret access key.
  access_key_id?: string;
  session_token?: string;
  region?: string;
  mfa_serial?: string;
  role_arn?: string;
  session?: boolean;
  session_duration?: number;
  // Kubernetes and OpenID Connect (issue 21)
  /** kube: a client certificate (PEM); `secret` is then its private key (PEM). */
  client_certificate?: string;
  /** oauth2: an OpenID Connect login's ID token. */
  id_token?: string;
}

export interface StoreStatus {
  readonly path: string;
  readonly exists: boolean;
  readonly size: number | null;
  readonly state: "ok" | "missing" | "unreadable";
  readonly error: string | null;
}

export interface KeyBackendStatus {
  readonly name: string;
  readonly detail: string;
  /** True when the store key sits in a key file instead of a secure keyring. */
  readonly insecure: boolean;
  readonly reason: string | null;
}

export interface CredentialCounts {
  readonly total: number | null;
  readonly by_kind: Readonly<Record<string, number>>;
  readonly by_status: Readonly<Record<string, number>>;
}

export interface OAuthFailure {
  readonly name: string;
  readonly status: string;
  readonly last_error: string | null;
}

export interface OAuthCredentialState {
  readonly name: string;
  readonly status: OAuthStatus;
  readonly expires_at: string | null;
  readonly next_refresh_at: string | null;
  readonly last_error: string | null;
}

export interface OAuthSummary {
  readonly next_refresh_at: string | null;
  readonly failures: readonly OAuthFailure[];
  readonly credentials: readonly OAuthCredentialState[];
}

/** A view of the store (`credd view`): another machine's or a container's socket. */
export interface ViewStatus {
  readonly name: string;
  readonly patterns: readonly string[];
  readonly write: boolean;
  readonly uids: readonly number[];
  readonly socket: string;
  readonly expires_at: string | null;
  readonly last_used_at: string | null;
  readonly requests: number;
  // SSH keys (issue 20): the globs on ssh-key names its agent socket offers, and that socket.
  readonly ssh_keys?: readonly string[];
  readonly agent_socket?: string | null;
}

/** Whether the daemon can read its clients' executables, and if not, why. */
export interface ProgramIdentity {
  readonly identifiable: boolean;
  readonly reason: string | null;
}

/** The daemon's health (`StatusOut`), as `GET /v1/status` reports it. */
export interface Status {
  readonly pid: number;
  readonly version: string;
  readonly started_at: string;
  readonly uptime_seconds: number;
  /** Null through a view, which is told no path and nothing of the store. */
  readonly socket: string | null;
  readonly store: StoreStatus | null;
  readonly key_backend: KeyBackendStatus | null;
  readonly locked: boolean;
  readonly lock_reason: string | null;
  readonly lock_after: number | null;
  readonly locks_at: string | null;
  readonly credentials: CredentialCounts;
  readonly oauth: OAuthSummary;
  /** On the main socket: every view (daemons that have views). */
  readonly views?: readonly ViewStatus[];
  /** Through a view: the one it is; null on the main socket. */
  readonly view?: ViewStatus | null;
  /** Daemons that report whether they can identify programs. */
  readonly programs?: ProgramIdentity | null;
  // AWS (issue 21)
  /** The aws credentials' STS sessions, summarised as `oauth` is (daemons with aws). */
  readonly aws?: OAuthSummary | null;
  // Change events (issue 22)
  /** On the main socket: the open event streams and what each holds. */
  readonly watchers?: readonly WatcherStatus[] | null;
}

/** An open change-event stream: a `credd exec` or `credd render` declares what it holds. */
export interface WatcherStatus {
  readonly pid: number | null;
  readonly exe: string | null;
  readonly holder: string | null;
  /** The credentials it holds; null: every one. */
  readonly names: readonly string[] | null;
  readonly view: string | null;
  readonly since: string;
}

type Json = Record<string, unknown>;

const OPTIONAL_TEXT = [
  "username",
  "secret",
  "token_endpoint",
  "client_id",
  "client_secret",
  "token_endpoint_auth_method",
  "refresh_token",
  "expires_at",
  "scope",
  "status",
  "last_error",
  "next_refresh_at",
  "created_at",
  "updated_at",
  "origin",
  "public_key",
  "key_type",
  "fingerprint",
  "comment",
  "access_key_id",
  "region",
  "mfa_serial",
  "role_arn",
  "client_certificate",
  "id_token",
  "id_token_expires_at",
] as const;
const HIDDEN = new Set(["secret", "client_secret", "refresh_token", "id_token"]);

/** Decode one credential object of the daemon's answer. */
export function credentialFromJson(data: unknown): Credential {
  const object = asObject(data, "a credential");
  text(object, "name");
  text(object, "kind");
  for (const key of OPTIONAL_TEXT) {
    optionalText(object, key);
  }
  const labels = object["labels"] ?? {};
  if (!isObject(labels) || !Object.values(labels).every((v) => typeof v === "string")) {
    throw unexpected("'labels' is not an object of strings");
  }
  const programs = object["allowed_programs"] ?? [];
  if (!Array.isArray(programs) || !programs.every((p) => typeof p === "string")) {
    throw unexpected("'allowed_programs' is not a list of strings");
  }
  const offered = object["offered"];
  if (offered !== undefined && offered !== null && typeof offered !== "boolean") {
    throw unexpected("'offered' is not a boolean");
  }
  const credential = { ...object, labels, allowed_programs: programs };
  Object.defineProperty(credential, inspect.custom, { value: inspectWithoutSecrets });
  return credential as unknown as Credential;
}

/** Decode the answer of `GET /v1/status`. */
export function statusFromJson(data: unknown): Status {
  const object = asObject(data, "the status");
  if (!Number.isInteger(object["pid"])) {
    throw unexpected("'pid' is not an integer");
  }
  if (typeof object["locked"] !== "boolean") {
    throw unexpected("'locked' is not a boolean");
  }
  text(object, "version");
  const uptime = object["uptime_seconds"];
  if (uptime !== undefined && uptime !== null && typeof uptime !== "number") {
    throw unexpected("'uptime_seconds' is not a number");
  }
  for (const key of ["store", "key_backend", "credentials", "oauth"]) {
    const value = object[key];
    if (value !== undefined && value !== null && !isObject(value)) {
      throw unexpected(`'${key}' is not an object`);
    }
  }
  return object as unknown as Status;
}

function inspectWithoutSecrets(this: Json, depth: number, options: object): string {
  const shown: Json = {};
  for (const [key, value] of Object.entries(this)) {
    shown[key] = HIDDEN.has(key) && value !== null && value !== undefined ? "<hidden>" : value;
  }
  return `Credential ${inspect(shown, { ...options, depth })}`;
}

export function asObject(data: unknown, what: string): Json {
  if (!isObject(data)) {
    throw unexpected(`${what} is not a JSON object`);
  }
  return data;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(object: Json, key: string): void {
  if (typeof object[key] !== "string") {
    throw unexpected(`'${key}' is missing or not a string`);
  }
}

function optionalText(object: Json, key: string): void {
  const value = object[key];
  if (value !== undefined && value !== null && typeof value !== "string") {
    throw unexpected(`'${key}' is not a string`);
  }
}

// Names the field, never its value: the value may be a secret.
function unexpected(what: string): ProtocolError {
  return new ProtocolError(`unexpected answer from the daemon: ${what}`);
}
