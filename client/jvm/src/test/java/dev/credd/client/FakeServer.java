package dev.credd.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listener on a socket in a fresh private folder under /tmp, answering each request as its
 * handler says: well-formed HTTP, garbage, half an answer, or nothing at all. It records the
 * requests and counts the connections.
 */
final class FakeServer implements AutoCloseable {
    /** One request as received. */
    record Request(String head, byte[] body, int connection) {
        String line() {
            return head.split("\r\n", 2)[0];
        }

        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Answers one request; returns false to close the connection after. */
    interface Handler {
        boolean answer(Request request, OutputStream out, FakeServer server) throws Exception;
    }

    final Path folder;
    final Path socket;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger connections = new AtomicInteger();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final ServerSocketChannel server;
    private final Handler handler;
    private final List<SocketChannel> clients = new CopyOnWriteArrayList<>();

    FakeServer(Handler handler) throws IOException {
        this.handler = handler;
        folder = Files.createTempDirectory(Path.of("/tmp"), "cdjf");
        socket = folder.resolve("credd.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread acceptor = new Thread(this::accept, "fake-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A JSON answer with Content-Length. */
    static String json(int status, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes.length + "\r\n\r\n" + body;
    }

    static void send(OutputStream out, String raw) throws IOException {
        out.write(raw.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Blocks until the server is closed: an answer that never comes. */
    void hang() throws InterruptedException {
        closed.await();
    }

    CreddClient client(double timeoutSeconds) {
        return CreddClient.builder().socketPath(socket)
                .timeout(java.time.Duration.ofMillis((long) (timeoutSeconds * 1000))).build();
    }

    private void accept() {
        while (true) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (IOException e) {
                return;
            }
            clients.add(channel);
            int number = connections.incrementAndGet();
            Thread serve = new Thread(() -> serve(channel, number), "fake-connection");
            serve.setDaemon(true);
            serve.start();
        }
    }

    private void serve(SocketChannel channel, int number) {
        try (channel) {
            InputStream in = Channels.newInputStream(channel);
            OutputStream out = Channels.newOutputStream(channel);
            while (true) {
                Request request = read(in, number);
                if (request == null) {
                    return;
                }
                requests.add(request);
                if (!handler.answer(request, out, this)) {
                    return;
                }
            }
        } catch (Exception e) {
            // the client went away, or the server closed: the connection ends
        }
    }

    private static Request read(InputStream in, int number) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        String text = head.toString(StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : text.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        byte[] body = in.readNBytes(length);
        return new Request(text, body, number);
    }

    @Override
    public void close() throws IOException {
        closed.countDown();
        server.close();
        for (SocketChannel channel : clients) {
            channel.close();
        }
        Files.deleteIfExists(socket);
        Files.deleteIfExists(folder);
    }
}
