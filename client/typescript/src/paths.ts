/**
 * Where the daemon's socket is, and whether its folder can be trusted: the same rules as the
 * Python client (`credd_client/_paths.py`), so that every client meets the daemon without a
 * configuration file.
 */

import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { ForbiddenError, InvalidRequestError } from "./errors";

export const SOCKET_FILE = "credd.sock";

/** An environment as `process.env` holds it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The socket the daemon listens on (on Windows, its named pipe).
 *
 * `CREDD_SOCKET` wins. Otherwise the socket lives in `$XDG_RUNTIME_DIR/credd`, else in
 * `/tmp/credd-<uid>`; a daemon run with `CREDD_HOME` gets a socket name of its own,
 * `credd-<first 12 hex digits of the SHA-256 of its absolute path>.sock`. Empty variables
 * count as unset.
 */
export function socketPath(env: Environment = process.env): string {
  const explicit = env["CREDD_SOCKET"];
  if (explicit) {
    return explicit;
  }
  if (process.platform === "win32") {
    return `\\\\.\\pipe\\credd-${env["USERNAME"] || os.userInfo().username}`;
  }
  return path.posix.join(socketFolder(env), socketFile(env));
}

/**
 * The uid `CREDD_DAEMON_UID` says the daemon runs as (a view bound into a container of
 * another user), or undefined. Throws `InvalidRequestError` for a value that is not a uid.
 */
export function daemonUid(env: Environment = process.env): number | undefined {
  const text = env["CREDD_DAEMON_UID"];
  if (!text) {
    return undefined;
  }
  if (!/^[0-9]+$/.test(text) || Number(text) >= 2 ** 32 - 1) {
    throw new InvalidRequestError(
      `CREDD_DAEMON_UID must be a uid (a whole number), not ${JSON.stringify(text)}`
    );
  }
  return Number(text);
}

/**
 * Refuse a socket folder that another user owns or may write to: whoever can write to it can
 * put their own socket there and collect every secret asked for. Throws `ForbiddenError`
 * with the fix; a missing folder is left to the connection (nobody listens there). With
 * `CREDD_DAEMON_UID` the folder may also be that uid's or root's (a container's /run/credd).
 */
export async function checkSocketFolder(
  folder: string,
  env: Environment = process.env,
): Promise<void> {
  let info;
  try {
    info = await fs.stat(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return;
    }
    throw error;
  }
  const uid = currentUid();
  if (uid === undefined) {
    return; // Windows: a named pipe has no folder
  }
  const other = daemonUid(env);
  const owners = other === undefined ? [uid] : [uid, other, 0];
  if (!owners.includes(info.uid)) {
    throw new ForbiddenError(
      `the socket folder ${folder} belongs to uid ${info.uid}, not to you ` +
        `(uid ${uid}); remove it, or set CREDD_SOCKET to a socket in a folder of your own`
    );
  }
  if (info.mode & 0o022) {
    const mode = (info.mode & 0o7777).toString(8).padStart(4, "0");
    throw new ForbiddenError(
      `the socket folder ${folder} may be written by other users ` +
        `(mode ${mode}); run \`chmod 700 ${folder}\``
    );
  }
}

/**
 * Node cannot read a socket's peer credentials, so the socket file itself is checked, with
 * `lstat` (a link is not followed): a socket, owned by you (or by the uid `CREDD_DAEMON_UID`
 * names), that no other user may open (no bits for others; the group bits only with
 * `CREDD_DAEMON_UID`, where a view's ACL for a container's user shows as them). Whoever
 * bound a socket owns its file, so this tells who listens unless the listening socket was
 * handed to another process. Throws `ForbiddenError`; a missing file is left to the
 * connection (nobody listens there).
 */
export async function checkSocketFile(socket: string, env: Environment = process.env): Promise<void> {
  const uid = currentUid();
  if (uid === undefined) {
    return; // Windows: a named pipe is no file
  }
  let info;
  try {
    info = await fs.lstat(socket);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return;
    }
    throw error;
  }
  if (!info.isSocket()) {
    throw new ForbiddenError(
      `${socket} is not a socket${info.isSymbolicLink() ? " (a symbolic link)" : ""}; ` +
        "refusing to talk to it. Remove it and start your own daemon with `credd serve`"
    );
  }
  const other = daemonUid(env);
  if (info.uid !== uid && info.uid !== other) {
    throw new ForbiddenError(
      `the socket ${socket} belongs to uid ${info.uid}, not to you (uid ${uid}); refusing to ` +
        "talk to it. Remove it and start your own daemon with `credd serve`, or set " +
        `CREDD_DAEMON_UID=${info.uid} if that daemon is yours (a view bound into a container)`
    );
  }
  const open = other === undefined ? 0o077 : 0o007;
  if (info.mode & open) {
    const mode = (info.mode & 0o7777).toString(8).padStart(4, "0");
    throw new ForbiddenError(
      `the socket ${socket} may be opened by other users (mode ${mode}); refusing to talk ` +
        "to it. credd makes its socket 0600: remove this one and start `credd serve`"
    );
  }
}

function currentUid(): number | undefined {
  return process.getuid?.();
}

function socketFolder(env: Environment): string {
  const runtimeDir = env["XDG_RUNTIME_DIR"];
  if (runtimeDir) {
    return path.posix.join(runtimeDir, "credd");
  }
  return `/tmp/credd-${currentUid() ?? 0}`;
}

function socketFile(env: Environment): string {
  const home = env["CREDD_HOME"];
  if (!home) {
    return SOCKET_FILE;
  }
  const digest = createHash("sha256").update(absolutePath(expandUser(home)), "utf8").digest("hex");
  return `credd-${digest.slice(0, 12)}.sock`;
}

/** Python's `os.path.expanduser` for `~` and `~/...` (HOME, else the account's home). */
function expandUser(text: string): string {
  if (text !== "~" && !text.startsWith("~/")) {
    return text; // `~user` forms name another account: Python looks it up, we keep it as is
  }
  const envHome = process.env["HOME"];
  const home = (envHome === undefined ? os.homedir() : envHome).replace(/\/+$/, "");
  return home + text.slice(1) || "/";
}

/** Python's `os.path.abspath`: resolved against the working folder and normalised, keeping
 * POSIX's two leading slashes (`//x`) as Python does, so the hash names the same file. */
function absolutePath(text: string): string {
  const resolved = path.posix.resolve(text);
  const absolute = path.posix.isAbsolute(text) ? text : path.posix.join(process.cwd(), text);
  const twoSlashes = absolute.startsWith("//") && !absolute.startsWith("///");
  return twoSlashes && resolved !== "/" ? "/" + resolved : twoSlashes ? "//" : resolved;
}
