package dev.credd.client;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One credential as the daemon returns it ({@code CredentialOut}).
 *
 * <p>{@code secret} is set only by the calls that return it ({@link CreddClient#get} and
 * {@link CreddClient#refresh}); the OAuth fields are null for a plain secret;
 * {@code clientSecret} and {@code refreshToken} only when asked for with an include. Fields a
 * newer daemon adds land in {@code extra}. {@link #toString()} shows no secret value.
 *
 * @param name the name, the key of the credential
 * @param kind {@code "secret"}, {@code "oauth2"}, {@code "ssh-key"}, {@code "aws"} or {@code "kube"}
 * @param username the user name, or null
 * @param secret the secret value (for oauth2, the current access token), or null when not returned
 * @param labels the labels, string to string
 * @param allowedPrograms the absolute paths of the programs allowed to read it; empty: any
 * @param createdAt when it was created
 * @param updatedAt when it was last changed
 * @param tokenEndpoint oauth2: the issuer's token endpoint
 * @param clientId oauth2: the client id
 * @param clientSecret oauth2: the client secret, only when asked for
 * @param tokenEndpointAuthMethod oauth2: {@code client_secret_basic}, {@code client_secret_post} or {@code none}
 * @param refreshToken oauth2: the refresh token, only when asked for
 * @param expiresAt when the access token (or the secret) expires, or null
 * @param scope oauth2: the scope granted
 * @param status oauth2: {@code ok}, {@code needs_login} or {@code error}
 * @param lastError oauth2: the last refresh error, or null
 * @param nextRefreshAt oauth2: when the daemon refreshes next, or null
 * @param origin the view it was made through, or null for the main socket
 * @param version bumped with every change of the credential (change events), or null from an
 *     older daemon
 * @param publicKey ssh-key: the public key line (as in a .pub file), or null
 * @param keyType ssh-key: {@code ssh-ed25519}, {@code ecdsa-sha2-nistp256/384/521} or {@code ssh-rsa}
 * @param fingerprint ssh-key: {@code SHA256:...} as {@code ssh-keygen -l} prints it
 * @param comment ssh-key: the key's comment
 * @param offered ssh-key: whether the agent offers it ({@code ssh-add -d} clears it); null otherwise
 * @param extra fields this client does not know yet
 * @param accessKeyId aws: the key's id (the keys themselves come from {@code GET /v1/aws/{name}})
 * @param region aws: the profile's region, or null
 * @param mfaSerial aws: the MFA device, or null
 * @param roleArn aws: the role assumed, or null
 * @param session aws: whether STS session keys are handed out, or null
 * @param sessionDuration aws: seconds a session lasts, or null for STS's defaults
 * @param clientCertificate kube: a client-certificate user's certificate (PEM); its key is never here
 * @param idToken oauth2: an OpenID Connect login's ID token, only when asked for
 * @param idTokenExpiresAt oauth2: when that ID token expires, or null
 */
public record Credential(
        String name,
        String kind,
        String username,
        String secret,
        Map<String, String> labels,
        List<String> allowedPrograms,
        Instant createdAt,
        Instant updatedAt,
        String tokenEndpoint,
        String clientId,
        String clientSecret,
        String tokenEndpointAuthMethod,
        String refreshToken,
        Instant expiresAt,
        String scope,
        String status,
        String lastError,
        Instant nextRefreshAt,
        // Reach without exposure (issue 19): where the credential was made.
        String origin,
        // Change events (issue 22)
        Long version,
        // ssh-key (issue 20); extra stays last: it holds what was not read before it
        String publicKey,
        String keyType,
        String fingerprint,
        String comment,
        Boolean offered,
        Map<String, Object> extra,
        // AWS (issue 21)
        String accessKeyId,
        String region,
        String mfaSerial,
        String roleArn,
        Boolean session,
        Long sessionDuration,
        // Kubernetes and OpenID Connect (issue 21)
        String clientCertificate,
        String idToken,
        Instant idTokenExpiresAt) {

    static Credential fromJson(JsonObject json) {
        // The aws fields are read first: `unread` (extra) is what no field took.
        String accessKeyId = json.text("access_key_id");
        String region = json.text("region");
        String mfaSerial = json.text("mfa_serial");
        String roleArn = json.text("role_arn");
        Boolean session = json.optionalBool("session");
        Long sessionDuration = json.optionalLong("session_duration");
        String clientCertificate = json.text("client_certificate");
        String idToken = json.text("id_token");
        Instant idTokenExpiresAt = json.instant("id_token_expires_at");
        return new Credential(
                json.requiredText("name"),
                json.requiredText("kind"),
                json.text("username"),
                json.text("secret"),
                json.textMap("labels"),
                json.texts("allowed_programs"),
                json.instant("created_at"),
                json.instant("updated_at"),
                json.text("token_endpoint"),
                json.text("client_id"),
                json.text("client_secret"),
                json.text("token_endpoint_auth_method"),
                json.text("refresh_token"),
                json.instant("expires_at"),
                json.text("scope"),
                json.text("status"),
                json.text("last_error"),
                json.instant("next_refresh_at"),
                json.text("origin"),
                json.optionalLong("version"),
                json.text("public_key"),
                json.text("key_type"),
                json.text("fingerprint"),
                json.text("comment"),
                json.optionalBool("offered"),
                json.unread(),
                accessKeyId,
                region,
                mfaSerial,
                roleArn,
                session,
                sessionDuration,
                clientCertificate,
                idToken,
                idTokenExpiresAt);
    }

    /**
     * The fields without the secret values ({@code secret}, {@code clientSecret},
     * {@code refreshToken}, {@code idToken}) and without {@code extra}, which may hold one.
     *
     * @return a description safe to log
     */
    @Override
    public String toString() {
        return "Credential[name=" + name + ", kind=" + kind + ", username=" + username
                + ", labels=" + labels + ", allowedPrograms=" + allowedPrograms
                + ", createdAt=" + createdAt + ", updatedAt=" + updatedAt
                + ", tokenEndpoint=" + tokenEndpoint + ", clientId=" + clientId
                + ", tokenEndpointAuthMethod=" + tokenEndpointAuthMethod
                + ", expiresAt=" + expiresAt + ", scope=" + scope + ", status=" + status
                + ", lastError=" + lastError + ", nextRefreshAt=" + nextRefreshAt
                + ", origin=" + origin + ", version=" + version
                + ", publicKey=" + publicKey + ", keyType=" + keyType
                + ", fingerprint=" + fingerprint + ", comment=" + comment
                + ", offered=" + offered
                + ", accessKeyId=" + accessKeyId + ", region=" + region + ", mfaSerial=" + mfaSerial
                + ", roleArn=" + roleArn + ", session=" + session
                + ", sessionDuration=" + sessionDuration
                + ", clientCertificate=" + clientCertificate + ", idTokenExpiresAt=" + idTokenExpiresAt
                + "]";
    }
}
