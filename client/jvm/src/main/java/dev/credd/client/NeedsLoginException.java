package dev.credd.client;

/** An OAuth grant needs {@code credd login} again (wire code {@code needs_login}, HTTP 409, exit code 5). */
public class NeedsLoginException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "needs_login";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public NeedsLoginException(String message) {
        super(CODE, 409, 5, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public NeedsLoginException(String message, Throwable cause) {
        super(CODE, 409, 5, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected NeedsLoginException(String code, int httpStatus, int exitCode, String message) {
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
    protected NeedsLoginException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
