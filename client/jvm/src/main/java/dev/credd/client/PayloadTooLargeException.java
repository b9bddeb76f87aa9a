package dev.credd.client;

/** A request body over the daemon's limit (wire code {@code payload_too_large}, HTTP 413, exit code 2). */
public class PayloadTooLargeException extends InvalidRequestException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "payload_too_large";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public PayloadTooLargeException(String message) {
        super(CODE, 413, 2, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public PayloadTooLargeException(String message, Throwable cause) {
        super(CODE, 413, 2, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected PayloadTooLargeException(String code, int httpStatus, int exitCode, String message) {
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
    protected PayloadTooLargeException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
