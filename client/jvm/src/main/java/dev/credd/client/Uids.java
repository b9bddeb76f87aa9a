package dev.credd.client;

import com.sun.security.auth.module.UnixSystem;

/** The user ids the peer checks compare. */
final class Uids {
    private static final long OWN = new UnixSystem().getUid();

    private Uids() {
    }

    /** This process's real user id. */
    static long own() {
        return OWN;
    }
}
