// Run by tests/clients/test_typescript.py with a real daemon, which this suite stops: a client
// whose kept-alive connection outlives the daemon gets DaemonUnavailableError, not a hang.

import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";

import { CreddClient, DaemonUnavailableError } from "../dist/index.js";

test("a daemon stopped between two calls gives DaemonUnavailableError", { skip: !process.env.CREDD_TEST_DAEMON && "needs the test's daemon" }, async () => {
  const client = new CreddClient();
  try {
    await client.set("before", { secret: "s" });
    const { pid } = await client.status();
    process.kill(pid, "SIGTERM");
    let error;
    for (let tries = 0; tries < 600 && error === undefined; tries++) {
      try {
        await client.status(); // answered while the daemon shuts down
        await sleep(50);
      } catch (caught) {
        error = caught;
      }
    }
    assert.ok(error instanceof DaemonUnavailableError, String(error));
    assert.match(error.message, /no daemon answers on|closed the connection without answering/);
  } finally {
    client.close();
  }
});
