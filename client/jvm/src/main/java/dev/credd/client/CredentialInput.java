package dev.credd.client;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A credential to store with {@link CreddClient#set(String, CredentialInput)}: the body of
 * {@code PUT /v1/credentials/{name}}. Build one with {@link #secret(String)} or
 * {@link #oauth2(String, String, String)} and the {@code with...} methods; null fields are left
 * out. {@link #toString()} shows no secret value.
 *
 * @param kind {@code "secret"} or {@code "oauth2"}
 * @param secret the secret value; for oauth2, the current access token
 * @param username the user name, or null
 * @param labels the labels, string to string
 * @param allowedPrograms the absolute paths of the programs allowed to read it; empty: any
 * @param tokenEndpoint oauth2: the issuer's token endpoint
 * @param clientId oauth2: the client id
 * @param clientSecret oauth2: the client secret, or null
 * @param tokenEndpointAuthMethod oauth2: {@code client_secret_basic}, {@code client_secret_post} or {@code none}, or null
 * @param refreshToken the refresh token, or null
 * @param expiresAt when the secret or access token expires, or null
 * @param scope oauth2: the scope, or null
 */
public record CredentialInput(
        String kind,
        String secret,
        String username,
        Map<String, String> labels,
        List<String> allowedPrograms,
        String tokenEndpoint,
        String clientId,
        String clientSecret,
        String tokenEndpointAuthMethod,
        String refreshToken,
        Instant expiresAt,
        String scope) {

    /**
     * A plain secret (kind {@code secret}).
     *
     * @param secret the secret value
     * @return the input, to refine with the {@code with...} methods
     */
    public static CredentialInput secret(String secret) {
        return new CredentialInput("secret", secret, null, Map.of(), List.of(),
                null, null, null, null, null, null, null);
    }

    /**
     * An OAuth 2 credential the daemon keeps fresh.
     *
     * @param accessToken the current access token
     * @param tokenEndpoint the issuer's token endpoint
     * @param clientId the client id
     * @return the input, to refine with the {@code with...} methods
     */
    public static CredentialInput oauth2(String accessToken, String tokenEndpoint, String clientId) {
        return new CredentialInput("oauth2", accessToken, null, Map.of(), List.of(),
                tokenEndpoint, clientId, null, null, null, null, null);
    }

    /**
     * This input with a user name.
     *
     * @param value the user name
     * @return a new input
     */
    public CredentialInput withUsername(String value) {
        return new CredentialInput(kind, secret, value, labels, allowedPrograms, tokenEndpoint,
                clientId, clientSecret, tokenEndpointAuthMethod, refreshToken, expiresAt, scope);
    }

    /**
     * This input with labels.
     *
     * @param value the labels
     * @return a new input
     */
    public CredentialInput withLabels(Map<String, String> value) {
        return new CredentialInput(kind, secret, username, Map.copyOf(value), allowedPrograms,
                tokenEndpoint, clientId, clientSecret, tokenEndpointAuthMethod, refreshToken,
                expiresAt, scope);
    }

    /**
     * This input readable only by these programs.
     *
     * @param value absolute paths of executables
     * @return a new input
     */
    public CredentialInput withAllowedPrograms(List<String> value) {
        return new CredentialInput(kind, secret, username, labels, List.copyOf(value),
                tokenEndpoint, clientId, clientSecret, tokenEndpointAuthMethod, refreshToken,
                expiresAt, scope);
    }

    /**
     * This input with a client secret and how to send it.
     *
     * @param value the client secret
     * @param authMethod {@code client_secret_basic} or {@code client_secret_post}
     * @return a new input
     */
    public CredentialInput withClientSecret(String value, String authMethod) {
        return new CredentialInput(kind, secret, username, labels, allowedPrograms,
                tokenEndpoint, clientId, value, authMethod, refreshToken, expiresAt, scope);
    }

    /**
     * This input with a refresh token.
     *
     * @param value the refresh token
     * @return a new input
     */
    public CredentialInput withRefreshToken(String value) {
        return new CredentialInput(kind, secret, username, labels, allowedPrograms,
                tokenEndpoint, clientId, clientSecret, tokenEndpointAuthMethod, value, expiresAt,
                scope);
    }

    /**
     * This input with an expiry.
     *
     * @param value when the secret or access token expires
     * @return a new input
     */
    public CredentialInput withExpiresAt(Instant value) {
        return new CredentialInput(kind, secret, username, labels, allowedPrograms,
                tokenEndpoint, clientId, clientSecret, tokenEndpointAuthMethod, refreshToken,
                value, scope);
    }

    /**
     * This input with a scope.
     *
     * @param value the scope
     * @return a new input
     */
    public CredentialInput withScope(String value) {
        return new CredentialInput(kind, secret, username, labels, allowedPrograms,
                tokenEndpoint, clientId, clientSecret, tokenEndpointAuthMethod, refreshToken,
                expiresAt, value);
    }

    Map<String, Object> toJson() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("kind", kind);
        body.put("secret", secret);
        putIfSet(body, "username", username);
        body.put("labels", labels == null ? Map.of() : labels);
        body.put("allowed_programs", allowedPrograms == null ? List.of() : allowedPrograms);
        putIfSet(body, "token_endpoint", tokenEndpoint);
        putIfSet(body, "client_id", clientId);
        putIfSet(body, "client_secret", clientSecret);
        putIfSet(body, "token_endpoint_auth_method", tokenEndpointAuthMethod);
        putIfSet(body, "refresh_token", refreshToken);
        putIfSet(body, "expires_at", expiresAt == null ? null : expiresAt.toString());
        putIfSet(body, "scope", scope);
        return body;
    }

    private static void putIfSet(Map<String, Object> body, String key, Object value) {
        if (value != null) {
            body.put(key, value);
        }
    }

    /**
     * The fields without the secret values.
     *
     * @return a description safe to log
     */
    @Override
    public String toString() {
        return "CredentialInput[kind=" + kind + ", username=" + username + ", labels=" + labels
                + ", allowedPrograms=" + allowedPrograms + ", tokenEndpoint=" + tokenEndpoint
                + ", clientId=" + clientId + ", tokenEndpointAuthMethod=" + tokenEndpointAuthMethod
                + ", expiresAt=" + expiresAt + ", scope=" + scope + "]";
    }
}
