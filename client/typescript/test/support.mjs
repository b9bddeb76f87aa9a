// Helpers of the tests: short temporary folders, fake listeners on a Unix socket, and a watch
// for unhandled rejections (a client must never leave one behind).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after } from "node:test";

const unhandled = [];
process.on("unhandledRejection", (reason) => unhandled.push(reason));
after(() => assert.deepEqual(unhandled, [], "an unhandled rejection"));

/** A fresh 0700 folder under /tmp (AF_UNIX paths are short), removed at the end. */
export function shortTmp() {
  const folder = fs.mkdtempSync(path.join("/tmp", "cdts"));
  after(() => fs.rmSync(folder, { recursive: true, force: true }));
  return folder;
}

/** A listener on a Unix socket that hands each connection to `onConnection`, closed at the end. */
export async function fakeDaemon(onConnection) {
  const folder = shortTmp();
  const socketPath = path.join(folder, "credd.sock");
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    onConnection(socket);
  });
  await new Promise((resolve) => server.listen(socketPath, resolve));
  fs.chmodSync(socketPath, 0o600); // as credd makes its socket (Node's follows the umask)
  after(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  );
  return socketPath;
}

/** Answer each request read on the connection with `answer(requestText, index)` (raw bytes, or
 * null to stay silent); requests are split at the blank line (the client sends small bodies
 * with Content-Length, read along). */
export function onRequests(answer) {
  let counter = 0;
  return (socket) => {
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.subarray(0, end).toString("latin1");
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.subarray(0, end + 4 + length).toString("utf8");
        pending = pending.subarray(end + 4 + length);
        const reply = answer(request, counter++, socket);
        if (reply !== null && reply !== undefined) socket.write(reply);
      }
    });
  };
}

/** An HTTP/1.1 answer with a JSON body, kept alive. */
export function jsonAnswer(status, body) {
  const text = JSON.stringify(body);
  return (
    `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\n` +
    `content-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`
  );
}

/** One raw request to the real daemon (for what the client does not offer: lock, unlock). */
export function rawRequest(socketPath, method, target) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: target, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
    req.end();
  });
}

export const uid = os.userInfo().uid;
