// Run by tests/clients/test_typescript.py after `credd login` against the project's real OAuth
// server: the client refreshes the oauth2 credential and gets the new access token.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CreddClient } from "../dist/index.js";

const name = process.env.CREDD_TEST_OAUTH_NAME;

test("an oauth2 credential refreshed through the client", { skip: !name && "needs the test's login" }, async () => {
  const client = new CreddClient();
  try {
    const before = await client.get(name, { include: ["refresh_token", "client_secret"] });
    assert.equal(before.kind, "oauth2");
    assert.equal(before.status, "ok");
    assert.ok(before.refresh_token);
    assert.ok(before.client_secret);
    assert.ok(before.token_endpoint.startsWith("http://127.0.0.1:"));
    const refreshed = await client.refresh(name);
    assert.ok(refreshed.secret);
    assert.notEqual(refreshed.secret, before.secret);
    assert.equal(refreshed.status, "ok");
    assert.ok(Date.parse(refreshed.expires_at) > Date.now());
    assert.equal(refreshed.refresh_token, undefined, "only given when asked for");
    assert.equal((await client.get(name)).secret, refreshed.secret);
  } finally {
    client.close();
  }
});

