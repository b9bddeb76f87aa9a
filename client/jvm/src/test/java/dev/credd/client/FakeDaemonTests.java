package dev.credd.client;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

/**
 * The client against listeners of the test's own: every error code, both body framings,
 * keep-alive, garbage, answers cut short and answers that never come.
 */
public final class FakeDaemonTests {
    private static final String CREDENTIAL = "{\"name\":\"a\",\"kind\":\"secret\",\"username\":null,"
            + "\"labels\":{},\"allowed_programs\":[],\"created_at\":\"2026-01-02T03:04:05Z\","
            + "\"updated_at\":\"2026-01-02T03:04:05Z\",\"secret\":\"s3cret\"}";

    private static String envelope(String code) {
        return "{\"error\":{\"code\":\"" + code + "\",\"message\":\"what " + code + " means\"}}";
    }

    /** Every wire code (the OpenAPI document's, from pytest, and this client's) maps to its class. */
    public void testEveryErrorCodeMapsToItsException() throws Exception {
        List<String> codes = new ArrayList<>();
        for (Object code : (List<?>) Json.parse(Check.env("JVM_TEST_ERROR_CODES"))) {
            codes.add((String) code);
        }
        Check.that(codes.size() >= 10, "too few codes from the OpenAPI document: " + codes);
        codes.add("daemon_unavailable");
        codes.add("daemon_timeout");
        codes.add("protocol_error");
        codes.add("login_failed");
        codes.add("method_not_allowed");
        String[] current = new String[1];
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(400, envelope(current[0])));
            return true;
        }); CreddClient client = server.client(5)) {
            for (String code : codes) {
                current[0] = code;
                CreddException error = Check.raises(expectedClass(code), () -> client.get("a"));
                Check.equal(code, error.code());
                Check.equal("what " + code + " means", error.getMessage());
                Check.that(error.getClass() != CreddException.class, "no class of its own for " + code);
            }
            current[0] = "a_code_from_the_future";
            CreddException unknown = Check.raises(CreddException.class, () -> client.get("a"));
            Check.equal("a_code_from_the_future", unknown.code());
            Check.equal(400, unknown.httpStatus());
        }
    }

    private static Class<? extends CreddException> expectedClass(String code) {
        return CreddException.forCode(code, "", 0).getClass();
    }

    public void testTheWireCodesHaveTheirStatusesAndExitCodes() {
        Map<String, int[]> expected = Map.of(
                "not_found", new int[] {404, 4},
                "needs_login", new int[] {409, 5},
                "invalid_request", new int[] {400, 2},
                "payload_too_large", new int[] {413, 2},
                "daemon_unavailable", new int[] {503, 3},
                "daemon_timeout", new int[] {504, 1},
                "locked", new int[] {423, 1});
        for (Map.Entry<String, int[]> entry : expected.entrySet()) {
            CreddException error = CreddException.forCode(entry.getKey(), "m", 0);
            Check.equal(entry.getValue()[0], error.httpStatus());
            Check.equal(entry.getValue()[1], error.exitCode());
        }
        Check.that(CreddException.forCode("payload_too_large", "m", 0) instanceof InvalidRequestException,
                "payload_too_large is an invalid request");
        Check.that(CreddException.forCode("wrong_passphrase", "m", 0) instanceof LockedException,
                "wrong_passphrase is a locked error");
    }

    public void testAChunkedBodyIsRead() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            String half = CREDENTIAL.substring(0, 20);
            String rest = CREDENTIAL.substring(20);
            FakeServer.send(out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + Integer.toHexString(half.length()) + ";ext=1\r\n" + half + "\r\n"
                    + Integer.toHexString(rest.length()) + "\r\n" + rest + "\r\n0\r\nX-Trailer: 1\r\n\r\n");
            return true;
        }); CreddClient client = server.client(5)) {
            Check.equal("s3cret", client.get("a").secret());
            Check.equal("s3cret", client.get("a").secret());
            Check.equal(1, server.connections.get());
        }
    }

    public void testOneConnectionIsKeptAliveAcrossCalls() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL));
            return true;
        }); CreddClient client = server.client(5)) {
            for (int i = 0; i < 5; i++) {
                client.get("a");
            }
            Check.equal(1, server.connections.get());
        }
    }

    public void testConnectionCloseOpensANewConnection() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL).replace(
                    "Content-Type", "Connection: close\r\nContent-Type"));
            return false;
        }); CreddClient client = server.client(5)) {
            for (int i = 0; i < 3; i++) {
                client.get("a");
            }
            Check.equal(3, server.connections.get());
        }
    }

    public void testAKeptConnectionTheDaemonClosedIsSentAgainOnce() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL));
            return false; // closed without saying so, as after an idle timeout
        }); CreddClient client = server.client(5)) {
            client.get("a");
            Thread.sleep(100);
            Check.equal("s3cret", client.get("a").secret());
            Check.equal(2, server.connections.get());
            Check.equal(2, server.requests.size());
        }
    }

    public void testAnswerWithoutAByteOnANewConnectionIsUnavailable() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> false);
                CreddClient client = server.client(5)) {
            DaemonUnavailableException error =
                    Check.raises(DaemonUnavailableException.class, () -> client.get("a"));
            Check.that(error.getMessage().contains("closed the connection without answering"),
                    error.getMessage());
        }
    }

    public void testGarbageIsAProtocolError() throws Exception {
        for (String garbage : new String[] {
            "garbage\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]",
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"name\": 12}",
            "HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\noops!",
            "HTTP/1.1 404 X\r\nContent-Length: 11\r\n\r\n{\"error\":1}",
        }) {
            try (FakeServer server = new FakeServer((request, out, s) -> {
                FakeServer.send(out, garbage);
                s.hang();
                return false;
            }); CreddClient client = server.client(5)) {
                ProtocolException error = Check.raises(ProtocolException.class, () -> client.get("a"));
                Check.that(!error.getMessage().contains("not json") && !error.getMessage().contains("oops"),
                        "the message quotes the answer: " + error.getMessage());
            }
        }
    }

    public void testAnOverlongLineIsAProtocolError() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, "HTTP/1.1 200 OK\r\nX: " + "x".repeat(200_000) + "\r\n\r\n");
            s.hang();
            return false;
        }); CreddClient client = server.client(5)) {
            ProtocolException error = Check.raises(ProtocolException.class, () -> client.get("a"));
            Check.that(error.getMessage().contains("overlong"), error.getMessage());
        }
    }

    public void testClosingMidAnswerIsAProtocolError() throws Exception {
        String full = FakeServer.json(200, CREDENTIAL);
        for (String cut : new String[] {
            full.substring(0, 10),
            full.substring(0, full.indexOf("\r\n\r\n") - 3),
            full.substring(0, full.length() - 10),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + CREDENTIAL.substring(0, 30),
        }) {
            try (FakeServer server = new FakeServer((request, out, s) -> {
                FakeServer.send(out, cut);
                return false;
            }); CreddClient client = server.client(5)) {
                Check.raises(ProtocolException.class, () -> client.get("a"));
            }
        }
    }

    public void testAnAnswerThatNeverComesTimesOut() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            s.hang();
            return false;
        }); CreddClient client = server.client(0.5)) {
            DaemonTimeoutException error = Check.raises(DaemonTimeoutException.class, () -> client.get("a"));
            Check.that(error.getMessage().startsWith("credd did not answer within 0.5 s"), error.getMessage());
            Check.equal("daemon_timeout", error.code());
            Check.equal(1, error.exitCode());
        }
    }

    public void testAnAnswerThatStallsHalfWayTimesOut() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"name\":");
            s.hang();
            return false;
        }); CreddClient client = server.client(0.5)) {
            Check.raises(DaemonTimeoutException.class, () -> client.get("a"));
        }
    }

    public void testAnAsyncCallThatTimesOutCompletesExceptionally() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            s.hang();
            return false;
        }); CreddClient client = server.client(0.5)) {
            try {
                client.getAsync("a").get();
                throw new AssertionError("no exception");
            } catch (ExecutionException e) {
                Check.equal(DaemonTimeoutException.class, e.getCause().getClass());
            }
        }
    }

    public void testTheRequestIsFramedAsTheDaemonExpects() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL));
            return true;
        }); CreddClient client = server.client(5)) {
            client.set("a/b c%é", CredentialInput.secret("v\"1\n").withUsername("me")
                    .withLabels(Map.of("k", "v")));
            FakeServer.Request put = server.requests.get(0);
            Check.equal("PUT /v1/credentials/a%2Fb%20c%25%C3%A9 HTTP/1.1", put.line());
            Check.that(put.head().contains("\r\nContent-Type: application/json\r\n"), put.head());
            Check.that(put.head().contains("\r\nContent-Length: " + put.body().length + "\r\n"), put.head());
            Map<?, ?> body = (Map<?, ?>) Json.parse(put.bodyText());
            Check.equal("secret", body.get("kind"));
            Check.equal("v\"1\n", body.get("secret"));
            Check.equal("me", body.get("username"));
            Check.equal(Map.of("k", "v"), body.get("labels"));
            client.get("..", "refresh_token", "client_secret");
            Check.equal("GET /v1/credentials/%2E%2E?include=refresh_token,client_secret HTTP/1.1",
                    server.requests.get(1).line());
            client.delete(".");
            Check.equal("DELETE /v1/credentials/%2E HTTP/1.1", server.requests.get(2).line());
            client.refresh("x");
            Check.equal("POST /v1/credentials/x/refresh HTTP/1.1", server.requests.get(3).line());
            Check.that(server.requests.get(3).head().contains("Content-Length: 0"), "a POST has a length");
        }
    }

    /** Every request says how long the call waits (RFC 7240): floor(timeout - 2 s), at least 0. */
    public void testEveryRequestCarriesPreferWait() throws Exception {
        Map<Double, String> cases = Map.of(10.0, "wait=8", 3.999, "wait=1", 2.5, "wait=0", 1.0, "wait=0");
        for (Map.Entry<Double, String> c : cases.entrySet()) {
            try (FakeServer server = new FakeServer((request, out, s) -> {
                FakeServer.send(out, FakeServer.json(200, CREDENTIAL));
                return true;
            }); CreddClient client = server.client(c.getKey())) {
                client.get("a");
                client.getAsync("a").get();
                client.delete("a");
                Check.equal(3, server.requests.size());
                for (FakeServer.Request request : server.requests) {
                    Check.that(request.head().contains("\r\nPrefer: " + c.getValue() + "\r\n"),
                            "timeout " + c.getKey() + " s: " + request.head());
                }
            }
        }
    }

    public void testNoSocketIsUnavailable() throws Exception {
        Path folder = Files.createTempDirectory(Path.of("/tmp"), "cdjn");
        try (CreddClient client = CreddClient.builder().socketPath(folder.resolve("credd.sock")).build()) {
            DaemonUnavailableException error =
                    Check.raises(DaemonUnavailableException.class, () -> client.status());
            Check.that(error.getMessage().contains("no daemon answers on"), error.getMessage());
            Check.equal(3, error.exitCode());
        } finally {
            Files.delete(folder);
        }
        try (CreddClient client = CreddClient.builder()
                .socketPath(Path.of("/tmp/cdj-no-such-folder/credd.sock")).build()) {
            Check.raises(DaemonUnavailableException.class, () -> client.status());
        }
    }

    public void testASocketNobodyListensOnIsUnavailable() throws Exception {
        Path folder = Files.createTempDirectory(Path.of("/tmp"), "cdjn");
        Path socket = folder.resolve("credd.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
        }
        try (CreddClient client = CreddClient.builder().socketPath(socket).build()) {
            Check.raises(DaemonUnavailableException.class, () -> client.status());
            try {
                client.statusAsync().join();
                throw new AssertionError("no exception");
            } catch (java.util.concurrent.CompletionException e) {
                Check.equal(DaemonUnavailableException.class, e.getCause().getClass());
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.delete(folder);
        }
    }

    public void testAFolderOthersMayWriteIsRefused() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL));
            return true;
        }); CreddClient client = server.client(5)) {
            Files.setPosixFilePermissions(server.folder, PosixFilePermissions.fromString("rwxrwxrwx"));
            ForbiddenException error = Check.raises(ForbiddenException.class, () -> client.get("a"));
            Check.that(error.getMessage().contains("may be written by other users (mode 0777)"),
                    error.getMessage());
            Check.equal(0, server.connections.get());
        }
    }

    public void testTheRecordsShowNoSecret() throws Exception {
        try (FakeServer server = new FakeServer((request, out, s) -> {
            FakeServer.send(out, FakeServer.json(200, CREDENTIAL.substring(0, CREDENTIAL.length() - 1) + (
                    ",\"refresh_token\":\"rt-s3cret\",\"client_secret\":\"cs-s3cret\",\"new_field\":\"x-s3cret\"}")));
            return true;
        }); CreddClient client = server.client(5)) {
            Credential credential = client.get("a");
            Check.equal("rt-s3cret", credential.refreshToken());
            Check.equal(Map.of("new_field", "x-s3cret"), credential.extra());
            Check.that(!credential.toString().contains("s3cret"), credential.toString());
            Check.that(!CredentialInput.secret("s3cret").withRefreshToken("s3cret").toString().contains("s3cret"),
                    "CredentialInput shows a secret");
        }
    }
}
