// Against the real daemon (tests/clients/test_typescript.py starts it with the real keyring and
// sets CREDD_SOCKET): every call round-trips, odd names too, and the daemon's errors arrive typed.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import {
  CreddClient,
  InvalidRequestError,
  LockedError,
  NeedsLoginError,
  NotFoundError,
  PayloadTooLargeError,
} from "../dist/index.js";
import { rawRequest } from "./support.mjs";

const socketPath = process.env.CREDD_SOCKET;
const skip = !process.env.CREDD_TEST_DAEMON && "needs the daemon of tests/clients/test_typescript.py";

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("the call succeeded");
}

describe("the real daemon", { skip }, () => {
  const client = new CreddClient();
  after(() => client.close());

  test("the client finds the socket from CREDD_SOCKET", () => {
    assert.equal(client.socketPath, socketPath);
  });

  test("set, get, list, delete round-trip", async () => {
    const stored = await client.set("ts/round-trip", {
      secret: "s3cr3t",
      username: "me",
      labels: { host: "example.org", "odd key": "é" },
    });
    assert.equal(stored.name, "ts/round-trip");
    assert.equal(stored.kind, "secret");
    assert.equal(stored.username, "me");
    assert.deepEqual(stored.labels, { host: "example.org", "odd key": "é" });
    assert.equal(stored.secret, undefined, "set answers metadata only");
    assert.match(stored.created_at, /^\d{4}-\d\d-\d\dT/);

    const got = await client.get("ts/round-trip");
    assert.equal(got.secret, "s3cr3t");
    assert.equal(got.username, "me");
    assert.deepEqual(got.allowed_programs, []);

    const listed = await client.list();
    const entry = listed.find((c) => c.name === "ts/round-trip");
    assert.ok(entry);
    assert.equal(entry.secret, undefined, "a list holds no secret");

    await client.set("ts/round-trip", { secret: "changed" });
    assert.equal((await client.get("ts/round-trip")).secret, "changed");

    await client.delete("ts/round-trip");
    assert.ok((await rejection(client.get("ts/round-trip"))) instanceof NotFoundError);
    const again = await rejection(client.delete("ts/round-trip"));
    assert.ok(again instanceof NotFoundError);
    assert.equal(again.code, "not_found");
    assert.equal(again.status, 404);
  });

  test("concurrent calls on one client share its kept-alive connections", async () => {
    await client.set("ts/concurrent", { secret: "many" });
    const answers = await Promise.all(Array.from({ length: 50 }, () => client.get("ts/concurrent")));
    assert.ok(answers.every((c) => c.secret === "many"));
    await client.delete("ts/concurrent");
  });

  test("status reports the daemon", async () => {
    const status = await client.status();
    assert.equal(typeof status.pid, "number");
    assert.equal(status.socket, socketPath);
    assert.equal(status.locked, false);
    assert.equal(typeof status.version, "string");
    assert.equal(typeof status.store.path, "string");
    assert.equal(typeof status.key_backend.insecure, "boolean");
    assert.ok(Array.isArray(status.oauth.failures));
    assert.equal(typeof status.credentials.by_kind, "object");
  });

  test("odd names round-trip: slashes, %, unicode, 256 characters", async () => {
    const names = [
      "a/b/c",
      "/leading/and/trailing/",
      "100% %2F%25 done",
      "spaces and ?query=1#fragment",
      "clé 🔑 名前",
      "..",
      ".",
      "x".repeat(255) + "é",
      "🔑".repeat(256),
      "!*'()~;:@&=+$,",
    ];
    for (const name of names) {
      await client.set(name, { secret: `secret of ${name}` });
      const got = await client.get(name);
      assert.equal(got.name, name);
      assert.equal(got.secret, `secret of ${name}`);
    }
    const listed = new Set((await client.list()).map((c) => c.name));
    for (const name of names) {
      assert.ok(listed.has(name), name);
      await client.delete(name);
    }
  });

  test("a name over 256 characters or with a control character is invalid_request", async () => {
    for (const name of ["x".repeat(257), "tab\there"]) {
      const error = await rejection(client.set(name, { secret: "s" }));
      assert.ok(error instanceof InvalidRequestError, String(error));
      assert.equal(error.code, "invalid_request");
      assert.equal(error.status, 400);
    }
  });

  test("a body over the daemon's limit is payload_too_large", async () => {
    const error = await rejection(client.set("big", { secret: "x".repeat(2 * 1024 * 1024) }));
    assert.ok(error instanceof PayloadTooLargeError, String(error));
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.code, "payload_too_large");
    assert.equal(error.status, 413);
  });

  test("a locked daemon answers locked", async () => {
    await client.set("ts/locked", { secret: "s" });
    assert.equal(await rawRequest(socketPath, "POST", "/v1/lock"), 200);
    try {
      const error = await rejection(client.get("ts/locked"));
      assert.ok(error instanceof LockedError, String(error));
      assert.equal(error.code, "locked");
      assert.equal((await client.status()).locked, true);
    } finally {
      assert.equal(await rawRequest(socketPath, "POST", "/v1/unlock"), 200);
    }
    assert.equal((await client.get("ts/locked")).secret, "s");
    await client.delete("ts/locked");
  });

  test("an expired oauth2 credential without a refresh token needs login", async () => {
    await client.set("ts/expired", {
      kind: "oauth2",
      secret: "old-access-token",
      token_endpoint: "http://127.0.0.1:9/token",
      client_id: "client",
      expires_at: "2020-01-01T00:00:00Z",
    });
    const error = await rejection(client.get("ts/expired"));
    assert.ok(error instanceof NeedsLoginError, String(error));
    assert.equal(error.code, "needs_login");
    assert.doesNotMatch(error.message, /old-access-token/);
    await client.delete("ts/expired");
  });

  test("refreshing a plain secret is refused with a typed error", async () => {
    await client.set("ts/plain", { secret: "s" });
    const error = await rejection(client.refresh("ts/plain"));
    assert.ok(error instanceof InvalidRequestError, String(error));
    await client.delete("ts/plain");
    assert.ok((await rejection(client.refresh("ts/absent"))) instanceof NotFoundError);
  });
});
