package dev.credd.client;

/** An OAuth login with the issuer failed (wire code {@code login_failed}, HTTP 400, exit code 1). */
public class LoginFailedException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "login_failed";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public LoginFailedException(String message) {
        super(CODE, 400, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public LoginFailedException(String message, Throwable cause) {
        super(CODE, 400, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected LoginFailedException(String code, int httpStatus, int exitCode, String message) {
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
    protected LoginFailedException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
