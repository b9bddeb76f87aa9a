package dev.credd.client;

import java.time.Duration;

/** The client as a program finds it: from the process's environment, set by pytest per case. */
public final class EnvironmentTests {
    /** The default client reaches the daemon pytest started where JVM_TEST_EXPECT_SOCKET says. */
    public void testTheDefaultClientFindsTheDaemon() {
        try (CreddClient credd = CreddClient.create()) {
            Check.equal(Check.env("JVM_TEST_EXPECT_SOCKET"), credd.socketPath().toString());
            Check.equal(Check.env("JVM_TEST_EXPECT_SOCKET"), credd.status().socket());
        }
    }

    /** The client refuses, with the ForbiddenException whose message holds JVM_TEST_EXPECT_MESSAGE. */
    public void testTheClientRefuses() {
        try (CreddClient credd = CreddClient.create()) {
            ForbiddenException error = Check.raises(ForbiddenException.class, () -> credd.set("x", "CANARY-jvm"));
            Check.that(error.getMessage().contains(Check.env("JVM_TEST_EXPECT_MESSAGE")), error.getMessage());
            Check.that(!error.getMessage().contains("CANARY"), error.getMessage());
            Check.raises(ForbiddenException.class, () -> credd.status());
            Check.raises(ForbiddenException.class, () -> credd.list());
        }
    }

    /**
     * With CREDD_DAEMON_UID, the listener of that uid is talked to, in a folder of ours or of
     * that uid's (it never answers).
     */
    public void testTheNamedDaemonUidIsAccepted() {
        try (CreddClient credd = CreddClient.builder().timeout(Duration.ofSeconds(1)).build()) {
            Check.raises(DaemonTimeoutException.class, () -> credd.status());
        }
    }

    /** Nothing listens where the environment points. */
    public void testNoDaemonIsUnavailable() {
        try (CreddClient credd = CreddClient.create()) {
            Check.raises(DaemonUnavailableException.class, () -> credd.status());
        }
    }

    /** An oauth2 credential (JVM_TEST_OAUTH_NAME) refreshed through the client at the real issuer. */
    public void testAnOAuthCredentialIsRefreshed() throws Exception {
        String name = Check.env("JVM_TEST_OAUTH_NAME");
        try (CreddClient credd = CreddClient.create()) {
            Credential before = credd.get(name, "refresh_token");
            Check.equal("oauth2", before.kind());
            Check.that(before.refreshToken() != null, "no refresh token");
            Credential after = credd.refresh(name);
            Check.that(!after.secret().equals(before.secret()), "the access token did not change");
            Check.equal("ok", after.status());
            Check.that(after.expiresAt().isAfter(java.time.Instant.now()), "expires_at");
            Credential again = credd.refreshAsync(name).get();
            Check.that(!again.secret().equals(after.secret()), "the async refresh did not change it");
            Check.equal(again.secret(), credd.get(name).secret());
        }
    }
}
