package dev.credd.client;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The credd daemon's API as Java calls: read, store and delete credentials over the daemon's
 * Unix socket, found and checked as every credd client does.
 *
 * <pre>{@code
 * try (CreddClient credd = CreddClient.create()) {
 *     String token = credd.get("github").secret();
 * }
 * }</pre>
 *
 * <p>The socket comes from the environment ({@code CREDD_SOCKET}, {@code CREDD_HOME},
 * {@code XDG_RUNTIME_DIR}, else {@code /tmp/credd-<uid>}: {@link SocketPaths}). Before a byte is
 * sent, the socket's folder must be the user's own and the daemon must run as the user (or as
 * {@code CREDD_DAEMON_UID} when set, for a view bound into a container: then the folder may
 * also be that uid's or root's). Each call is bounded by
 * the client's timeout; a daemon that does not answer in time gives a
 * {@link DaemonTimeoutException}, no daemon at all a {@link DaemonUnavailableException}, and an
 * error answer the {@link CreddException} subclass of its wire code.
 *
 * <p>Thread-safe: connections are kept alive between calls in a small pool, one per call in
 * flight. The {@code ...Async} variants run the same calls on the client's executor.
 */
public final class CreddClient implements AutoCloseable {
    /** The timeout of every call unless the builder sets another. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private static final byte[] UNRESERVED =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
                    .getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_IDLE = 4;

    private static final class SharedExecutor {
        static final ExecutorService INSTANCE = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "credd-client");
            thread.setDaemon(true);
            return thread;
        });
    }

    private final Path socketPath;
    private final Duration timeout;
    private final String timeoutText;
    private final Long daemonUid;
    private final Executor executor;
    private final ConcurrentLinkedDeque<Connection> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    private CreddClient(Builder builder) {
        Map<String, String> env = builder.environment == null ? System.getenv() : builder.environment;
        this.socketPath = builder.socketPath != null ? builder.socketPath : SocketPaths.socketPath(env);
        this.timeout = builder.timeout;
        this.timeoutText = new BigDecimal(timeout.toNanos()).movePointLeft(9).stripTrailingZeros()
                .toPlainString();
        this.daemonUid = builder.daemonUid != null ? builder.daemonUid : SocketPaths.daemonUid(env);
        this.executor = builder.executor != null ? builder.executor : SharedExecutor.INSTANCE;
    }

    /**
     * A client for this user's daemon, its socket found from the environment, with the
     * default timeout.
     *
     * @return a new client (it connects on the first call)
     */
    public static CreddClient create() {
        return builder().build();
    }

    /**
     * A builder to set the socket, the timeout, the environment or the executor.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a {@link CreddClient}; every one is optional. */
    public static final class Builder {
        private Path socketPath;
        private Map<String, String> environment;
        private Duration timeout = DEFAULT_TIMEOUT;
        private Long daemonUid;
        private Executor executor;

        private Builder() {
        }

        /**
         * Talks to this socket instead of the one the environment names.
         *
         * @param path the daemon's socket
         * @return this builder
         */
        public Builder socketPath(Path path) {
            this.socketPath = Objects.requireNonNull(path);
            return this;
        }

        /**
         * Reads {@code CREDD_SOCKET}, {@code CREDD_HOME}, {@code XDG_RUNTIME_DIR} and
         * {@code CREDD_DAEMON_UID} from this map instead of the process's environment.
         *
         * @param env the variables
         * @return this builder
         */
        public Builder environment(Map<String, String> env) {
            this.environment = Map.copyOf(env);
            return this;
        }

        /**
         * Bounds every call (connecting, sending and the whole answer) by this time.
         *
         * @param value a positive duration
         * @return this builder
         */
        public Builder timeout(Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException("the timeout must be positive");
            }
            this.timeout = value;
            return this;
        }

