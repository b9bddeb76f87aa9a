package dev.credd.client;

/**
 * The base of every error the client raises: the daemon's wire error code, its HTTP status and
 * the exit code a command line tool gives for it.
 *
 * <p>The tree mirrors the Python client's ({@code credd_client.errors}). An error code this
 * client does not know yet arrives as a plain {@code CreddException} whose {@link #code()} is
 * the wire code. Messages never hold a secret value.
 */
public class CreddException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The code of an error that has no more specific one. */
    public static final String CODE = "error";

    /** The wire error code. */
    private final String code;
    /** The HTTP status of the error. */
    private final int httpStatus;
    /** The exit code of a command line tool for the error. */
    private final int exitCode;

    /**
     * An error with an explicit code, status and exit code.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status the daemon answers this error with
     * @param exitCode the exit code of a command line tool for this error
     * @param message what happened, for a person
     */
    public CreddException(String code, int httpStatus, int exitCode, String message) {
        super(message);
        this.code = code;
        this.httpStatus = httpStatus;
        this.exitCode = exitCode;
    }

    /**
     * An error with an explicit code, status, exit code and cause.
     *
     * @param code the wire error code
     * @param httpStatus the HTTP status the daemon answers this error with
     * @param exitCode the exit code of a command line tool for this error
     * @param message what happened, for a person
     * @param cause the error underneath
     */
    public CreddException(String code, int httpStatus, int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
        this.httpStatus = httpStatus;
        this.exitCode = exitCode;
    }

    /**
     * The wire error code, such as {@code not_found}.
     *
     * @return the code
     */
    public String code() {
        return code;
    }

    /**
     * The HTTP status the daemon answers this error with.
     *
     * @return the status
     */
    public int httpStatus() {
        return httpStatus;
    }

    /**
     * The exit code of the {@code credd} command line for this error.
     *
     * @return the exit code
     */
    public int exitCode() {
        return exitCode;
    }

    /**
     * The exception for a wire error code; an unknown code becomes a plain {@code CreddException}.
     *
     * @param code the wire code
     * @param message the daemon's message
     * @param httpStatus the HTTP status of the answer (kept for an unknown code)
     * @return the matching exception, not thrown
     */
    public static CreddException forCode(String code, String message, int httpStatus) {
        switch (code) {
            case DaemonUnavailableException.CODE: return new DaemonUnavailableException(message);
            case DaemonTimeoutException.CODE: return new DaemonTimeoutException(message);
            case ProtocolException.CODE: return new ProtocolException(message);
            case InvalidRequestException.CODE: return new InvalidRequestException(message);
            case PayloadTooLargeException.CODE: return new PayloadTooLargeException(message);
            case NotFoundException.CODE: return new NotFoundException(message);
            case NeedsLoginException.CODE: return new NeedsLoginException(message);
            case LockedException.CODE: return new LockedException(message);
            case WrongPassphraseException.CODE: return new WrongPassphraseException(message);
            case StoreUnreadableException.CODE: return new StoreUnreadableException(message);
            case WriteFailedException.CODE: return new WriteFailedException(message);
            case RefreshFailedException.CODE: return new RefreshFailedException(message);
            case ForbiddenException.CODE: return new ForbiddenException(message);
            case InternalErrorException.CODE: return new InternalErrorException(message);
            case LoginFailedException.CODE: return new LoginFailedException(message);
            case MethodNotAllowedException.CODE: return new MethodNotAllowedException(message);
            default: return new CreddException(code, httpStatus, 1, message);
        }
    }
}
