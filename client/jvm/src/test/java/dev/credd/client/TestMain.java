package dev.credd.client;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The project's own test runner, so that the tests need nothing outside the JDK: runs the
 * public no-argument methods whose names start with "test" of the classes named on the command
 * line ({@code Class} or {@code Class#method}), each bounded in time so that a hang fails a
 * test instead of the run, and ends with one summary line. Exit status 0 only when every test
 * passed and at least one ran.
 */
public final class TestMain {
    private static final long TEST_BOUND_SECONDS = 120;

    private TestMain() {
    }

    public static void main(String[] args) throws Exception {
        List<Method> tests = new ArrayList<>();
        for (String arg : args) {
            String[] parts = arg.split("#", 2);
            Class<?> type = Class.forName("dev.credd.client." + parts[0]);
            List<Method> methods = new ArrayList<>(Arrays.asList(type.getDeclaredMethods()));
            methods.sort(Comparator.comparing(Method::getName));
            for (Method method : methods) {
                if (method.getName().startsWith("test") && method.getParameterCount() == 0
                        && Modifier.isPublic(method.getModifiers())
                        && (parts.length == 1 || parts[1].equals(method.getName()))) {
                    tests.add(method);
                }
            }
        }
        int passed = 0;
        List<String> failed = new ArrayList<>();
        ExecutorService runner = Executors.newCachedThreadPool(task -> {
            Thread thread = new Thread(task, "test");
            thread.setDaemon(true);
            return thread;
        });
        long started = System.nanoTime();
        for (Method method : tests) {
            String name = method.getDeclaringClass().getSimpleName() + "." + method.getName();
            long t0 = System.nanoTime();
            Future<?> run = runner.submit(() -> {
                Object instance = Modifier.isStatic(method.getModifiers())
                        ? null : method.getDeclaringClass().getDeclaredConstructor().newInstance();
                try {
                    method.invoke(instance);
                } catch (InvocationTargetException e) {
                    if (e.getCause() instanceof Error) {
                        throw (Error) e.getCause();
                    }
                    throw e.getCause() instanceof Exception ? (Exception) e.getCause() : e;
                }
                return null;
            });
            try {
                run.get(TEST_BOUND_SECONDS, TimeUnit.SECONDS);
                passed++;
                System.out.printf("ok   %s (%d ms)%n", name, (System.nanoTime() - t0) / 1_000_000);
            } catch (ExecutionException e) {
                failed.add(name);
                System.out.printf("FAIL %s%n", name);
                e.getCause().printStackTrace(System.out);
            } catch (TimeoutException e) {
                run.cancel(true);
                failed.add(name);
                System.out.printf("FAIL %s: still running after %d s (a hang)%n", name, TEST_BOUND_SECONDS);
            }
        }
        System.out.printf("jvm tests: %d passed, %d failed, %d total in %.1f s%s%n", passed,
                failed.size(), tests.size(), (System.nanoTime() - started) / 1e9,
                failed.isEmpty() ? "" : " (failed: " + String.join(", ", failed) + ")");
        System.exit(failed.isEmpty() && !tests.isEmpty() ? 0 : 1);
    }
}
