// The client without a daemon: socket discovery, the folder check, a daemon that is down, and
// listeners that misbehave (garbage, cut answers, silence). Each must give a typed error,
// never a hang or an unhandled rejection.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";

import {
  CreddClient,
  checkSocketFile,
  checkSocketFolder,
  CreddError,
  DaemonTimeoutError,
  DaemonUnavailableError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  ProtocolError,
  encodePathSegment,
  errorForCode,
  socketPath,
} from "../dist/index.js";
import { fakeDaemon, jsonAnswer, onRequests, shortTmp, uid } from "./support.mjs";

const CREDENTIAL = {
  name: "n",
  kind: "secret",
  username: null,
  labels: {},
  allowed_programs: [],
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  secret: "s3cr3t-value",
};

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

describe("socket discovery", () => {
  test("CREDD_SOCKET wins over everything", () => {
    const env = { CREDD_SOCKET: "/x/y.sock", CREDD_HOME: "/h", XDG_RUNTIME_DIR: "/run/u" };
    assert.equal(socketPath(env), "/x/y.sock");
  });
  test("XDG_RUNTIME_DIR, else /tmp/credd-UID; empty variables count as unset", () => {
    assert.equal(socketPath({ XDG_RUNTIME_DIR: "/run/u" }), "/run/u/credd/credd.sock");
    assert.equal(socketPath({ XDG_RUNTIME_DIR: "", CREDD_SOCKET: "" }), `/tmp/credd-${uid}/credd.sock`);
  });
  test("CREDD_HOME names the socket by the SHA-256 of its absolute path", () => {
    const digest = createHash("sha256").update("/home/me/.x").digest("hex").slice(0, 12);
    assert.equal(socketPath({ CREDD_HOME: "/home/me//.x/" }), `/tmp/credd-${uid}/credd-${digest}.sock`);
  });
  test("the same paths as the Python client, case by case", { skip: !process.env.CREDD_TEST_PATHS }, () => {
    const cases = JSON.parse(process.env.CREDD_TEST_PATHS);
    assert.ok(cases.length >= 5);
    for (const { env, expected } of cases) {
      assert.equal(socketPath(env), expected, JSON.stringify(env));
    }
  });
  test("the client uses the environment it is given", () => {
    const client = new CreddClient({ env: { XDG_RUNTIME_DIR: "/run/me" } });
    assert.equal(client.socketPath, "/run/me/credd/credd.sock");
    client.close();
  });
});

