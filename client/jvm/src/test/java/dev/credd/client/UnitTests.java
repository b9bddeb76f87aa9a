package dev.credd.client;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The pure parts: JSON, path encoding and socket discovery, checked against Python's output. */
public final class UnitTests {
    public void testJsonRoundTrips() {
        String text = "{\"a\":[1,-2,3.5,1e3,true,false,null],\"b\":{\"c\":\"\\u00e9\\n\\\"\\\\\\/\"},"
                + "\"d\":\"\ud83d\ude00\",\"e\":123456789012345}";
        Object value = Json.parse(text);
        Map<?, ?> map = (Map<?, ?>) value;
        Check.equal(List.of(1L, -2L, 3.5, 1000.0, true, false), ((List<?>) map.get("a")).subList(0, 6));
        Check.equal("é\n\"\\/", ((Map<?, ?>) map.get("b")).get("c"));
        Check.equal("\ud83d\ude00", map.get("d"));
        Check.equal(123456789012345L, map.get("e"));
        Check.equal(value, Json.parse(Json.write(value)));
        Check.equal("\"\\u0001\\u2028\"", Json.write("\u0001\u2028"));
    }

    public void testMalformedJsonIsAProtocolError() {
        for (String bad : new String[] {"", "{", "[1,]", "{\"a\" 1}", "tru", "\"\\x\"", "01", "1 2",
            "\"a\u0001\"", "[".repeat(100) + "]".repeat(100), "{\"a\":1,}", "-", "1."}) {
            Check.raises(ProtocolException.class, () -> Json.parse(bad));
        }
    }

    /** Pairs of name and Python's encode_path_segment(name), from pytest. */
    public void testNamesAreEncodedAsThePythonClientDoes() {
        List<?> pairs = (List<?>) Json.parse(Check.env("JVM_TEST_ENCODED"));
        Check.that(pairs.size() > 5, "too few names");
        for (Object pair : pairs) {
            List<?> p = (List<?>) pair;
            Check.equal(p.get(1), CreddClient.encodeSegment((String) p.get(0)));
        }
        Check.raises(InvalidRequestException.class, () -> CreddClient.encodeSegment("a\ud800b"));
    }

    /** Pairs of an environment and Python's socket_path(env) for it, from pytest. */
    public void testSocketDiscoveryMatchesThePythonClient() {
        List<?> cases = (List<?>) Json.parse(Check.env("JVM_TEST_DISCOVERY"));
        Check.that(cases.size() >= 5, "too few cases");
        for (Object item : cases) {
            List<?> pair = (List<?>) item;
            Map<String, String> env = new HashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) pair.get(0)).entrySet()) {
                env.put((String) e.getKey(), (String) e.getValue());
            }
            Check.equal(pair.get(1), SocketPaths.socketPath(env).toString());
        }
    }

    public void testABadDaemonUidIsRefused() {
        for (String bad : new String[] {"root", "-1", "+5", " 5", "4294967295", "99999999999"}) {
            InvalidRequestException error = Check.raises(InvalidRequestException.class,
                    () -> CreddClient.builder().environment(Map.of("CREDD_DAEMON_UID", bad)).build());
            Check.that(error.getMessage().contains("must be a uid"), error.getMessage());
        }
        Check.equal(null, SocketPaths.daemonUid(Map.of("CREDD_DAEMON_UID", "")));
        Check.equal(null, SocketPaths.daemonUid(Map.of()));
        Check.equal(65534L, SocketPaths.daemonUid(Map.of("CREDD_DAEMON_UID", "65534")));
    }
}
