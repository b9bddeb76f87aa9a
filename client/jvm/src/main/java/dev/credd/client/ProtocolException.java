package dev.credd.client;

/** An answer from the daemon that makes no sense (wire code {@code protocol_error}, HTTP 502, exit code 1). */
public class ProtocolException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "protocol_error";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public ProtocolException(String message) {
        super(CODE, 502, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public ProtocolException(String message, Throwable cause) {
        super(CODE, 502, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected ProtocolException(String code, int httpStatus, int exitCode, String message) {
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
    protected ProtocolException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
