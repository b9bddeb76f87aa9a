package dev.credd.client;

/**
 * Whether the daemon can read its clients' executables, in {@link Status}
 * ({@code ProgramIdentity}).
 *
 * @param identifiable whether per-program access and the audit's program names work
 * @param reason why not, or null
 */
public record ProgramIdentity(boolean identifiable, String reason) {
    static ProgramIdentity fromJson(JsonObject json) {
        return new ProgramIdentity(json.bool("identifiable"), json.text("reason"));
    }
}
