package dev.credd.client;

import java.util.Objects;

/** The assertions of the tests: a failure is an AssertionError with what differed. */
final class Check {
    private Check() {
    }

    interface Call {
        void run() throws Exception;
    }

    static void equal(Object expected, Object actual) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError("expected <" + expected + "> but got <" + actual + ">");
        }
    }

    static void that(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    /** Runs the call, which must throw exactly this type (not a subclass); returns it. */
    static <T extends Throwable> T raises(Class<T> type, Call call) {
        try {
            call.run();
        } catch (Throwable e) {
            if (e.getClass() == type) {
                return type.cast(e);
            }
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + e, e);
        }
        throw new AssertionError("expected " + type.getSimpleName() + " but nothing was thrown");
    }

    static String env(String name) {
        String value = System.getenv(name);
        if (value == null) {
            throw new AssertionError("the test needs " + name + " in its environment");
        }
        return value;
    }
}
