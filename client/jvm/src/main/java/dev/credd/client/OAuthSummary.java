package dev.credd.client;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The background refresher's summary, in {@link Status} ({@code OAuthSummary}).
 *
 * @param nextRefreshAt the next refresh of any credential, or null
 * @param failures the credentials whose refresh fails
 * @param credentials every oauth2 credential's state
 */
public record OAuthSummary(
        Instant nextRefreshAt, List<OAuthFailure> failures, List<OAuthCredentialState> credentials) {
    static OAuthSummary fromJson(JsonObject json) {
        List<OAuthFailure> failures = new ArrayList<>();
        for (JsonObject item : json.objects("failures")) {
            failures.add(OAuthFailure.fromJson(item));
        }
        List<OAuthCredentialState> credentials = new ArrayList<>();
        for (JsonObject item : json.objects("credentials")) {
            credentials.add(OAuthCredentialState.fromJson(item));
        }
        return new OAuthSummary(json.instant("next_refresh_at"),
                Collections.unmodifiableList(failures), Collections.unmodifiableList(credentials));
    }
}
