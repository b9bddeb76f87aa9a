package dev.credd.client;

/**
 * The benchmark's JVM side: {@code Bench WARMUP COUNT NAME} gets the credential NAME from the
 * daemon of the environment WARMUP times (so that the JIT has compiled the path), then COUNT
 * times, each timed, and prints the COUNT durations in nanoseconds on one line.
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) {
        int warmup = Integer.parseInt(args[0]);
        int count = Integer.parseInt(args[1]);
        String name = args[2];
        long[] samples = new long[count];
        try (CreddClient credd = CreddClient.create()) {
            for (int i = 0; i < warmup; i++) {
                credd.get(name);
            }
            for (int i = 0; i < count; i++) {
                long start = System.nanoTime();
                credd.get(name);
                samples[i] = System.nanoTime() - start;
            }
        }
        StringBuilder out = new StringBuilder();
        for (long sample : samples) {
            out.append(sample).append(' ');
        }
        System.out.println(out.toString().trim());
    }
}
