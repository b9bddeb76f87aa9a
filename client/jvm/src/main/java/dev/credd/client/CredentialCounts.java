package dev.credd.client;

import java.util.Map;

/**
 * How many credentials the store holds, in {@link Status} ({@code CredentialCounts}).
 *
 * @param total the number of credentials, or null while locked
 * @param byKind counts by kind
 * @param byStatus counts of oauth2 credentials by status
 */
public record CredentialCounts(Long total, Map<String, Long> byKind, Map<String, Long> byStatus) {
    static CredentialCounts fromJson(JsonObject json) {
        return new CredentialCounts(json.optionalLong("total"), json.countMap("by_kind"),
                json.countMap("by_status"));
    }
}
