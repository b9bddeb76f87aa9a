/**
 * The one error tree, the same as the Python client's (`credd_client/errors.py`):
 *
 *     CreddError
 *     ├── DaemonUnavailableError  no socket, or nobody listening        (client side)
 *     ├── DaemonTimeoutError      connected, but no answer in time      (client side)
 *     ├── ProtocolError           an answer that makes no sense         (client side)
 *     ├── InvalidRequestError     the request is malformed
 *     │   └── PayloadTooLargeError  a body over the daemon's limit
 *     ├── NotFoundError           no such credential or path
 *     ├── NeedsLoginError         an OAuth grant needs `credd login`
 *     ├── LockedError             the daemon holds no key
 *     │   └── WrongPassphraseError
 *     ├── StoreUnreadableError    the store file does not decrypt or parse
 *     ├── WriteFailedError        the store could not be written (disk full)
 *     ├── RefreshFailedError      an access token expired and its refresh failed
 *     ├── ForbiddenError          this peer may not do that (or a socket folder not yours)
 *     └── InternalError           a bug in the daemon
 *
 * Every error carries the wire `code` of the daemon's envelope and, when it came from an
 * answer, the HTTP `status`. Messages never hold a secret value.
 */

/** Every error code: the daemon's wire codes, then the client's own (marked client side). */
export type ErrorCode =
  | "invalid_request"
  | "payload_too_large"
  | "method_not_allowed"
  | "not_found"
  | "needs_login"
  | "locked"
  | "wrong_passphrase"
  | "store_unreadable"
  | "write_failed"
  | "refresh_failed"
  | "forbidden"
  | "internal_error"
  | "daemon_unavailable"
  | "daemon_timeout"
  | "protocol_error";

/** Base of every error this client throws. `code` is a string: a newer daemon may add codes. */
export class CreddError extends Error {
  readonly code: ErrorCode | (string & {});
  /** The HTTP status of the daemon's answer; undefined for the client-side errors. */
  readonly status: number | undefined;

  /** The code of errors of this class, unless the daemon's answer named another. */
  static readonly defaultCode: string = "error";

  constructor(message: string, code?: string, status?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code ?? (new.target as typeof CreddError).defaultCode;
    this.status = status;
  }
}

/** Nobody listens on the socket (no file, connection refused): start `credd serve`. */
export class DaemonUnavailableError extends CreddError {
  static override readonly defaultCode: string = "daemon_unavailable";
}

/** A daemon accepted the connection but did not answer within the client's timeout. */
export class DaemonTimeoutError extends CreddError {
  static override readonly defaultCode: string = "daemon_timeout";
}

/** The answer is not HTTP, not JSON, or not the shape the API promises. */
export class ProtocolError extends CreddError {
  static override readonly defaultCode: string = "protocol_error";
}

export class InvalidRequestError extends CreddError {
  static override readonly defaultCode: string = "invalid_request";
}
export class PayloadTooLargeError extends InvalidRequestError {
  static override readonly defaultCode: string = "payload_too_large";
}
export class NotFoundError extends CreddError {
  static override readonly defaultCode: string = "not_found";
}
export class NeedsLoginError extends CreddError {
  static override readonly defaultCode: string = "needs_login";
}
export class LockedError extends CreddError {
  static override readonly defaultCode: string = "locked";
}
export class WrongPassphraseError extends LockedError {
  static override readonly defaultCode: string = "wrong_passphrase";
}
export class StoreUnreadableError extends CreddError {
  static override readonly defaultCode: string = "store_unreadable";
}
export class WriteFailedError extends CreddError {
  static override readonly defaultCode: string = "write_failed";
}
export class RefreshFailedError extends CreddError {
  static override readonly defaultCode: string = "refresh_failed";
}
export class ForbiddenError extends CreddError {
  static override readonly defaultCode: string = "forbidden";
}
export class InternalError extends CreddError {
  static override readonly defaultCode: string = "internal_error";
}

const WIRE_CLASSES = [
  InvalidRequestError,
  PayloadTooLargeError,
  NotFoundError,
  NeedsLoginError,
  LockedError,
  WrongPassphraseError,
  StoreUnreadableError,
  WriteFailedError,
  RefreshFailedError,
  ForbiddenError,
  InternalError,
] as const;

const BY_CODE = new Map<string, (typeof WIRE_CLASSES)[number]>([
  ...WIRE_CLASSES.map((cls) => [cls.defaultCode, cls] as const),
  // Sent for a method a path does not take: a request this client never makes.
  ["method_not_allowed", InvalidRequestError],
]);

/** The error for a code of the daemon's envelope; an unknown code becomes a plain CreddError. */
export function errorForCode(code: string, message: string, status?: number): CreddError {
  const cls = BY_CODE.get(code) ?? CreddError;
  return new cls(message, code, status);
}
