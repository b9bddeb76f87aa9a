package dev.credd.client;

/** The path does not take that method, a client out of step with the daemon (wire code {@code method_not_allowed}, HTTP 405, exit code 1). */
public class MethodNotAllowedException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "method_not_allowed";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public MethodNotAllowedException(String message) {
        super(CODE, 405, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public MethodNotAllowedException(String message, Throwable cause) {
        super(CODE, 405, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected MethodNotAllowedException(String code, int httpStatus, int exitCode, String message) {
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
    protected MethodNotAllowedException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
