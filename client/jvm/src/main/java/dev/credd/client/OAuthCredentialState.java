package dev.credd.client;

import java.time.Instant;

/**
 * One oauth2 credential's refresh state, in {@link OAuthSummary} ({@code OAuthCredentialState}).
 *
 * @param name the credential's name
 * @param status {@code ok}, {@code needs_login} or {@code error}
 * @param expiresAt when its access token expires, or null
 * @param nextRefreshAt when the daemon refreshes it next, or null
 * @param lastError the last refresh error, or null
 */
public record OAuthCredentialState(
        String name, String status, Instant expiresAt, Instant nextRefreshAt, String lastError) {
    static OAuthCredentialState fromJson(JsonObject json) {
        return new OAuthCredentialState(json.requiredText("name"), json.requiredText("status"),
                json.instant("expires_at"), json.instant("next_refresh_at"),
                json.text("last_error"));
    }
}
