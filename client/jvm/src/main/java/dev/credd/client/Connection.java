package dev.credd.client;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.io.ByteArrayOutputStream;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import jdk.net.ExtendedSocketOptions;

/**
 * One HTTP/1.1 connection to the daemon over its AF_UNIX socket, written by hand: the JDK's
 * HTTP client cannot use Unix sockets. The daemon speaks a small, well-behaved subset of HTTP
 * (JSON bodies framed by Content-Length or chunked), which this covers.
 *
 * <p>Before a byte is sent, the socket's folder must be the user's own and the process on the
 * other end must run as the expected uid: a socket is only a file name, and whoever answers on
 * it receives every secret asked for. Every wait is bounded by the caller's deadline, through a
 * selector on a non-blocking channel. Messages never quote what was sent or received.
 */
final class Connection implements AutoCloseable {
    static final String START_HINT =
            "start one with `credd serve`, or install the login service with `credd service install`";
    private static final int MAX_LINE = 65536;
    private static final int MAX_HEADERS = 100;
    private static final long MAX_BODY = 64L * 1024 * 1024;

    /** The daemon closed a kept-alive connection before answering: the request may go again. */
    static final class StaleConnection extends Exception {
        private static final long serialVersionUID = 1L;

        StaleConnection() {
            super(null, null, false, false);
        }
    }

    /** One HTTP answer: header names lower-cased, the body whole. */
    record Response(int status, Map<String, String> headers, byte[] body, boolean keepAlive) {
    }

    private final Path path;
    private final String timeoutText;
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final ByteBuffer buffer = ByteBuffer.allocate(MAX_LINE + 1024).flip();
    private boolean open = true;

    private Connection(Path path, String timeoutText, SocketChannel channel, Selector selector)
            throws IOException {
        this.path = path;
        this.timeoutText = timeoutText;
        this.channel = channel;
        this.selector = selector;
        this.key = channel.register(selector, 0);
    }

