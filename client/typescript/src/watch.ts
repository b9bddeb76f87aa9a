/**
 * `CreddClient.watch`: the daemon's change events (`GET /v1/events`), kept flowing across
 * daemon restarts.
 *
 *     for await (const event of client.watch({ names: ["work"], holder: "exec", signal })) {
 *       // event.type, event.name, event.version: never a value
 *     }
 *
 * The daemon sends a heartbeat about every 5 s; three missed in a row mean the connection is
 * lost, whatever the client's timeout. A lost connection (a restart, a stop, a silence) is
 * opened again, and then, as after an `unlocked` event, the watch catches up by versions: it
 * lists the credentials and yields `changed` for each whose version moved and `deleted` for
 * each that vanished. Events are never replayed; a version already seen is not yielded twice.
 * The iteration ends when `signal` aborts (or the loop breaks).
 */

import type * as http from "node:http";

import { DaemonTimeoutError, DaemonUnavailableError, LockedError, ProtocolError } from "./errors";
import type { Credential } from "./models";

export type EventType = "changed" | "deleted" | "refreshed" | "locked" | "unlocked";

/** One change: a credential's name and version (null for `locked` and `unlocked`). */
export interface WatchEvent {
  readonly type: EventType;
  readonly name: string | null;
  readonly version: number | null;
}

export interface WatchOptions {
  /** The credentials to watch; none: every one. */
  names?: readonly string[];
  /** What this process is ("exec", "render"), shown by `credd status`. */
  holder?: string;
  /** Ends the watch. */
  signal?: AbortSignal;
}

/** What the watch needs of the client: a list, an event stream, and the paths' encoding. */
export interface WatchSource {
  list(options: { signal?: AbortSignal | undefined }): Promise<Credential[]>;
  openEvents(target: string, signal?: AbortSignal): Promise<http.IncomingMessage>;
  encode(text: string): string;
}

export const HEARTBEAT_MS = 5000;
const MISSED_HEARTBEATS = 3;
const FIRST_RETRY_MS = 50;
const LONGEST_RETRY_MS = 2000;
const TYPES = new Set<string>(["changed", "deleted", "refreshed", "locked", "unlocked"]);

class ConnectionLost extends Error {}

export async function* watch(
  source: WatchSource,
  options: WatchOptions = {},
): AsyncGenerator<WatchEvent, void, undefined> {
  const { signal } = options;
  const wanted = options.names === undefined ? null : new Set(options.names);
  const query = [...(options.names ?? [])].sort().map((n) => "name=" + source.encode(n));
  if (options.holder !== undefined) {
    query.push("holder=" + source.encode(options.holder));
  }
  const target = "/v1/events" + (query.length > 0 ? "?" + query.join("&") : "");
  let known: Map<string, number> | null = null;
  let delay = FIRST_RETRY_MS;
  while (!signal?.aborted) {
    let stream: http.IncomingMessage | undefined;
    try {
      stream = await source.openEvents(target, signal);
      for (const event of await catchUp(source, wanted, known, signal)) {
        learn(known, event);
        yield event;
      }
      known ??= await versions(source, wanted, signal);
      delay = FIRST_RETRY_MS;
      for await (const event of events(stream)) {
        if (event.type === "unlocked") {
          yield event;
          for (const missed of await catchUp(source, wanted, known, signal)) {
            learn(known, missed);
            yield missed;
          }
          known ??= await versions(source, wanted, signal);
        } else if (isNew(known, event)) {
          learn(known, event);
          yield event;
        }
      }
    } catch (error) {
      if (signal?.aborted) {
        return;
      }
      const lost =
        error instanceof ConnectionLost ||
        error instanceof DaemonUnavailableError ||
        error instanceof DaemonTimeoutError;
      if (!lost) {
        throw error;
      }
    } finally {
      stream?.destroy();
    }
    await pause(delay, signal);
    delay = Math.min(delay * 2, LONGEST_RETRY_MS);
  }
}

/** Every watched credential's version; null while the daemon is locked. */
async function versions(
  source: WatchSource,
  wanted: Set<string> | null,
  signal?: AbortSignal,
): Promise<Map<string, number> | null> {
  let listed: Credential[];
  try {
    listed = await source.list({ signal });
  } catch (error) {
    if (error instanceof LockedError) {
      return null;
    }
    throw error;
  }
  const current = new Map<string, number>();
  for (const credential of listed) {
    if (wanted === null || wanted.has(credential.name)) {
      current.set(credential.name, credential.version ?? 1);
    }
  }
  return current;
}

async function catchUp(
  source: WatchSource,
  wanted: Set<string> | null,
  known: Map<string, number> | null,
  signal?: AbortSignal,
): Promise<WatchEvent[]> {
  if (known === null) {
    return [];
  }
  const current = await versions(source, wanted, signal);
  if (current === null) {
    return [];
  }
  const missed: WatchEvent[] = [];
  for (const name of [...current.keys()].sort()) {
    const version = current.get(name) as number;
    if (known.get(name) !== version) {
      missed.push({ type: "changed", name, version });
    }
  }
  for (const name of [...known.keys()].sort()) {
    if (!current.has(name)) {
      missed.push({ type: "deleted", name, version: known.get(name) as number });
    }
  }
  return missed;
}

function isNew(known: Map<string, number> | null, event: WatchEvent): boolean {
  if (known === null || event.name === null) {
    return true;
  }
  if (event.type === "deleted") {
    return known.has(event.name);
  }
  return known.get(event.name) !== event.version;
}

function learn(known: Map<string, number> | null, event: WatchEvent): void {
  if (known === null || event.name === null) {
    return;
  }
  if (event.type === "deleted") {
    known.delete(event.name);
  } else if (event.version !== null) {
    known.set(event.name, event.version);
  }
}

/** Parse `text/event-stream`; three heartbeats' silence destroys the stream (lost). */
async function* events(stream: http.IncomingMessage): AsyncGenerator<WatchEvent> {
  let timer: NodeJS.Timeout | undefined;
  const armSilence = (): void => {
    clearTimeout(timer);
    timer = setTimeout(
      () => stream.destroy(new ConnectionLost("three heartbeats missed")),
      HEARTBEAT_MS * MISSED_HEARTBEATS,
    );
  };
  armSilence();
  let pending = "";
  let kind: string | null = null;
  let data: string | null = null;
  try {
    for await (const chunk of stream) {
      armSilence();
      pending += (chunk as Buffer).toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const raw of lines) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (line.startsWith(":")) {
          continue;
        }
        if (line !== "") {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") kind = value;
          else if (field === "data") data = value;
          continue;
        }
        if (kind !== null && data !== null && TYPES.has(kind)) {
          yield decode(kind as EventType, data);
        }
        kind = data = null;
      }
    }
  } catch (error) {
    if (error instanceof ProtocolError) {
      throw error;
    }
    throw new ConnectionLost("the event stream broke");
  } finally {
    clearTimeout(timer);
  }
  throw new ConnectionLost("the daemon ended the event stream");
}

function decode(type: EventType, data: string): WatchEvent {
  let document: unknown;
  try {
    document = JSON.parse(data);
  } catch {
    throw new ProtocolError("unexpected event from the daemon: not JSON");
  }
  const { name, version } = (document ?? {}) as Record<string, unknown>;
  if (
    (name !== null && typeof name !== "string") ||
    (version !== null && !Number.isInteger(version))
  ) {
    throw new ProtocolError("unexpected event from the daemon: a name or version of a wrong type");
  }
  return { type, name: name as string | null, version: version as number | null };
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
