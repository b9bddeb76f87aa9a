package dev.credd.client;

/** No daemon answers: no socket, connection refused, or nothing listening (wire code {@code daemon_unavailable}, HTTP 503, exit code 3). */
public class DaemonUnavailableException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "daemon_unavailable";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public DaemonUnavailableException(String message) {
        super(CODE, 503, 3, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public DaemonUnavailableException(String message, Throwable cause) {
        super(CODE, 503, 3, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected DaemonUnavailableException(String code, int httpStatus, int exitCode, String message) {
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
    protected DaemonUnavailableException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
