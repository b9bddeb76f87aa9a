package dev.credd.client;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Every call against the real daemon (CREDD_SOCKET, started by pytest with the real keyring). */
public final class DaemonTests {
    /** A client for the daemon, whose store is emptied first (a failed test may leave some). */
    private static CreddClient client() {
        CreddClient credd = CreddClient.create();
        for (Credential c : credd.list()) {
            credd.delete(c.name());
        }
        return credd;
    }

    public void testRoundTripOfEveryCall() throws Exception {
        try (CreddClient credd = client()) {
            Status status = credd.status();
            Check.that(status.pid() > 0, "pid");
            Check.that(!status.version().isEmpty(), "version");
            Check.equal(credd.socketPath().toString(), status.socket());
            Check.equal(false, status.locked());
            Check.equal("ok", status.store().state().equals("missing") ? "ok" : status.store().state());
            Check.that(status.keyBackend().name() != null, "key backend");

            Credential stored = credd.set("jvm/one", CredentialInput.secret("s3cret-1")
                    .withUsername("alice").withLabels(Map.of("team", "ide")));
            Check.equal("jvm/one", stored.name());
            Check.equal("secret", stored.kind());
            Check.equal(null, stored.secret());
            Check.equal("alice", stored.username());
            Check.equal(Map.of("team", "ide"), stored.labels());
            Check.that(stored.createdAt().isAfter(Instant.now().minus(Duration.ofHours(1))), "created_at");

            Credential got = credd.get("jvm/one");
            Check.equal("s3cret-1", got.secret());
            Check.equal("alice", got.username());
            Check.equal(Map.of(), got.extra());

            credd.set("jvm/one", "s3cret-2");
            Check.equal("s3cret-2", credd.get("jvm/one").secret());

            List<Credential> all = credd.list();
            Check.equal(1, all.size());
            Check.equal("jvm/one", all.get(0).name());
            Check.equal(null, all.get(0).secret());
            Check.equal(1L, credd.status().credentials().total());

            credd.delete("jvm/one");
            Check.raises(NotFoundException.class, () -> credd.get("jvm/one"));
            Check.raises(NotFoundException.class, () -> credd.delete("jvm/one"));
            Check.equal(List.of(), credd.list());
        }
    }

