package dev.credd.client;

/**
 * One change the daemon reports ({@code GET /v1/events}): never a value.
 *
 * @param type {@code changed}, {@code deleted}, {@code refreshed}, {@code locked} or
 *     {@code unlocked}
 * @param name the credential's name, or null for {@code locked} and {@code unlocked}
 * @param version the credential's version, or null for {@code locked} and {@code unlocked}
 */
public record WatchEvent(String type, String name, Long version) {
}
