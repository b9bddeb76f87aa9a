package dev.credd.client;

/** The store file does not decrypt or parse (wire code {@code store_unreadable}, HTTP 503, exit code 1). */
public class StoreUnreadableException extends CreddException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "store_unreadable";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public StoreUnreadableException(String message) {
        super(CODE, 503, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public StoreUnreadableException(String message, Throwable cause) {
        super(CODE, 503, 1, message, cause);
    }

    /**
     * For subclasses: their own code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status
     * @param exitCode the exit code
     * @param message what happened, for a person
     */
    protected StoreUnreadableException(String code, int httpStatus, int exitCode, String message) {
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
    protected StoreUnreadableException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
