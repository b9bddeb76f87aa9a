package dev.credd.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.ClosedSelectorException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The daemon's change events, kept flowing across daemon restarts ({@link CreddClient#watch}).
 *
 * <pre>{@code
 * try (Watch watch = credd.watch(List.of("work"), "exec")) {
 *     for (WatchEvent event = watch.next(); event != null; event = watch.next()) { ... }
 * }
 * }</pre>
 *
 * <p>The daemon sends a heartbeat about every {@link #HEARTBEAT}; three missed in a row mean the
 * connection is lost, whatever the client's timeout. A lost connection (a restart, a stop, a
 * silence) is opened again, and then, as after an {@code unlocked} event, the watch catches up
 * by versions: it lists the credentials and reports {@code changed} for each whose version moved
 * and {@code deleted} for each that vanished. Events are never replayed; a version already seen
 * is not reported twice. {@link #close()} may be called from another thread: {@link #next()}
 * then returns null.
 */
public final class Watch implements AutoCloseable {
    /** How often the daemon sends a heartbeat. */
    public static final Duration HEARTBEAT = Duration.ofSeconds(5);

    private static final int MISSED_HEARTBEATS = 3;
    private static final long FIRST_RETRY_MILLIS = 50;
    private static final long LONGEST_RETRY_MILLIS = 2000;
    private static final Set<String> TYPES =
            Set.of("changed", "deleted", "refreshed", "locked", "unlocked");

    private final CreddClient client;
    private final Set<String> wanted;
    private final String target;
    private final Deque<WatchEvent> ready = new ArrayDeque<>();
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private Map<String, Long> known;
    private volatile Connection connection;
    private volatile boolean closed;
    private long retryMillis = FIRST_RETRY_MILLIS;
    private String kind;
    private String data;

    Watch(CreddClient client, List<String> names, String holder) {
        this.client = client;
        this.wanted = names == null ? null : Set.copyOf(names);
        List<String> query = new ArrayList<>();
        for (String name : names == null ? List.<String>of() : new TreeSet<>(names)) {
            query.add("name=" + CreddClient.encodeSegment(name));
        }
        if (holder != null) {
            query.add("holder=" + CreddClient.encodeSegment(holder));
        }
        this.target = "/v1/events" + (query.isEmpty() ? "" : "?" + String.join("&", query));
    }

    /**
     * Blocks until the next event.
     *
     * @return the event, or null once the watch is closed
     * @throws CreddException when the daemon refuses the watch (a bad name, a view that is gone)
     */
    public WatchEvent next() {
        while (true) {
            if (!ready.isEmpty()) {
                return ready.poll();
            }
            if (closed) {
                return null;
            }
            try {
                Connection open = connection;
                if (open == null) {
                    connect();
                    continue;
                }
                long deadline = System.nanoTime() + HEARTBEAT.toNanos() * MISSED_HEARTBEATS;
                byte[] chunk = open.nextChunk(deadline);
                if (chunk == null) {
                    throw new IOException("the daemon ended the event stream");
                }
                parse(chunk);
            } catch (IOException | DaemonUnavailableException | DaemonTimeoutException
                    | ProtocolException | ClosedSelectorException lost) {
                // ClosedSelectorException: close() from another thread, under a blocked read
                if (lost instanceof ProtocolException && connection == null) {
                    throw (ProtocolException) lost; // not the daemon's answer at all
                }
                drop();
                pause();
            }
        }
    }

    /** Ends the watch; {@link #next()}, blocked or not, returns null. */
    @Override
    public void close() {
        closed = true;
        drop();
    }

    private void connect() {
        connection = client.openEvents(target);
        if (closed) {
            drop();
            return;
        }
        Map<String, Long> current = versions();
        if (known == null) {
            known = current;
        } else {
            catchUp(current);
        }
        retryMillis = FIRST_RETRY_MILLIS;
    }

    private void drop() {
        Connection open = connection;
        connection = null;
        if (open != null) {
            open.close();
        }
    }

    private void pause() {
        if (closed) {
            return;
        }
        try {
            Thread.sleep(retryMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
        retryMillis = Math.min(retryMillis * 2, LONGEST_RETRY_MILLIS);
    }

    /** Every watched credential's version; null while the daemon is locked. */
    private Map<String, Long> versions() {
        List<Credential> listed;
        try {
            listed = client.list();
        } catch (LockedException e) {
            return null;
        }
        Map<String, Long> current = new HashMap<>();
        for (Credential credential : listed) {
            if (wanted == null || wanted.contains(credential.name())) {
                current.put(credential.name(), credential.version() == null ? 1L : credential.version());
            }
        }
        return current;
    }

    private void catchUp(Map<String, Long> current) {
        if (current == null || known == null) {
            known = known == null ? current : known;
            return;
        }
        for (Map.Entry<String, Long> entry : new TreeMap<>(current).entrySet()) {
            if (!entry.getValue().equals(known.get(entry.getKey()))) {
                report(new WatchEvent("changed", entry.getKey(), entry.getValue()));
            }
        }
        for (Map.Entry<String, Long> entry : new TreeMap<>(known).entrySet()) {
            if (!current.containsKey(entry.getKey())) {
                report(new WatchEvent("deleted", entry.getKey(), entry.getValue()));
            }
        }
    }

    private void report(WatchEvent event) {
        if (known != null && event.name() != null) {
            if (event.type().equals("deleted")) {
                known.remove(event.name());
            } else {
                known.put(event.name(), event.version());
            }
        }
        ready.add(event);
    }

    /** Feeds a chunk of {@code text/event-stream}; whole events join the queue. */
    private void parse(byte[] chunk) {
        for (byte b : chunk) {
            if (b != '\n') {
                line.write(b);
                continue;
            }
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (text.endsWith("\r")) {
                text = text.substring(0, text.length() - 1);
            }
            if (text.startsWith(":")) {
                continue; // a heartbeat
            }
            if (!text.isEmpty()) {
                int colon = text.indexOf(':');
                String field = colon < 0 ? text : text.substring(0, colon);
                String value = colon < 0 ? "" : text.substring(colon + 1);
                value = value.startsWith(" ") ? value.substring(1) : value;
                if (field.equals("event")) {
                    kind = value;
                } else if (field.equals("data")) {
                    data = value;
                }
                continue;
            }
            if (kind != null && data != null && TYPES.contains(kind)) {
                dispatch(kind, data);
            }
            kind = null;
            data = null;
        }
    }

    private void dispatch(String type, String json) {
        JsonObject document = JsonObject.of("an event", Json.parse(json));
        WatchEvent event = new WatchEvent(type, document.text("name"), document.optionalLong("version"));
        if (type.equals("unlocked")) {
            ready.add(event);
            catchUp(versions());
            return;
        }
        if (known != null && event.name() != null) {
            boolean seen = known.containsKey(event.name());
            boolean fresh = type.equals("deleted") ? seen
                    : !seen || !known.get(event.name()).equals(event.version());
            if (!fresh) {
                return;
            }
        }
        report(event);
    }
}
