package dev.credd.client;

/** An unlock was given the wrong passphrase (wire code {@code wrong_passphrase}, HTTP 403, exit code 1). */
public class WrongPassphraseException extends LockedException {
    private static final long serialVersionUID = 1L;

    /** The wire error code. */
    public static final String CODE = "wrong_passphrase";

    /**
     * An error with this code.
     *
     * @param message what happened, for a person
     */
    public WrongPassphraseException(String message) {
        super(CODE, 403, 1, message);
    }

    /**
     * An error with this code and the error underneath.
     *
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public WrongPassphraseException(String message, Throwable cause) {
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
    protected WrongPassphraseException(String code, int httpStatus, int exitCode, String message) {
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
    protected WrongPassphraseException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(code, httpStatus, exitCode, message, cause);
    }
}