    /** Connects, after checking the folder, and checks the peer's uid. */
    static Connection open(Path path, Long daemonUid, long deadline, String timeoutText) {
        Path folder = path.toAbsolutePath().getParent();
        try {
            SocketPaths.checkSocketFolder(folder, daemonUid);
        } catch (NoSuchFileException e) {
            throw new DaemonUnavailableException("no daemon answers on " + path + "; " + START_HINT);
        } catch (IOException e) {
            throw new DaemonUnavailableException(
                    "cannot connect to the daemon on " + path + " (" + e.getMessage() + ")", e);
        }
        SocketChannel channel = null;
        Selector selector = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.configureBlocking(false);
            selector = Selector.open();
            Connection connection = new Connection(path, timeoutText, channel, selector);
            connection.connect(deadline);
            checkPeer(channel, path, daemonUid);
            return connection;
        } catch (IOException e) {
            closeQuietly(channel, selector);
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            if (reason.contains("No such file") || reason.contains("Connection refused")) {
                throw new DaemonUnavailableException("no daemon answers on " + path + "; " + START_HINT, e);
            }
            throw new DaemonUnavailableException(
                    "cannot connect to the daemon on " + path + " (" + reason + ")", e);
        } catch (RuntimeException e) {
            closeQuietly(channel, selector);
            throw e;
        }
    }

    private void connect(long deadline) throws IOException {
        if (channel.connect(UnixDomainSocketAddress.of(path))) {
            return;
        }
        key.interestOps(SelectionKey.OP_CONNECT);
        while (!channel.finishConnect()) {
            if (!await(deadline)) {
                throw new DaemonUnavailableException("no daemon answers on " + path + " (it takes no"
                        + " connection within " + timeoutText + " s); " + START_HINT);
            }
        }
        key.interestOps(0);
    }

    /**
     * The daemon must run as this user, or as the uid CREDD_DAEMON_UID names (never else); a
     * peer whose user cannot be read is refused. Uids compare as numbers, never through a user
     * name (a user named "1000" is not uid 1000): the JDK gives the peer only as a principal,
     * which equals another by uid, so it is compared with the socket file's owner, whose uid is
     * read as a number in the same call.
     */
    private static void checkPeer(SocketChannel channel, Path path, Long daemonUid) throws IOException {
        UserPrincipal peer;
        try {
            peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED).user();
        } catch (UnsupportedOperationException e) {
            throw new ForbiddenException("cannot tell which user runs the process answering on " + path
                    + " (no SO_PEERCRED on " + System.getProperty("os.name") + "); refusing to talk to it");
        }
        Map<String, Object> file = Files.readAttributes(path, "unix:uid,owner", LinkOption.NOFOLLOW_LINKS);
        long owner = ((Number) file.get("uid")).longValue();
        if (!peer.equals(file.get("owner"))) {
            throw new ForbiddenException("the process answering on " + path + " runs as user "
                    + peer.getName() + ", not as the socket file's owner (uid " + owner
                    + "); refusing to talk to it. Remove that socket and start your own daemon with"
                    + " `credd serve`");
        }
        long uid = Uids.own();
        if (owner == uid || (daemonUid != null && owner == daemonUid)) {
            return;
        }
        throw new ForbiddenException("the process answering on " + path + " runs as uid " + owner
                + " (user " + peer.getName() + "), not as you (uid " + uid + "); refusing to talk to it."
                + " Remove that socket and start your own daemon with `credd serve`");
    }

    /** Waits for the key's interest until the deadline; false when the time is up. */
    private boolean await(long deadline) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
            return false;
        }
        selector.select(left);
        selector.selectedKeys().clear();
        return true;
    }

    private DaemonTimeoutException timeout() {
        return new DaemonTimeoutException(
                "credd did not answer within " + timeoutText + " s (socket " + path + ")");
    }

    boolean isOpen() {
        return open;
    }

    /**
     * Sends one request and reads its answer. Throws {@link StaleConnection} when the daemon
     * closed the connection before a byte of the answer; any other failure closes it.
     */
    Response exchange(byte[] request, String method, long deadline) throws StaleConnection {
        boolean ok = false;
        try {
            try {
                write(ByteBuffer.wrap(request), deadline);
                if (!buffer.hasRemaining() && !fill(deadline)) {
                    throw new StaleConnection();
                }
            } catch (IOException e) {
                throw new StaleConnection();
            }
            Response response = readResponse(method, deadline);
            ok = true;
            return response;
        } catch (IOException e) {
            throw new DaemonUnavailableException("the connection to the daemon on " + path
                    + " broke (" + e.getMessage() + ")", e);
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    /**
     * Sends a GET whose 2xx answer is an open-ended chunked stream, and reads up to its body:
     * the answer's status and headers, with an empty body that {@link #nextChunk} then reads.
     * Any other answer is read whole.
     */
    Response openStream(byte[] request, long deadline) throws IOException {
        write(ByteBuffer.wrap(request), deadline);
        String statusLine = readLine(deadline);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length() != 3
                || !parts[1].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw malformed("no HTTP status line");
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = readHeaders(deadline);
        if (status >= 200 && status < 300) {
            if (!headers.getOrDefault("transfer-encoding", "").trim().equalsIgnoreCase("chunked")) {
                throw malformed("an event stream that is not chunked");
            }
            return new Response(status, headers, new byte[0], false);
        }
        byte[] body = headers.containsKey("transfer-encoding") ? readChunked(deadline)
                : readExactly(contentLength(headers.getOrDefault("content-length", "0")), deadline);
        return new Response(status, headers, body, false);
    }

    /** The next chunk of an open stream's body (see {@link #openStream}); null at its end. */
    byte[] nextChunk(long deadline) throws IOException {
        String sizeField = readLine(deadline).split(";", 2)[0].strip();
        if (sizeField.isEmpty() || sizeField.length() > 15
                || !sizeField.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw malformed("a malformed chunk size");
        }
        long size = Long.parseLong(sizeField, 16);
        if (size == 0) {
            return null;
        }
        if (size > MAX_LINE) {
            throw malformed("an event chunk over 64 KiB");
        }
        byte[] chunk = readExactly(size, deadline);
        if (!readLine(deadline).isEmpty()) {
            throw malformed("a chunk longer than its size");
        }
        return chunk;
    }

    private void write(ByteBuffer data, long deadline) throws IOException {
        while (data.hasRemaining()) {
            if (channel.write(data) == 0) {
                key.interestOps(SelectionKey.OP_WRITE);
                if (!await(deadline)) {
                    throw timeout();
                }
                key.interestOps(0);
            }
        }
    }

    /** Reads more into the buffer; false at the end of the stream. */
    private boolean fill(long deadline) throws IOException {
        buffer.compact();
        try {
            while (true) {
                int n = channel.read(buffer);
                if (n > 0) {
                    return true;
                }
                if (n < 0) {
                    return false;
                }
                if (!buffer.hasRemaining()) {
                    return true; // full: the caller makes room
                }
                key.interestOps(SelectionKey.OP_READ);
                if (!await(deadline)) {
                    throw timeout();
                }
                key.interestOps(0);
            }
        } finally {
            buffer.flip();
        }
    }

    private Response readResponse(String method, long deadline) throws IOException {
        String statusLine = readLine(deadline);
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || parts[1].length() != 3
                || !parts[1].chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw malformed("no HTTP status line");
        }
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = readHeaders(deadline);
        byte[] body;
        boolean delimitedByClose = false;
        if (method.equals("HEAD") || status == 204 || status == 304) {
            body = new byte[0];
        } else if (headers.containsKey("transfer-encoding")) {
            if (!headers.get("transfer-encoding").trim().equalsIgnoreCase("chunked")) {
                throw malformed("a transfer encoding other than chunked");
            }
            body = readChunked(deadline);
        } else if (headers.containsKey("content-length")) {
            body = readExactly(contentLength(headers.get("content-length")), deadline);
        } else {
            body = readToEnd(deadline);
            delimitedByClose = true;
        }
        boolean closes = false;
        boolean keepAliveToken = false;
        for (String token : headers.getOrDefault("connection", "").split(",")) {
            String t = token.trim().toLowerCase(Locale.ROOT);
            closes |= t.equals("close");
            keepAliveToken |= t.equals("keep-alive");
        }
        closes |= parts[0].equals("HTTP/1.0") && !keepAliveToken;
        boolean keepAlive = !(closes || delimitedByClose);
        if (!keepAlive) {
            close();
        }
        return new Response(status, headers, body, keepAlive);
    }

    private Map<String, String> readHeaders(long deadline) throws IOException {
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; i < MAX_HEADERS; i++) {
            String line = readLine(deadline);
            if (line.isEmpty()) {
                return headers;
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !line.substring(0, colon).strip().equals(line.substring(0, colon))) {
                throw malformed("a malformed header line");
            }
            String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).strip();
            headers.merge(name, value, (a, b) -> a + ", " + b);
        }
        throw malformed("more than " + MAX_HEADERS + " headers");
    }

    private byte[] readChunked(long deadline) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            String sizeField = readLine(deadline).split(";", 2)[0].strip();
            if (sizeField.isEmpty() || sizeField.length() > 15
                    || !sizeField.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                throw malformed("a malformed chunk size");
            }
            long size = Long.parseLong(sizeField, 16);
            if (size == 0) {
                break;
            }
            if (out.size() + size > MAX_BODY) {
                throw malformed("a body over 64 MiB");
            }
            out.writeBytes(readExactly(size, deadline));
            if (!readLine(deadline).isEmpty()) {
                throw malformed("a chunk longer than its size");
            }
        }
        while (!readLine(deadline).isEmpty()) {
            // trailer fields, unused
        }
        return out.toByteArray();
    }

    private static long contentLength(String value) {
        if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw malformed("a malformed Content-Length");
        }
        long length = Long.parseLong(value);
        if (length > MAX_BODY) {
            throw malformed("a body over 64 MiB");
        }
        return length;
    }

    /** One line without its line end (CRLF or LF), decoded as Latin-1. */
    private String readLine(long deadline) throws IOException {
        int scanned = 0;
        while (true) {
            for (int i = buffer.position() + scanned; i < buffer.limit(); i++) {
                if (buffer.get(i) == '\n') {
                    int length = i - buffer.position();
                    byte[] line = new byte[length];
                    buffer.get(line);
                    buffer.get(); // the LF
                    if (length > 0 && line[length - 1] == '\r') {
                        length--;
                    }
                    return new String(line, 0, length, StandardCharsets.ISO_8859_1);
                }
            }
            scanned = buffer.remaining();
            if (scanned >= MAX_LINE || !fill(deadline)) {
                throw malformed("a truncated or overlong line");
            }
        }
    }

    private byte[] readExactly(long size, long deadline) throws IOException {
        byte[] out = new byte[(int) size];
        int got = 0;
        while (got < size) {
            if (!buffer.hasRemaining() && !fill(deadline)) {
                throw malformed("a body cut short");
            }
            int n = Math.min(buffer.remaining(), out.length - got);
            buffer.get(out, got, n);
            got += n;
        }
        return out;
    }

    private byte[] readToEnd(long deadline) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while (true) {
            byte[] chunk = new byte[buffer.remaining()];
            buffer.get(chunk);
            out.writeBytes(chunk);
            if (out.size() > MAX_BODY) {
                throw malformed("a body over 64 MiB");
            }
            if (!fill(deadline)) {
                return out.toByteArray();
            }
        }
    }

    private static ProtocolException malformed(String what) {
        return new ProtocolException("malformed answer from the daemon: " + what);
    }

    @Override
    public void close() {
        if (open) {
            open = false;
            closeQuietly(channel, selector);
        }
    }

    private static void closeQuietly(SocketChannel channel, Selector selector) {
        try {
            if (selector != null) {
                selector.close();
            }
        } catch (IOException ignored) {
            // closing: nothing left to do
        }
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // closing: nothing left to do
        }
    }
}
