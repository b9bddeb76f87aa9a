/**
 * HTTP/1.1 over the daemon's Unix socket (on Windows, its named pipe): Node's own `http`
 * with a keep-alive agent, the only socket code of this package.
 *
 * Before a connection is used, the socket's folder must be the user's own (`checkSocketFolder`)
 * and the socket file a socket of the user's, closed to others (`checkSocketFile`). Node cannot
 * read a socket's peer credentials, so the daemon's uid is told from the file, not from the
 * connection as in the Python, Go and JVM clients.
 *
 * Errors of the socket and of HTTP parsing are translated here, once, into
 * `DaemonUnavailableError`, `DaemonTimeoutError` and `ProtocolError`. Their messages never quote
 * what was sent or received.
 */

import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import type { Duplex } from "node:stream";

import { CreddError, DaemonTimeoutError, DaemonUnavailableError, ProtocolError } from "./errors";
import { checkSocketFile, checkSocketFolder } from "./paths";

export const START_HINT =
  "start one with `credd serve`, or install the login service with `credd service install`";

const MAX_BODY = 64 * 1024 * 1024;
// Below the daemon's keep-alive timeout (uvicorn's 5 s), so that an idle connection is closed
// here first rather than found dead on the next request.
const IDLE_MS = 4000;
const STALE_CODES = new Set(["ECONNRESET", "EPIPE"]);
const NO_LISTENER_CODES = new Set(["ENOENT", "ECONNREFUSED", "ENOTSOCK", "ENOTDIR"]);

export interface Response {
  readonly status: number;
  readonly body: Buffer;
}

/** An agent that checks the socket's folder and file before each new connection. */
class CheckedAgent extends http.Agent {
  constructor(private readonly socketPath: string) {
    super({ keepAlive: true, timeout: IDLE_MS });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const done = callback ?? (() => undefined);
    const checks =
      process.platform === "win32"
        ? Promise.resolve()
        : checkSocketFolder(path.dirname(this.socketPath) || ".").then(() =>
            checkSocketFile(this.socketPath),
          );
    checks
      .then(() => net.createConnection({ path: this.socketPath }))
      .then(
        (socket) => done(null, socket),
        (error: unknown) => done(error as Error, undefined as unknown as Duplex),
      );
    return undefined;
  }
}

