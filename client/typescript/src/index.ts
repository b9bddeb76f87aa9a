/**
 * credd-client: get, set, list and refresh credentials held by credd, this user's credential
 * daemon, over its Unix socket. No runtime dependency.
 *
 *     import { CreddClient } from "credd-client";
 *     const client = new CreddClient();
 *     const token = (await client.get("github.com/me")).secret;
 */

export {
  CreddClient,
  encodePathSegment,
  type CallOptions,
  type ClientOptions,
  type GetOptions,
} from "./client";
export {
  CreddError,
  DaemonTimeoutError,
  DaemonUnavailableError,
  ForbiddenError,
  InternalError,
  InvalidRequestError,
  LockedError,
  NeedsLoginError,
  NotFoundError,
  PayloadTooLargeError,
  ProtocolError,
  RefreshFailedError,
  StoreUnreadableError,
  WriteFailedError,
  WrongPassphraseError,
  errorForCode,
  type ErrorCode,
} from "./errors";
export type {
  AuthMethod,
  Credential,
  CredentialCounts,
  CredentialInput,
  CredentialKind,
  KeyBackendStatus,
  OAuthCredentialState,
  OAuthFailure,
  OAuthStatus,
  OAuthSummary,
  ProgramIdentity,
  SecretInclude,
  Status,
  StoreStatus,
  ViewStatus,
  WatcherStatus,
} from "./models";
export { HEARTBEAT_MS, type EventType, type WatchEvent, type WatchOptions } from "./watch";
export { SOCKET_FILE, checkSocketFile, checkSocketFolder, daemonUid, socketPath, type Environment } from "./paths";
