package dev.credd.client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The user ids the peer checks compare. */
final class Uids {
    private static final long OWN = lookup();

    private Uids() {
    }

    /** This process's real user id. */
    static long own() {
        return OWN;
    }

    /**
     * The JDK tells the uid only through {@code com.sun.security.auth.module.UnixSystem}, in the
     * module jdk.security.auth, which a trimmed runtime (jlink) may leave out: reached by
     * reflection so the library still loads there, with the owner of a file of ours as the
     * fallback (the effective uid, which is the real one but for a setuid program).
     */
    private static long lookup() {
        try {
            Class<?> type = Class.forName("com.sun.security.auth.module.UnixSystem");
            Object system = type.getConstructor().newInstance();
            return (Long) type.getMethod("getUid").invoke(system);
        } catch (ReflectiveOperationException | LinkageError e) {
            return ownerOfANewFile();
        }
    }

    private static long ownerOfANewFile() {
        Path probe = null;
        try {
            probe = Files.createTempFile("credd-uid", "");
            return ((Number) Files.getAttribute(probe, "unix:uid")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalStateException("cannot tell this process's user id", e);
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException ignored) {
                    // a leftover empty temporary file: harmless
                }
            }
        }
    }
}
