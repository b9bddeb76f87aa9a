package dev.credd.client;

/** Connected to the daemon, but it did not answer within the client's timeout (wire code {@code daemon_timeout}, HTTP 504, exit code 1). */
public class DaemonTimeoutException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "daemon_timeout";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public DaemonTimeoutException(String message) {
        super(CODE, 504, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public DaemonTimeoutException(String message, Throwable cause) {
        super(CODE, 504, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected DaemonTimeoutException(String code, int httpStatus, int exitCode, String message) {
        super(code, httpStatus, exitCode, message);
    }

    /**
     * For subclasses: their own code, status and exit code, and the error underneath.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    protected DaemonTimeoutException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
