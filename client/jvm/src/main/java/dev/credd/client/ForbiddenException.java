package dev.credd.client;

/** This peer may not do that, or the socket or daemon is not the user's own (wire code {@code forbidden}, HTTP 403, exit code 1). */
public class ForbiddenException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "forbidden";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public ForbiddenException(String message) {
        super(CODE, 403, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public ForbiddenException(String message, Throwable cause) {
        super(CODE, 403, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected ForbiddenException(String code, int httpStatus, int exitCode, String message) {
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
    protected ForbiddenException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