    public void testEveryCallAsynchronously() throws Exception {
        try (CreddClient credd = client()) {
            Check.that(credd.statusAsync().get().pid() > 0, "status");
            credd.setAsync("async", "a-s3cret").get();
            credd.setAsync("async2", CredentialInput.secret("b")).get();
            Check.equal("a-s3cret", credd.getAsync("async").get().secret());
            Check.equal(2, credd.listAsync().get().size());
            credd.deleteAsync("async").get();
            credd.deleteAsync("async2").get();
            try {
                credd.getAsync("async").join();
                throw new AssertionError("no exception");
            } catch (java.util.concurrent.CompletionException e) {
                Check.equal(NotFoundException.class, e.getCause().getClass());
            }
            try {
                credd.refreshAsync("async").join();
                throw new AssertionError("no exception");
            } catch (java.util.concurrent.CompletionException e) {
                Check.equal(NotFoundException.class, e.getCause().getClass());
            }
            List<CompletableFuture<Credential>> many = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                many.add(credd.setAsync("many-" + i, "v" + i));
            }
            CompletableFuture.allOf(many.toArray(new CompletableFuture<?>[0])).get();
            Check.equal(20, credd.list().size());
            for (int i = 0; i < 20; i++) {
                credd.delete("many-" + i);
            }
        }
    }

    public void testOneClientSharedByThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (CreddClient credd = client()) {
            credd.set("shared", "v");
            List<Future<String>> reads = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                reads.add(pool.submit(() -> credd.get("shared").secret()));
            }
            for (Future<String> read : reads) {
                Check.equal("v", read.get());
            }
            credd.delete("shared");
        } finally {
            pool.shutdown();
        }
    }

    public void testOddNamesRoundTrip() throws Exception {
        List<String> names = List.of("a/b/c", "/leading", "trailing/", "100%", "%2F", "a b",
                "é ü ß 日本 🎉", "?query#frag", "..", ".", "...", "a+b=c&d", "x".repeat(256),
                "é".repeat(256), "\\back\\slash", "semi;colon", "\"quoted\"");
        try (CreddClient credd = client()) {
            for (String name : names) {
                credd.set(name, "v-" + name.length());
            }
            List<String> listed = new ArrayList<>();
            for (Credential c : credd.list()) {
                listed.add(c.name());
            }
            for (String name : names) {
                Check.that(listed.contains(name), "not listed: " + name);
                Credential got = credd.get(name);
                Check.equal(name, got.name());
                Check.equal("v-" + name.length(), got.secret());
                credd.delete(name);
            }
            Check.equal(List.of(), credd.list());
            Check.raises(InvalidRequestException.class, () -> credd.set("x".repeat(257), "v"));
            Check.raises(InvalidRequestException.class, () -> credd.get(""));
            Check.raises(InvalidRequestException.class, () -> credd.set("tab\tin", "v"));
        }
    }

    public void testTheDaemonsErrorsAreTyped() throws Exception {
        try (CreddClient credd = client()) {
            Check.raises(NotFoundException.class, () -> credd.get("absent"));
            // invalid_request: an oauth2 credential without its token endpoint and client id
            Check.raises(InvalidRequestException.class, () -> credd.set("bad",
                    new CredentialInput("oauth2", "t", null, Map.of(), List.of(), null, null, null,
                            null, null, null, null)));
            // a refresh of a plain secret
            credd.set("plain", "v");
            CreddException refresh = Check.raises(InvalidRequestException.class, () -> credd.refresh("plain"));
            Check.equal(400, refresh.httpStatus());
            // payload_too_large: a body over 1 MiB
            Check.raises(PayloadTooLargeException.class, () -> credd.set("big", "x".repeat(2 << 20)));
            // forbidden: a credential only another program may read
            credd.set("only-true", CredentialInput.secret("v").withAllowedPrograms(List.of("/usr/bin/true")));
            Check.raises(ForbiddenException.class, () -> credd.get("only-true"));
            credd.delete("only-true");
            // needs_login: an oauth2 credential whose token expired, with no refresh token
            credd.set("expired", CredentialInput.oauth2("t", "http://127.0.0.1:9/token", "cid")
                    .withExpiresAt(Instant.now().minusSeconds(60)));
            Check.raises(NeedsLoginException.class, () -> credd.get("expired"));
            // refresh_failed: a refresh token, but the issuer is not there
            credd.set("unreachable", CredentialInput.oauth2("t", "http://127.0.0.1:9/token", "cid")
                    .withRefreshToken("rt").withExpiresAt(Instant.now().plusSeconds(3600)));
            Check.raises(RefreshFailedException.class, () -> credd.refresh("unreachable"));
            // locked: the daemon dropped its key
            credd.lock();
            Check.equal(true, credd.status().locked());
            LockedException locked = Check.raises(LockedException.class, () -> credd.get("plain"));
            Check.equal("locked", locked.code());
            credd.unlock();
            Check.equal("v", credd.get("plain").secret());
            for (Credential c : credd.list()) {
                credd.delete(c.name());
            }
        }
    }

    public void testIncludeReturnsTheHiddenFields() throws Exception {
        try (CreddClient credd = client()) {
            credd.set("oauth", CredentialInput.oauth2("at", "http://127.0.0.1:9/token", "cid")
                    .withClientSecret("cs", "client_secret_post").withRefreshToken("rt")
                    .withScope("openid").withExpiresAt(Instant.now().plusSeconds(3600)));
            Credential plain = credd.get("oauth");
            Check.equal("at", plain.secret());
            Check.equal(null, plain.refreshToken());
            Check.equal(null, plain.clientSecret());
            Check.equal("oauth2", plain.kind());
            Check.equal("cid", plain.clientId());
            Check.equal("client_secret_post", plain.tokenEndpointAuthMethod());
            Check.equal("openid", plain.scope());
            Check.equal("ok", plain.status());
            Check.that(plain.nextRefreshAt() != null, "next_refresh_at");
            Credential full = credd.get("oauth", "refresh_token", "client_secret");
            Check.equal("rt", full.refreshToken());
            Check.equal("cs", full.clientSecret());
            Check.that(!full.toString().contains("rt,") && !full.toString().contains("=cs"), full.toString());
            Status status = credd.status();
            Check.equal(1, status.oauth().credentials().size());
            Check.equal("oauth", status.oauth().credentials().get(0).name());
            credd.delete("oauth");
        }
    }
}
