package dev.credd.client;

import java.time.Instant;
import java.util.List;

/**
 * An open change-event stream, in {@link Status} ({@code WatcherStatus}): a {@code credd exec}
 * or {@code credd render} declares what it holds.
 *
 * @param pid the watching process (the socket's peer), or null when unknown
 * @param exe its executable, or null when unknown
 * @param holder what it declared it is ({@code exec}, {@code render}), or null
 * @param names the credentials it holds; empty: every one
 * @param view the view it watches through, or null on the main socket
 * @param since when it started watching
 */
public record WatcherStatus(
        Long pid, String exe, String holder, List<String> names, String view, Instant since) {
    static WatcherStatus fromJson(JsonObject json) {
        return new WatcherStatus(json.optionalLong("pid"), json.text("exe"), json.text("holder"),
                json.texts("names"), json.text("view"), json.instant("since"));
    }
}
