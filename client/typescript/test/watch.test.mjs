// The client's part of tests/support/watch_scenario.py, against the real daemon that
// tests/clients/test_typescript.py stops and starts again meanwhile: live events, a restart
// while the store changes, then the catch-up by versions.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";

import { CreddClient } from "../dist/index.js";

const ready = process.env.CREDD_TEST_WATCH_READY;
const skip = !ready && "needs tests/clients/test_typescript.py (it restarts the daemon)";

test("watch resumes after a restart and catches up by versions", { skip, timeout: 100_000 }, async () => {
  const client = new CreddClient();
  const abort = new AbortController();
  try {
    for (const name of ["w/kept", "w/moved", "w/gone"]) {
      await client.set(name, { secret: "1" });
    }
    const events = client.watch({
      names: ["w/kept", "w/moved", "w/gone", "w/new"],
      holder: "exec",
      signal: abort.signal,
    });
    const next = async () => {
      const { value, done } = await events.next();
      assert.equal(done, false, "the watch ended");
      return value;
    };
    // The generator connects on the first next(); until it is connected a change may come
    // before it: set again until the one pending next() answers.
    const pending = next();
    let first;
    for (let round = 2; first === undefined; round++) {
      await client.set("w/kept", { secret: String(round) });
      first = await Promise.race([pending, new Promise((r) => setTimeout(r, 2000))]);
    }
    assert.equal(first.type, "changed");
    assert.equal(first.name, "w/kept");
    fs.writeFileSync(ready, "ready", { mode: 0o600 });
    const caught = [await next(), await next(), await next()].map((e) => JSON.stringify(e));
    for (const want of [
      { type: "changed", name: "w/moved", version: 2 },
      { type: "deleted", name: "w/gone", version: 1 },
      { type: "changed", name: "w/new", version: 1 },
    ]) {
      assert.ok(caught.includes(JSON.stringify(want)), `${caught} lacks ${JSON.stringify(want)}`);
    }
    const kept = await client.set("w/kept", { secret: "again" });
    assert.deepEqual(await next(), { type: "changed", name: "w/kept", version: kept.version });
    abort.abort();
    assert.deepEqual(await events.next(), { value: undefined, done: true });
  } finally {
    abort.abort();
    client.close();
  }
});
