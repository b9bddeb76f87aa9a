package dev.credd.client;

/**
 * An oauth2 credential whose refresh fails, in {@link OAuthSummary} ({@code OAuthFailure}).
 *
 * @param name the credential's name
 * @param status its status
 * @param lastError the last refresh error, or null
 */
public record OAuthFailure(String name, String status, String lastError) {
    static OAuthFailure fromJson(JsonObject json) {
        return new OAuthFailure(json.requiredText("name"), json.requiredText("status"),
                json.text("last_error"));
    }
}
