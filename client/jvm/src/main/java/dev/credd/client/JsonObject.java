package dev.credd.client;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Typed reads of one decoded JSON object, strict about the fields the contract names: a
 * missing required field or a wrong type is a {@link ProtocolException} naming the field (never
 * its value). It remembers which keys were read, so the rest can be kept as "extra".
 */
final class JsonObject {
    private final String what;
    private final Map<String, Object> map;
    private final Set<String> read = new HashSet<>();

    private JsonObject(String what, Map<String, Object> map) {
        this.what = what;
        this.map = map;
    }

    @SuppressWarnings("unchecked")
    static JsonObject of(String what, Object value) {
        if (!(value instanceof Map)) {
            throw new ProtocolException("unexpected answer from the daemon: " + what + " is not a JSON object");
        }
        return new JsonObject(what, (Map<String, Object>) value);
    }

    private ProtocolException wrong(String key, String type) {
        return new ProtocolException(
                "unexpected answer from the daemon: '" + key + "' of " + what + " is not " + type);
    }

    private Object raw(String key) {
        read.add(key);
        return map.get(key);
    }

    String text(String key) {
        Object value = raw(key);
        if (value == null || value instanceof String) {
            return (String) value;
        }
        throw wrong(key, "text");
    }

    String requiredText(String key) {
        String value = text(key);
        if (value == null) {
            throw wrong(key, "present");
        }
        return value;
    }

    boolean bool(String key) {
        Object value = raw(key);
        if (value instanceof Boolean) {
            return (Boolean) value;
        }
        throw wrong(key, "a boolean");
    }

    Boolean optionalBool(String key) {
        Object value = raw(key);
        if (value == null || value instanceof Boolean) {
            return (Boolean) value;
        }
        throw wrong(key, "a boolean");
    }

    Long optionalLong(String key) {
        Object value = raw(key);
        if (value == null || value instanceof Long) {
            return (Long) value;
        }
        throw wrong(key, "an integer");
    }

    long requiredLong(String key) {
        Long value = optionalLong(key);
        if (value == null) {
            throw wrong(key, "present");
        }
        return value;
    }

    Double optionalDouble(String key) {
        Object value = raw(key);
        if (value == null) {
            return null;
        }
        if (value instanceof Number) {
            return ((Number) value).doubleValue();
        }
        throw wrong(key, "a number");
    }

    double requiredDouble(String key) {
        Double value = optionalDouble(key);
        if (value == null) {
            throw wrong(key, "present");
        }
        return value;
    }

    Instant instant(String key) {
        String value = text(key);
        if (value == null) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            throw wrong(key, "an RFC 3339 time");
        }
    }

    Instant requiredInstant(String key) {
        Instant value = instant(key);
        if (value == null) {
            throw wrong(key, "present");
        }
        return value;
    }

    JsonObject object(String key) {
        return of("'" + key + "' of " + what, raw(key));
    }

    JsonObject optionalObject(String key) {
        Object value = raw(key);
        return value == null ? null : of("'" + key + "' of " + what, value);
    }

    List<JsonObject> objects(String key) {
        Object value = raw(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List)) {
            throw wrong(key, "a list");
        }
        List<JsonObject> out = new ArrayList<>();
        for (Object item : (List<?>) value) {
            out.add(of("an item of '" + key + "'", item));
        }
        return out;
    }

    List<String> texts(String key) {
        Object value = raw(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List)) {
            throw wrong(key, "a list of text");
        }
        List<String> out = new ArrayList<>();
        for (Object item : (List<?>) value) {
            if (!(item instanceof String)) {
                throw wrong(key, "a list of text");
            }
            out.add((String) item);
        }
        return Collections.unmodifiableList(out);
    }

    List<Long> longs(String key) {
        Object value = raw(key);
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List)) {
            throw wrong(key, "a list of integers");
        }
        List<Long> out = new ArrayList<>();
        for (Object item : (List<?>) value) {
            if (!(item instanceof Long)) {
                throw wrong(key, "a list of integers");
            }
            out.add((Long) item);
        }
        return Collections.unmodifiableList(out);
    }

    Map<String, String> textMap(String key) {
        Object value = raw(key);
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map)) {
            throw wrong(key, "an object of text");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
            if (!(entry.getValue() instanceof String)) {
                throw wrong(key, "an object of text");
            }
            out.put((String) entry.getKey(), (String) entry.getValue());
        }
        return Collections.unmodifiableMap(out);
    }

    Map<String, Long> countMap(String key) {
        Object value = raw(key);
        if (value == null) {
            return Map.of();
        }
        if (!(value instanceof Map)) {
            throw wrong(key, "an object of integers");
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
            if (!(entry.getValue() instanceof Long)) {
                throw wrong(key, "an object of integers");
            }
            out.put((String) entry.getKey(), (Long) entry.getValue());
        }
        return Collections.unmodifiableMap(out);
    }

    /** The keys not read so far, with their values: what a newer daemon added. */
    Map<String, Object> unread() {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> entry : map.entrySet()) {
            if (!read.contains(entry.getKey())) {
                out.put(entry.getKey(), entry.getValue());
            }
        }
        return Collections.unmodifiableMap(out);
    }
}