export class Transport {
  private readonly agent: CheckedAgent;

  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
  ) {
    this.agent = new CheckedAgent(socketPath);
  }

  /**
   * Send one request and read its whole answer.
   *
   * A kept-alive connection the daemon closed meanwhile fails before any byte of an answer;
   * the request is then sent once more, on a new connection, as the daemon never read it.
   * Nothing else is retried. An aborted `signal` rejects with its reason at once.
   */
  async request(
    method: string,
    target: string,
    body?: Buffer,
    signal?: AbortSignal,
  ): Promise<Response> {
    try {
      return await this.attempt(method, target, body, signal);
    } catch (error) {
      if (!(error instanceof StaleConnection)) {
        throw error;
      }
    }
    try {
      return await this.attempt(method, target, body, signal);
    } catch (error) {
      if (error instanceof StaleConnection) {
        throw new DaemonUnavailableError(
          `the daemon on ${this.socketPath} closed the connection without answering`,
        );
      }
      throw error;
    }
  }

  /** Close every kept-alive connection; a later request opens a new one. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * GET an open-ended answer on a connection of its own: a 2xx answer as the stream of its
   * body (the caller destroys it), any other answer read whole. Only connecting is bounded
   * by the timeout; the caller watches the stream's silences itself.
   */
  stream(target: string, signal?: AbortSignal): Promise<http.IncomingMessage | Response> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const agent = new CheckedAgent(this.socketPath);
      const req = http.request({
        agent,
        socketPath: this.socketPath,
        method: "GET",
        path: target,
        headers: { Host: "localhost" },
        signal,
      });
      const timer = setTimeout(() => {
        req.destroy(new DaemonUnavailableError(`no daemon answers on ${this.socketPath}`));
      }, this.timeoutMs);
      req.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        agent.destroy();
        reject(signal?.aborted ? signal.reason : this.translate(error, false));
      });
      req.on("response", (res: http.IncomingMessage) => {
        clearTimeout(timer);
        res.on("close", () => agent.destroy());
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status, body: Buffer.concat(chunks) }));
        res.on("error", (error: Error) => reject(this.translate(error, true)));
      });
      req.end();
    });
  }

  private attempt(
    method: string,
    target: string,
    body?: Buffer,
    signal?: AbortSignal,
  ): Promise<Response> {
    return new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const headers: http.OutgoingHttpHeaders = { Host: "localhost", Prefer: preferWait(this.timeoutMs) };
      if (body !== undefined) {
        headers["Content-Type"] = "application/json";
      }
      if (body !== undefined || method === "POST" || method === "PUT") {
        headers["Content-Length"] = body?.length ?? 0;
      }
      let settled = false;
      let answering = false;
      const req = http.request({
        agent: this.agent,
        socketPath: this.socketPath,
        method,
        path: target,
        headers,
      });
      const settle = (error: Error | null, response?: Response): void => {
        if (settled) {
          return;
        }
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error === null) {
          resolve(response as Response);
          return;
        }
        req.destroy();
        reject(error);
      };
      const timer = setTimeout(() => {
        const connected = req.socket !== null && !(req.socket as net.Socket).connecting;
        settle(
          connected
            ? new DaemonTimeoutError(
                `credd did not answer within ${this.timeoutMs / 1000} s (socket ${this.socketPath})`,
              )
            : new DaemonUnavailableError(`no daemon answers on ${this.socketPath}; ${START_HINT}`),
        );
      }, this.timeoutMs);
      // Bytes the connection had read before this request: more when the error comes means
      // an answer had begun (then it is cut short, and never sent again).
      let readBefore = 0;
      req.on("socket", (socket: net.Socket) => {
        readBefore = socket.bytesRead;
      });
      const onAbort = (): void => settle(signal?.reason as Error);
      signal?.addEventListener("abort", onAbort, { once: true });
      req.on("error", (error: NodeJS.ErrnoException) => {
        answering ||= (req.socket?.bytesRead ?? 0) > readBefore;
        if (!answering && req.reusedSocket && STALE_CODES.has(error.code ?? "")) {
          settle(new StaleConnection());
          return;
        }
        settle(this.translate(error, answering));
      });
      req.on("response", (res: http.IncomingMessage) => {
        answering = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            settle(malformed("a body over 64 MiB"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("end", () => {
          settle(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
        });
        res.on("aborted", () => settle(malformed("an answer cut short")));
        res.on("error", (error: Error) => settle(this.translate(error, true)));
      });
      req.end(body);
    });
  }

  private translate(error: NodeJS.ErrnoException, answering: boolean): CreddError {
    if (error instanceof CreddError) {
      return error; // the folder check's ForbiddenError
    }
    const code = error.code ?? "";
    if (code.startsWith("HPE_")) {
      return malformed("not HTTP, or not HTTP/1.1 as the daemon speaks it");
    }
    if (answering) {
      return malformed("an answer cut short");
    }
    if (NO_LISTENER_CODES.has(code)) {
      return new DaemonUnavailableError(`no daemon answers on ${this.socketPath}; ${START_HINT}`);
    }
    if (code === "EAGAIN") {
      return new DaemonUnavailableError(
        `the daemon on ${this.socketPath} takes no new connection now (too many waiting); try again`,
      );
    }
    if (STALE_CODES.has(code)) {
      return new DaemonUnavailableError(
        `the daemon on ${this.socketPath} closed the connection without answering`,
      );
    }
    if (code === "EACCES" || code === "EPERM") {
      return new DaemonUnavailableError(
        `cannot connect to the daemon on ${this.socketPath} (permission denied)`,
      );
    }
    return new DaemonUnavailableError(
      `cannot connect to the daemon on ${this.socketPath} (${code || error.message})`,
    );
  }
}

/**
 * The Prefer header (RFC 7240) telling the daemon how long a call waits for its answer: whole
 * seconds, floor(timeout - 2 s), never below 0, so that the daemon gives up waiting on a slow
 * token endpoint (answering refresh_failed) while this call still listens.
 */
export function preferWait(timeoutMs: number): string {
  return `wait=${Math.max(0, Math.floor(timeoutMs / 1000 - 2))}`;
}

/** The daemon closed a kept-alive connection before answering: the request may be sent again. */
class StaleConnection extends Error {}

function malformed(what: string): ProtocolError {
  return new ProtocolError(`malformed answer from the daemon: ${what}`);
}
