package dev.credd.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The daemon's health, from {@code GET /v1/status} ({@code StatusOut}).
 *
 * @param pid the daemon's process id
 * @param version the daemon's version
 * @param startedAt when it started
 * @param uptimeSeconds how long it has run
 * @param socket the socket it listens on; null through a view
 * @param store the store file's state; null through a view, which is told nothing of it
 * @param keyBackend where the store key comes from; null through a view
 * @param locked whether it holds no key
 * @param lockReason why it is locked, or null
 * @param lockAfter the idle lock in seconds, or null
 * @param locksAt when the idle lock falls, or null
 * @param credentials the counts of credentials
 * @param oauth the background refresher's summary
 * @param views the views open (on the main socket), empty where the daemon has none
 * @param view the view this client talks through, or null on the main socket
 * @param programs whether the daemon can identify its clients' programs, or null from an
 *     older daemon
 * @param aws the aws credentials' STS sessions, summarised as {@code oauth} is, or null from
 *     an older daemon
 * @param watchers the open change-event streams (on the main socket), empty through a view
 */
public record Status(
        long pid,
        String version,
        Instant startedAt,
        double uptimeSeconds,
        String socket,
        StoreStatus store,
        KeyBackendStatus keyBackend,
        boolean locked,
        String lockReason,
        Double lockAfter,
        Instant locksAt,
        CredentialCounts credentials,
        OAuthSummary oauth,
        List<ViewStatus> views,
        ViewStatus view,
        ProgramIdentity programs,
        // AWS (issue 21)
        OAuthSummary aws,
        // Change events (issue 22)
        List<WatcherStatus> watchers) {

    static Status fromJson(JsonObject json) {
        List<ViewStatus> views = new ArrayList<>();
        for (JsonObject item : json.objects("views")) {
            views.add(ViewStatus.fromJson(item));
        }
        JsonObject view = json.optionalObject("view");
        JsonObject programs = json.optionalObject("programs");
        JsonObject store = json.optionalObject("store"); // null through a view
        JsonObject keyBackend = json.optionalObject("key_backend");
        JsonObject aws = json.optionalObject("aws");
        List<WatcherStatus> watchers = new ArrayList<>();
        for (JsonObject item : json.objects("watchers")) {
            watchers.add(WatcherStatus.fromJson(item));
        }
        return new Status(
                json.requiredLong("pid"),
                json.requiredText("version"),
                json.requiredInstant("started_at"),
                json.requiredDouble("uptime_seconds"),
                json.text("socket"),
                store == null ? null : StoreStatus.fromJson(store),
                keyBackend == null ? null : KeyBackendStatus.fromJson(keyBackend),
                json.bool("locked"),
                json.text("lock_reason"),
                json.optionalDouble("lock_after"),
                json.instant("locks_at"),
                CredentialCounts.fromJson(json.object("credentials")),
                OAuthSummary.fromJson(json.object("oauth")),
                Collections.unmodifiableList(views),
                view == null ? null : ViewStatus.fromJson(view),
                programs == null ? null : ProgramIdentity.fromJson(programs),
                aws == null ? null : OAuthSummary.fromJson(aws),
                Collections.unmodifiableList(watchers));
    }
}
