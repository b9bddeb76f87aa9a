package dev.credd.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The client's part of tests/support/watch_scenario.py, against the real daemon that
 * tests/clients/test_jvm.py stops and starts again meanwhile: live events, a restart while
 * the store changes, then the catch-up by versions.
 */
public final class WatchTests {
    public void testWatchResumesAfterARestartAndCatchesUp() throws Exception {
        Path ready = Path.of(Check.env("CREDD_TEST_WATCH_READY"));
        ExecutorService reader = Executors.newSingleThreadExecutor();
        CreddClient credd = CreddClient.create();
        Watch watch = credd.watch(List.of("w/kept", "w/moved", "w/gone", "w/new"), "exec");
        try {
            for (String name : List.of("w/kept", "w/moved", "w/gone")) {
                credd.set(name, "1");
            }
            // The watch connects on its first next(); until then a change may come before it:
            // set again until the one pending next() answers.
            Future<WatchEvent> pending = reader.submit(watch::next);
            WatchEvent first = null;
            for (int round = 2; first == null; round++) {
                credd.set("w/kept", Integer.toString(round));
                try {
                    first = pending.get(2, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    // not connected yet: another round
                }
            }
            Check.equal("changed", first.type());
            Check.equal("w/kept", first.name());
            Files.writeString(ready, "ready");
            Set<WatchEvent> caught = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                caught.add(reader.submit(watch::next).get(90, TimeUnit.SECONDS));
            }
            Check.equal(Set.of(new WatchEvent("changed", "w/moved", 2L),
                    new WatchEvent("deleted", "w/gone", 1L),
                    new WatchEvent("changed", "w/new", 1L)), caught);
            Credential kept = credd.set("w/kept", "again");
            Check.equal(new WatchEvent("changed", "w/kept", kept.version()),
                    reader.submit(watch::next).get(30, TimeUnit.SECONDS));
            Future<WatchEvent> blocked = reader.submit(watch::next);
            watch.close(); // from another thread: the blocked next() returns null
            Check.equal(null, blocked.get(10, TimeUnit.SECONDS));
        } finally {
            watch.close();
            credd.close();
            reader.shutdownNow();
        }
    }
}
