package dev.credd.client;

/**
 * Where the store key comes from, in {@link Status} ({@code KeyBackendStatus}).
 *
 * @param name the key backend's name
 * @param detail what it is, for a person
 * @param insecure whether it is a fallback weaker than a keyring (a key file)
 * @param reason why the fallback is in use, or null
 */
public record KeyBackendStatus(String name, String detail, boolean insecure, String reason) {
    static KeyBackendStatus fromJson(JsonObject json) {
        return new KeyBackendStatus(json.requiredText("name"), json.requiredText("detail"),
                json.bool("insecure"), json.text("reason"));
    }
}
