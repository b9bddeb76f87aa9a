// Run by tests/clients/test_typescript.py with a daemon started without CREDD_SOCKET: the client
// must find it as the daemon placed it, from XDG_RUNTIME_DIR and CREDD_HOME's hashed name.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CreddClient, socketPath } from "../dist/index.js";

const expected = process.env.CREDD_TEST_EXPECTED_SOCKET;

test("a daemon found from the environment alone", { skip: !expected && "needs the test's daemon" }, async () => {
  assert.equal(process.env.CREDD_SOCKET, undefined);
  assert.ok(process.env.CREDD_HOME);
  assert.equal(socketPath(), expected);
  const client = new CreddClient();
  try {
    const status = await client.status();
    assert.equal(status.socket, expected);
    await client.set("found", { secret: "by discovery" });
    assert.equal((await client.get("found")).secret, "by discovery");
  } finally {
    client.close();
  }
});