describe("the socket folder", () => {
  test("one owned by another user is refused before connecting", async () => {
    const folder = path.join(shortTmp(), "other");
    fs.mkdirSync(folder, { mode: 0o700 });
    fs.chownSync(folder, 65534, 65534);
    const client = new CreddClient({ socketPath: path.join(folder, "credd.sock") });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ForbiddenError, String(error));
    assert.equal(error.code, "forbidden");
    assert.match(error.message, /belongs to uid 65534, not to you/);
    client.close();
  });
  test("CREDD_DAEMON_UID admits that uid's folder (a view bound into a container)", async () => {
    const folder = path.join(shortTmp(), "view");
    fs.mkdirSync(folder, { mode: 0o700 });
    fs.chownSync(folder, 65534, 65534);
    await checkSocketFolder(folder, { CREDD_DAEMON_UID: "65534" });
    const refused = await rejection(checkSocketFolder(folder, { CREDD_DAEMON_UID: "65533" }));
    assert.ok(refused instanceof ForbiddenError, String(refused));
    const bad = await rejection(checkSocketFolder(folder, { CREDD_DAEMON_UID: "me" }));
    assert.equal(bad.code, "invalid_request");
  });
  test("one that others may write to is refused", async () => {
    const folder = path.join(shortTmp(), "open");
    fs.mkdirSync(folder);
    fs.chmodSync(folder, 0o770);
    const client = new CreddClient({ socketPath: path.join(folder, "credd.sock") });
    const error = await rejection(client.status());
    assert.ok(error instanceof ForbiddenError);
    assert.match(error.message, /may be written by other users \(mode 0770\); run `chmod 700/);
    client.close();
  });
});

describe("the socket file (lstat: Node cannot read the peer's uid)", () => {
  // A listener that counts connections: a refused socket must never be connected to.
  async function countingDaemon() {
    const seen = { connections: 0 };
    const socketPath = await fakeDaemon((socket) => {
      seen.connections += 1;
      onRequests(() => jsonAnswer(200, { credentials: [] }))(socket);
    });
    return { socketPath, seen };
  }
  test("a socket others may open is refused before connecting", async () => {
    const { socketPath, seen } = await countingDaemon();
    fs.chmodSync(socketPath, 0o666);
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.list());
    assert.ok(error instanceof ForbiddenError, String(error));
    assert.match(error.message, /may be opened by other users \(mode 0666\)/);
    assert.equal(seen.connections, 0);
    fs.chmodSync(socketPath, 0o600);
    assert.deepEqual(await client.list(), []);
    assert.equal(seen.connections, 1);
    client.close();
  });
  test("a socket of another uid is refused, unless CREDD_DAEMON_UID names it", async () => {
    const { socketPath, seen } = await countingDaemon();
    fs.chownSync(socketPath, 65534, 65534);
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.list());
    assert.ok(error instanceof ForbiddenError, String(error));
    assert.match(error.message, /the socket .* belongs to uid 65534, not to you/);
    assert.equal(seen.connections, 0);
    client.close();
    await checkSocketFile(socketPath, { CREDD_DAEMON_UID: "65534" });
    // A view's ACL for a container's user shows as group bits: admitted only with the uid named.
    fs.chmodSync(socketPath, 0o660);
    await checkSocketFile(socketPath, { CREDD_DAEMON_UID: "65534" });
    fs.chownSync(socketPath, uid, uid);
    assert.ok((await rejection(checkSocketFile(socketPath, {}))) instanceof ForbiddenError);
    fs.chmodSync(socketPath, 0o604);
    assert.ok((await rejection(checkSocketFile(socketPath, { CREDD_DAEMON_UID: "65534" }))) instanceof ForbiddenError);
  });
  test("a symbolic link or a plain file is not a socket", async () => {
    const { socketPath, seen } = await countingDaemon();
    const folder = shortTmp();
    const link = path.join(folder, "credd.sock");
    fs.symlinkSync(socketPath, link);
    const client = new CreddClient({ socketPath: link });
    const error = await rejection(client.list());
    assert.ok(error instanceof ForbiddenError, String(error));
    assert.match(error.message, /is not a socket \(a symbolic link\)/);
    assert.equal(seen.connections, 0);
    client.close();
    const file = path.join(folder, "file.sock");
    fs.writeFileSync(file, "", { mode: 0o600 });
    const plain = await rejection(checkSocketFile(file, {}));
    assert.match(plain.message, /is not a socket; refusing/);
  });
});

describe("Prefer: wait", () => {
  test("every request says how long the call waits: floor(timeout - 2 s), at least 0", async () => {
    for (const [timeoutMs, wait] of [[10000, "wait=8"], [3999, "wait=1"], [2500, "wait=0"], [1000, "wait=0"]]) {
      const seen = [];
      const socketPath = await fakeDaemon(
        onRequests((request) => {
          seen.push(request);
          return jsonAnswer(200, { credentials: [] });
        }),
      );
      const client = new CreddClient({ socketPath, timeoutMs });
      await client.list();
      await rejection(client.get("x"));
      client.close();
      assert.equal(seen.length, 2);
      for (const request of seen) {
        assert.match(request, new RegExp(`\\r\\nprefer: ${wait}\\r\\n`, "i"), request);
      }
    }
  });
});

describe("a daemon that is down", () => {
  test("no folder, no socket", async () => {
    const client = new CreddClient({ socketPath: path.join(shortTmp(), "none", "credd.sock") });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof DaemonUnavailableError, String(error));
    assert.equal(error.code, "daemon_unavailable");
    assert.match(error.message, /no daemon answers on .*; start one with `credd serve`/);
    client.close();
  });
  test("a socket file nobody listens on (connection refused)", async () => {
    const socketFile = path.join(shortTmp(), "credd.sock");
    const net = await import("node:net");
    const server = net.createServer();
    await new Promise((resolve) => server.listen(socketFile, resolve));
    // Closing unlinks the file; put a dead socket file back by binding and abandoning one.
    await new Promise((resolve) => server.close(resolve));
    const { execFileSync } = await import("node:child_process");
    execFileSync("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", socketFile]);
    fs.chmodSync(socketFile, 0o600);
    const client = new CreddClient({ socketPath: socketFile });
    const error = await rejection(client.list());
    assert.ok(error instanceof DaemonUnavailableError, String(error));
    client.close();
  });
});

describe("a listener that misbehaves", () => {
  test("garbage instead of HTTP is a ProtocolError", async () => {
    const socketPath = await fakeDaemon(onRequests(() => "s3cr3t-garbage\r\n\r\n"));
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError, String(error));
    assert.equal(error.code, "protocol_error");
    assert.doesNotMatch(error.message, /s3cr3t/);
    client.close();
  });
  test("closing in the middle of the body is a ProtocolError", async () => {
    const socketPath = await fakeDaemon(
      onRequests((_, __, socket) => {
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 400\r\n\r\n{"secret": "s3cr3t');
        return null;
      }),
    );
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, /cut short/);
    assert.doesNotMatch(error.message, /s3cr3t/);
    client.close();
  });
  test("closing in the middle of the headers is a ProtocolError", async () => {
    const socketPath = await fakeDaemon(
      onRequests((_, __, socket) => {
        socket.end("HTTP/1.1 200 OK\r\ncontent-le");
        return null;
      }),
    );
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError, String(error));
    assert.match(error.message, /malformed answer from the daemon: an answer cut short/);
    client.close();
  });
  test("closing without answering is DaemonUnavailableError", async () => {
    const socketPath = await fakeDaemon(
      onRequests((_, __, socket) => {
        socket.destroy();
        return null;
      }),
    );
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof DaemonUnavailableError, String(error));
    assert.match(error.message, /closed the connection without answering/);
    client.close();
  });
  test("a 200 whose body is not JSON is a ProtocolError", async () => {
    const socketPath = await fakeDaemon(
      onRequests(() => "HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\ns3cr3t-text!"),
    );
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError, String(error));
    assert.doesNotMatch(error.message, /s3cr3t/);
    client.close();
  });
  test("a credential of the wrong shape is a ProtocolError naming the field", async () => {
    const socketPath = await fakeDaemon(onRequests(() => jsonAnswer(200, { ...CREDENTIAL, secret: 5 })));
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError);
    assert.match(error.message, /'secret' is not a string/);
    client.close();
  });
  test("an error answer without the envelope is a ProtocolError with the status", async () => {
    const socketPath = await fakeDaemon(onRequests(() => jsonAnswer(502, { detail: "s3cr3t" })));
    const client = new CreddClient({ socketPath });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof ProtocolError);
    assert.equal(error.status, 502);
    assert.match(error.message, /HTTP 502/);
    assert.doesNotMatch(error.message, /s3cr3t/);
    client.close();
  });
  test("silence past the timeout is DaemonTimeoutError, and the client works on after", async () => {
    let silent = true;
    const socketPath = await fakeDaemon(onRequests(() => (silent ? null : jsonAnswer(200, CREDENTIAL))));
    const client = new CreddClient({ socketPath, timeoutMs: 300 });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof DaemonTimeoutError, String(error));
    assert.equal(error.code, "daemon_timeout");
    assert.match(error.message, /^credd did not answer within 0\.3 s/);
    silent = false;
    assert.equal((await client.get("x")).secret, "s3cr3t-value");
    client.close();
  });
  test("an answer that stops after its headers times out too", async () => {
    const socketPath = await fakeDaemon(
      onRequests(() => "HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{"),
    );
    const client = new CreddClient({ socketPath, timeoutMs: 300 });
    const error = await rejection(client.get("x"));
    assert.ok(error instanceof DaemonTimeoutError, String(error));
    client.close();
  });
  test("an aborted signal abandons a call waiting for its answer", async () => {
    const socketPath = await fakeDaemon(onRequests(() => null));
    const client = new CreddClient({ socketPath, timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = client.get("x", { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await rejection(pending);
    assert.equal(error.name, "AbortError");
    const already = await rejection(client.status({ signal: AbortSignal.abort() }));
    assert.equal(already.name, "AbortError");
    client.close();
  });
  test("a timeout that setTimeout cannot keep is refused", () => {
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
      assert.throws(() => new CreddClient({ socketPath: "/x", timeoutMs }), RangeError);
    }
  });
  test("an answer that comes late but within the timeout is taken", async () => {
    const socketPath = await fakeDaemon(
      onRequests((_, __, socket) => {
        setTimeout(() => socket.write(jsonAnswer(200, CREDENTIAL)), 200);
        return null;
      }),
    );
    const client = new CreddClient({ socketPath, timeoutMs: 5000 });
    assert.equal((await client.get("x")).secret, "s3cr3t-value");
    client.close();
  });
  test("a kept-alive connection closed by the daemon is replaced, the request sent again", async () => {
    let connections = 0;
    const socketPath = await fakeDaemon((socket) => {
      const connection = ++connections;
      onRequests((_, index) => {
        if (connection === 1 && index === 1) {
          socket.destroy(); // as a daemon's idle timeout would, just as the request arrives
          return null;
        }
        return jsonAnswer(200, CREDENTIAL);
      })(socket);
    });
    const client = new CreddClient({ socketPath });
    await client.get("x");
    assert.equal((await client.get("x")).name, "n");
    assert.equal(connections, 2);
    client.close();
  });
});

describe("errors", () => {
  const codes = JSON.parse(process.env.CREDD_TEST_ERROR_CODES ?? "[]");
  test("every wire code of the API becomes its typed error", { skip: codes.length === 0 }, async () => {
    let next = "";
    const socketPath = await fakeDaemon(
      onRequests(() => jsonAnswer(400, { error: { code: next, message: `about ${next}` } })),
    );
    const client = new CreddClient({ socketPath });
    const expected = JSON.parse(process.env.CREDD_TEST_ERROR_CLASSES ?? "{}");
    for (const code of codes) {
      next = code;
      const error = await rejection(client.get("x"));
      assert.ok(error instanceof CreddError);
      assert.equal(error.code, code);
      assert.equal(error.status, 400);
      assert.equal(error.message, `about ${code}`);
      assert.equal(error.name, expected[code], code);
      assert.ok(error.name !== "CreddError", `${code} has no class of its own`);
    }
    client.close();
  });
  test("an unknown code is a plain CreddError carrying it", () => {
    const error = errorForCode("brand_new", "m", 418);
    assert.equal(error.constructor, CreddError);
    assert.equal(error.code, "brand_new");
    assert.ok(errorForCode("not_found", "m") instanceof NotFoundError);
  });
  test("an empty name or invalid Unicode is refused before sending", async () => {
    const client = new CreddClient({ socketPath: "/nonexistent/credd.sock" });
    assert.ok((await rejection(client.get(""))) instanceof InvalidRequestError);
    assert.ok((await rejection(client.get("a\ud800b"))) instanceof InvalidRequestError);
    client.close();
  });
});

test("names are percent-encoded as the Python client does", () => {
  assert.equal(encodePathSegment("a/b %c!*'()~._-"), "a%2Fb%20%25c%21%2A%27%28%29~._-");
  assert.equal(encodePathSegment(".."), "%2E%2E");
  assert.equal(encodePathSegment("é"), "%C3%A9");
});

test("a credential's secrets stay out of console.log", async () => {
  const socketPath = await fakeDaemon(onRequests(() => jsonAnswer(200, { ...CREDENTIAL, refresh_token: "r3fresh" })));
  const client = new CreddClient({ socketPath });
  const credential = await client.get("x");
  const { inspect } = await import("node:util");
  const shown = inspect(credential);
  assert.doesNotMatch(shown, /s3cr3t|r3fresh/);
  assert.match(shown, /secret: '<hidden>'/);
  assert.equal(credential.secret, "s3cr3t-value");
  assert.equal(JSON.parse(JSON.stringify(credential)).secret, "s3cr3t-value");
  client.close();
});