        /**
         * Accepts a daemon running as this uid besides the user's own (as
         * {@code CREDD_DAEMON_UID} does): a view of another user's daemon bound into a container.
         *
         * @param uid the daemon's user id
         * @return this builder
         */
        public Builder daemonUid(long uid) {
            this.daemonUid = uid;
            return this;
        }

        /**
         * Runs the {@code ...Async} calls on this executor instead of the library's own pool of
         * daemon threads.
         *
         * @param value the executor
         * @return this builder
         */
        public Builder executor(Executor value) {
            this.executor = Objects.requireNonNull(value);
            return this;
        }

        /**
         * The client; it connects on its first call.
         *
         * @return a new client
         */
        public CreddClient build() {
            return new CreddClient(this);
        }
    }

    /**
     * This library's version, from its jar's manifest ({@code "unknown"} when run from loose
     * classes); compare it with {@link Status#version()} to tell a daemon of another release.
     *
     * @return the version
     */
    public static String version() {
        String version = CreddClient.class.getPackage().getImplementationVersion();
        return version == null ? "unknown" : version;
    }

    /**
     * The socket this client talks to.
     *
     * @return the socket's path
     */
    public Path socketPath() {
        return socketPath;
    }

    /**
     * The bound of every call.
     *
     * @return the timeout
     */
    public Duration timeout() {
        return timeout;
    }

    // --- the calls ---------------------------------------------------------------------------

    /**
     * The credential with its secret; for oauth2, an access token fresh enough to use.
     *
     * @param name the credential's name
     * @param include fields returned only on request: {@code "refresh_token"},
     *     {@code "client_secret"}
     * @return the credential
     * @throws NotFoundException when there is none by that name
     */
    public Credential get(String name, String... include) {
        String target = credentialPath(name);
        if (include.length > 0) {
            List<String> parts = new ArrayList<>();
            for (String field : include) {
                parts.add(encodeSegment(field));
            }
            target += "?include=" + String.join(",", parts);
        }
        return Credential.fromJson(call("GET", target, null));
    }

    /**
     * Creates or replaces a plain secret (kind {@code secret}).
     *
     * @param name the credential's name
     * @param secret the secret value
     * @return the stored credential's metadata
     */
    public Credential set(String name, String secret) {
        return set(name, CredentialInput.secret(secret));
    }

    /**
     * Creates or replaces a credential.
     *
     * @param name the credential's name
     * @param credential what to store
     * @return the stored credential's metadata
     */
    public Credential set(String name, CredentialInput credential) {
        return Credential.fromJson(call("PUT", credentialPath(name), Json.write(credential.toJson())));
    }

    /**
     * Removes a credential.
     *
     * @param name the credential's name
     * @throws NotFoundException when there is none by that name
     */
    public void delete(String name) {
        send("DELETE", credentialPath(name), null);
    }

    /**
     * Every credential's metadata, without secret values.
     *
     * @return the credentials
     */
    public List<Credential> list() {
        JsonObject answer = call("GET", "/v1/credentials", null);
        List<Credential> out = new ArrayList<>();
        for (JsonObject item : answer.objects("credentials")) {
            out.add(Credential.fromJson(item));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * The daemon's health: pid, version, key backend, lock state, store, counts.
     *
     * @return the status
     */
    public Status status() {
        return Status.fromJson(call("GET", "/v1/status", null));
    }

    /**
     * Refreshes an oauth2 credential's access token now.
     *
     * @param name the credential's name
     * @return the credential with its new access token
     * @throws RefreshFailedException when the issuer refused or could not be reached
     */
    public Credential refresh(String name) {
        return Credential.fromJson(call("POST", credentialPath(name) + "/refresh", null));
    }

    /** Makes the daemon drop its key and every plaintext from memory until {@link #unlock()}. */
    public void lock() {
        send("POST", "/v1/lock", "{}");
    }

    /** Makes the daemon fetch its key again (from the keyring or key file). */
    public void unlock() {
        send("POST", "/v1/unlock", "{}");
    }

    // --- the same, asynchronously ------------------------------------------------------------

    /**
     * {@link #get(String, String...)} on the client's executor.
     *
     * @param name the credential's name
     * @param include fields returned only on request
     * @return the credential, or the exception
     */
    public CompletableFuture<Credential> getAsync(String name, String... include) {
        String[] copy = include.clone();
        return async(() -> get(name, copy));
    }

    /**
     * {@link #set(String, String)} on the client's executor.
     *
     * @param name the credential's name
     * @param secret the secret value
     * @return the stored credential's metadata, or the exception
     */
    public CompletableFuture<Credential> setAsync(String name, String secret) {
        return async(() -> set(name, secret));
    }

    /**
     * {@link #set(String, CredentialInput)} on the client's executor.
     *
     * @param name the credential's name
     * @param credential what to store
     * @return the stored credential's metadata, or the exception
     */
    public CompletableFuture<Credential> setAsync(String name, CredentialInput credential) {
        return async(() -> set(name, credential));
    }

    /**
     * {@link #delete(String)} on the client's executor.
     *
     * @param name the credential's name
     * @return done, or the exception
     */
    public CompletableFuture<Void> deleteAsync(String name) {
        return async(() -> {
            delete(name);
            return null;
        });
    }

    /**
     * {@link #list()} on the client's executor.
     *
     * @return the credentials, or the exception
     */
    public CompletableFuture<List<Credential>> listAsync() {
        return async(this::list);
    }

    /**
     * {@link #status()} on the client's executor.
     *
     * @return the status, or the exception
     */
    public CompletableFuture<Status> statusAsync() {
        return async(this::status);
    }

    /**
     * {@link #refresh(String)} on the client's executor.
     *
     * @param name the credential's name
     * @return the refreshed credential, or the exception
     */
    public CompletableFuture<Credential> refreshAsync(String name) {
        return async(() -> refresh(name));
    }

    private <T> CompletableFuture<T> async(Supplier<T> call) {
        return CompletableFuture.supplyAsync(call, executor);
    }

    /**
     * Closes the kept-alive connections. A later call still works, on a connection of its own
     * that is closed after it.
     */
    @Override
    public void close() {
        closed = true;
        Connection connection;
        while ((connection = idle.poll()) != null) {
            connection.close();
        }
    }

    /**
     * The change events of the named credentials, across daemon restarts; see {@link Watch}.
     *
     * @param names the credentials to watch, or null for every one
     * @param holder what this process is ({@code exec}, {@code render}) for {@code credd status},
     *     or null
     * @return the watch, connected on its first {@link Watch#next()}; close it when done
     */
    public Watch watch(List<String> names, String holder) {
        return new Watch(this, names, holder);
    }

    /** A connection with an open event stream at {@code target}, or the daemon's refusal. */
    Connection openEvents(String target) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Connection connection = Connection.open(socketPath, daemonUid, deadline, timeoutText);
        Connection.Response response;
        try {
            byte[] request = encodeRequest("GET", target, null, preferWait(timeout));
            response = connection.openStream(request, deadline);
        } catch (IOException e) {
            connection.close();
            throw new DaemonUnavailableException("the connection to the daemon on " + socketPath
                    + " broke (" + e.getMessage() + ")", e);
        }
        if (response.status() < 200 || response.status() >= 300) {
            connection.close();
            throw errorFrom(response);
        }
        return connection;
    }

    // --- the exchange ------------------------------------------------------------------------

    private JsonObject call(String method, String target, String body) {
        Connection.Response response = send(method, target, body);
        Object answer;
        try {
            answer = Json.parse(new String(response.body(), StandardCharsets.UTF_8));
        } catch (ProtocolException e) {
            answer = null;
        }
        if (!(answer instanceof Map)) {
            throw new ProtocolException("unexpected answer from the daemon (HTTP "
                    + response.status() + "): not a JSON object");
        }
        return JsonObject.of("the answer", answer);
    }

    private Connection.Response send(String method, String target, String body) {
        byte[] request = encodeRequest(method, target, body, preferWait(timeout));
        long deadline = System.nanoTime() + timeout.toNanos();
        Connection.Response response = exchange(request, method, deadline);
        if (response.status() < 200 || response.status() >= 300) {
            throw errorFrom(response);
        }
        return response;
    }

    private Connection.Response exchange(byte[] request, String method, long deadline) {
        Connection kept = idle.pollFirst();
        if (kept != null) {
            try {
                return release(kept, kept.exchange(request, method, deadline));
            } catch (Connection.StaleConnection e) {
                // closed meanwhile (its idle timeout, a restart): once more on a new connection
            }
        }
        Connection fresh = Connection.open(socketPath, daemonUid, deadline, timeoutText);
        try {
            return release(fresh, fresh.exchange(request, method, deadline));
        } catch (Connection.StaleConnection e) {
            throw new DaemonUnavailableException(
                    "the daemon on " + socketPath + " closed the connection without answering");
        }
    }

    private Connection.Response release(Connection connection, Connection.Response response) {
        if (response.keepAlive() && connection.isOpen() && !closed && idle.size() < MAX_IDLE) {
            idle.push(connection);
        } else {
            connection.close();
        }
        return response;
    }

    /**
     * The Prefer header's value (RFC 7240) telling the daemon how long a call waits for its
     * answer: whole seconds, floor(timeout - 2 s), never below 0, so that the daemon gives up
     * waiting on a slow token endpoint (answering refresh_failed) while the call still listens.
     */
    static String preferWait(Duration timeout) {
        return "wait=" + Math.max(0, timeout.minusSeconds(2).toSeconds());
    }

    private static byte[] encodeRequest(String method, String target, String body, String wait) {
        byte[] payload = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder();
        head.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: localhost\r\n");
        head.append("Prefer: ").append(wait).append("\r\n");
        if (body != null) {
            head.append("Content-Type: application/json\r\n");
        }
        if (body != null || method.equals("POST") || method.equals("PUT")) {
            head.append("Content-Length: ").append(payload.length).append("\r\n");
        }
        head.append("\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(headBytes.length + payload.length).put(headBytes).put(payload).array();
    }

    private static CreddException errorFrom(Connection.Response response) {
        try {
            JsonObject envelope = JsonObject.of("the error", Json.parse(
                    new String(response.body(), StandardCharsets.UTF_8)));
            JsonObject error = envelope.object("error");
            String code = error.requiredText("code");
            String message = error.requiredText("message");
            return CreddException.forCode(code, message, response.status());
        } catch (ProtocolException e) {
            return new ProtocolException(
                    "unexpected answer from the daemon (HTTP " + response.status() + ")");
        }
    }

    private static String credentialPath(String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidRequestException("a credential name cannot be empty");
        }
        return "/v1/credentials/" + encodeSegment(name);
    }

    /**
     * Percent-encodes text for one path segment: UTF-8, all but RFC 3986 unreserved bytes; the
     * segments "." and ".." whole, so that no URL normalisation can read them as folders.
     */
    static String encodeSegment(String text) {
        if (text.equals(".") || text.equals("..")) {
            return text.equals(".") ? "%2E" : "%2E%2E";
        }
        ByteBuffer bytes;
        try {
            bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(text));
        } catch (CharacterCodingException e) {
            throw new InvalidRequestException("a credential name must be valid Unicode text");
        }
        StringBuilder out = new StringBuilder();
        while (bytes.hasRemaining()) {
            byte b = bytes.get();
            if (isUnreserved(b)) {
                out.append((char) b);
            } else {
                out.append('%').append(String.format("%02X", b & 0xFF));
            }
        }
        return out.toString();
    }

    private static boolean isUnreserved(byte b) {
        for (byte u : UNRESERVED) {
            if (u == b) {
                return true;
            }
        }
        return false;
    }
}
