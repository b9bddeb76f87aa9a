/**
 * `CreddClient`: the daemon's HTTP API as promises.
 *
 * Every answer is checked here: a 2xx answer must be the JSON the contract promises, any other
 * answer the error envelope `{"error": {"code", "message"}}`, which becomes the matching
 * `CreddError` subclass. Anything else is a `ProtocolError` naming the HTTP status and nothing
 * of the body, which could hold a secret.
 */

import { errorForCode, CreddError, InvalidRequestError, ProtocolError } from "./errors";
import {
  asObject,
  credentialFromJson,
  statusFromJson,
  type Credential,
  type CredentialInput,
  type SecretInclude,
  type Status,
} from "./models";
import { socketPath as defaultSocketPath, type Environment } from "./paths";
import { Transport, type Response } from "./transport";
import { watch, type WatchEvent, type WatchOptions } from "./watch";

export interface ClientOptions {
  /** The daemon's socket; by default found as every credd client finds it (`socketPath`). */
  socketPath?: string;
  /** How long a call may wait for the daemon's answer, in milliseconds (default 10 000). */
  timeoutMs?: number;
  /** The environment the socket is found from (default `process.env`). */
  env?: Environment;
}

export interface CallOptions {
  /** Abandons the call: it rejects with the signal's reason (an `AbortError`). */
  signal?: AbortSignal;
}

export interface GetOptions extends CallOptions {
  /** Secret fields returned only when asked for. */
  include?: readonly SecretInclude[];
}

/**
 * A connection to this user's credd daemon. Keeps connections alive between calls; call
 * `close()` when done (kept-alive connections never hold a process open).
 */
export class CreddClient {
  readonly socketPath: string;
  readonly timeoutMs: number;
  private readonly transport: Transport;

  constructor(options: ClientOptions = {}) {
    this.socketPath = options.socketPath ?? defaultSocketPath(options.env);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    // setTimeout fires at once past 2^31 - 1 ms (about 24 days).
    if (!(this.timeoutMs > 0 && this.timeoutMs <= 2 ** 31 - 1)) {
      throw new RangeError("timeoutMs must be a positive number of milliseconds, below 2^31");
    }
    this.transport = new Transport(this.socketPath, this.timeoutMs);
  }

  /** The credential with its secret; for oauth2, an access token fresh enough to use. */
  async get(name: string, options: GetOptions = {}): Promise<Credential> {
    let target = credentialPath(name);
    if (options.include !== undefined && options.include.length > 0) {
      target += "?include=" + options.include.map(encodePathSegment).join(",");
    }
    return credentialFromJson(await this.call("GET", target, undefined, options.signal));
  }

  /** Create or replace a credential; a plain secret needs only `{ secret }`. */
  async set(
    name: string,
    credential: CredentialInput,
    options: CallOptions = {},
  ): Promise<Credential> {
    const answer = await this.call("PUT", credentialPath(name), credential, options.signal);
    return credentialFromJson(answer);
  }

  /** Remove a credential; `NotFoundError` if there is none by that name. */
  async delete(name: string, options: CallOptions = {}): Promise<void> {
    await this.send("DELETE", credentialPath(name), undefined, options.signal);
  }

  /** Every credential's metadata, without secret values. */
  async list(options: CallOptions = {}): Promise<Credential[]> {
    const answer = await this.call("GET", "/v1/credentials", undefined, options.signal);
    const items = answer["credentials"];
    if (!Array.isArray(items)) {
      throw new ProtocolError("unexpected answer from the daemon: 'credentials' is not a list");
    }
    return items.map(credentialFromJson);
  }

  /** The daemon's health: pid, version, key backend, lock state, store, counts, OAuth. */
  async status(options: CallOptions = {}): Promise<Status> {
    return statusFromJson(await this.call("GET", "/v1/status", undefined, options.signal));
  }

  /** Refresh an oauth2 credential's access token now, and return the credential. */
  async refresh(name: string, options: CallOptions = {}): Promise<Credential> {
    const target = credentialPath(name) + "/refresh";
    return credentialFromJson(await this.call("POST", target, undefined, options.signal));
  }

  /**
   * Change events (`WatchEvent`: type, name, version) of `options.names` (none: every
   * credential), across daemon restarts, until `options.signal` aborts; see watch.ts.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchEvent, void, undefined> {
    return watch(
      {
        list: ({ signal }) => this.list(signal === undefined ? {} : { signal }),
        openEvents: async (target, signal) => {
          const answer = await this.transport.stream(target, signal);
          if ("body" in answer) {
            throw errorFrom(answer);
          }
          return answer;
        },
        encode: encodePathSegment,
      },
      options,
    );
  }

  /** Close the kept-alive connections; a later call opens a new one. */
  close(): void {
    this.transport.close();
  }

  private async call(
    method: string,
    target: string,
    body?: object,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const response = await this.send(method, target, body, signal);
    return asObject(parseJson(response.body), `the answer (HTTP ${response.status})`);
  }

  private async send(
    method: string,
    target: string,
    body?: object,
    signal?: AbortSignal,
  ): Promise<Response> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), "utf8");
    const response = await this.transport.request(method, target, payload, signal);
    if (response.status < 200 || response.status >= 300) {
      throw errorFrom(response);
    }
    return response;
  }
}

/**
 * Percent-encode text for one path segment: UTF-8, every byte but RFC 3986's unreserved
 * characters (as the Python client does); "." and ".." are encoded whole, so that no URL
 * normalisation can read them as this folder or the parent.
 */
export function encodePathSegment(text: string): string {
  if (text === "." || text === "..") {
    return "%2E".repeat(text.length);
  }
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

function credentialPath(name: string): string {
  if (name.length === 0) {
    throw new InvalidRequestError("a credential name cannot be empty");
  }
  try {
    return "/v1/credentials/" + encodePathSegment(name);
  } catch {
    throw new InvalidRequestError("a credential name must be valid Unicode text");
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function errorFrom(response: Response): CreddError {
  const envelope = parseJson(response.body);
  const error =
    typeof envelope === "object" && envelope !== null
      ? (envelope as Record<string, unknown>)["error"]
      : undefined;
  if (typeof error === "object" && error !== null) {
    const { code, message } = error as Record<string, unknown>;
    if (typeof code === "string" && typeof message === "string") {
      return errorForCode(code, message, response.status);
    }
  }
  return new ProtocolError(
    `unexpected answer from the daemon (HTTP ${response.status})`,
    undefined,
    response.status,
  );
}
