package dev.credd.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Map;

/**
 * Where the daemon's socket is, derived from the environment alone exactly as the Python client
 * and the daemon do, and whether its folder can be trusted.
 */
public final class SocketPaths {
    /** The socket's file name when {@code CREDD_HOME} is not set. */
    public static final String SOCKET_FILE = "credd.sock";

    private SocketPaths() {
    }

    /**
     * The socket the daemon listens on.
     *
     * <p>{@code CREDD_SOCKET} wins. Otherwise the socket lives in {@code $XDG_RUNTIME_DIR/credd},
     * else in {@code /tmp/credd-<uid>}; with {@code CREDD_HOME} set its name is
     * {@code credd-<first 12 hex digits of the SHA-256 of CREDD_HOME's absolute path>.sock}.
     * Empty variables count as unset.
     *
     * @param env the environment to read, such as {@link System#getenv()}
     * @return the socket's path
     */
    public static Path socketPath(Map<String, String> env) {
        String explicit = env.get("CREDD_SOCKET");
        if (explicit != null && !explicit.isEmpty()) {
            return Path.of(explicit);
        }
        String runtimeDir = env.get("XDG_RUNTIME_DIR");
        Path folder = runtimeDir != null && !runtimeDir.isEmpty()
                ? Path.of(runtimeDir, "credd")
                : Path.of("/tmp/credd-" + Uids.own());
        return folder.resolve(socketFile(env));
    }

    private static String socketFile(Map<String, String> env) {
        String home = env.get("CREDD_HOME");
        if (home == null || home.isEmpty()) {
            return SOCKET_FILE;
        }
        if (home.equals("~") || home.startsWith("~/")) { // as Python's os.path.expanduser
            String userHome = env.getOrDefault("HOME", System.getProperty("user.home"));
            home = userHome + home.substring(1);
        }
        String absolute = absolutePath(home);
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(absolute.getBytes(StandardCharsets.UTF_8));
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < 6; i++) {
                hex.append(String.format("%02x", digest[i]));
            }
            return "credd-" + hex + ".sock";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /**
     * Python's {@code os.path.abspath} on text, not through {@link Path}: a JVM started without a
     * UTF-8 locale cannot make a Path of a name outside ASCII, and the hash must not depend on it.
     */
    static String absolutePath(String path) {
        String full = path.startsWith("/") ? path : System.getProperty("user.dir") + "/" + path;
        // POSIX leaves a path starting with exactly two slashes to the system; Python keeps them.
        String root = full.startsWith("//") && !full.startsWith("///") ? "//" : "/";
        java.util.ArrayDeque<String> parts = new java.util.ArrayDeque<>();
        for (String part : full.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(part);
            }
        }
        return root + String.join("/", parts);
    }

    /**
     * The uid {@code CREDD_DAEMON_UID} says the daemon runs as (a view of another user's daemon
     * bound into a container), or null: then only a daemon of this process's own uid is
     * accepted.
     *
     * @param env the environment to read, such as {@link System#getenv()}
     * @return the uid, or null when the variable is unset or empty
     * @throws InvalidRequestException when the variable is not a uid (a whole number)
     */
    public static Long daemonUid(Map<String, String> env) {
        String text = env.getOrDefault("CREDD_DAEMON_UID", "");
        if (text.isEmpty()) {
            return null;
        }
        if (text.length() <= 10 && text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            long uid = Long.parseLong(text);
            if (uid < 0xFFFFFFFFL) { // (uid_t) -1 is no user
                return uid;
            }
        }
        throw new InvalidRequestException(
                "CREDD_DAEMON_UID must be a uid (a whole number), not '" + text + "'");
    }

    /**
     * Refuses a socket folder that another user owns or may write to: whoever can write there
     * can put their own socket in the daemon's place and collect every secret. With a daemon
     * uid (from {@code CREDD_DAEMON_UID}) the folder may also be that uid's or root's (a
     * container's {@code /run/credd}, made by docker).
     *
     * @param folder the folder holding the socket
     * @param daemonUid the uid {@link #daemonUid(Map)} gave, or null
     * @throws ForbiddenException when the folder is another user's or writable by others
     * @throws IOException when it cannot be read (a missing folder is a
     *     {@link java.nio.file.NoSuchFileException})
     */
    public static void checkSocketFolder(Path folder, Long daemonUid) throws IOException {
        long owner = ((Number) Files.getAttribute(folder, "unix:uid")).longValue();
        int mode = (Integer) Files.getAttribute(folder, "unix:mode");
        long uid = Uids.own();
        boolean allowed = owner == uid
                || (daemonUid != null && (owner == daemonUid || owner == 0));
        if (!allowed) {
            throw new ForbiddenException("the socket folder " + folder + " belongs to uid " + owner
                    + ", not to you (uid " + uid + "); remove it, or set CREDD_SOCKET to a socket"
                    + " in a folder of your own");
        }
        if ((mode & 0022) != 0) {
            throw new ForbiddenException("the socket folder " + folder
                    + " may be written by other users (mode " + String.format("%04o", mode & 07777)
                    + "); run `chmod 700 " + folder + "`");
        }
    }
}
