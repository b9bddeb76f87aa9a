package dev.credd.client;

/** No such credential or path (wire code {@code not_found}, HTTP 404, exit code 4). */
public class NotFoundException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "not_found";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public NotFoundException(String message) {
        super(CODE, 404, 4, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public NotFoundException(String message, Throwable cause) {
        super(CODE, 404, 4, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected NotFoundException(String code, int httpStatus, int exitCode, String message) {
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
    protected NotFoundException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
