package dev.credd.client;

import java.time.Instant;
import java.util.List;

/**
 * A view of the store on a socket of its own, in {@link Status} ({@code ViewStatus}).
 *
 * @param name the view's name
 * @param patterns the credential name patterns it shows
 * @param write whether it may write
 * @param uids the user ids allowed to connect
 * @param socket its socket path; null through the view itself
 * @param expiresAt when it closes, or null
 * @param lastUsedAt when it was last used, or null
 * @param requests how many requests it has served
 * @param sshKeys the ssh-key name patterns its agent socket offers (empty: no agent socket)
 * @param agentSocket its SSH agent socket path, or null
 */
public record ViewStatus(
        String name,
        List<String> patterns,
        boolean write,
        List<Long> uids,
        String socket,
        Instant expiresAt,
        Instant lastUsedAt,
        long requests,
        // SSH keys (issue 20)
        List<String> sshKeys,
        String agentSocket) {
    static ViewStatus fromJson(JsonObject json) {
        return new ViewStatus(json.requiredText("name"), json.texts("patterns"), json.bool("write"),
                json.longs("uids"), json.text("socket"), json.instant("expires_at"),
                json.instant("last_used_at"), json.requiredLong("requests"),
                json.texts("ssh_keys"), json.text("agent_socket"));
    }
}
