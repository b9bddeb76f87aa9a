package dev.credd.client;

/**
 * The store file's state in {@link Status} ({@code StoreStatus}).
 *
 * @param path where the store file is
 * @param exists whether it exists
 * @param size its size in bytes, or null
 * @param state {@code ok}, {@code missing} or {@code unreadable}
 * @param error why it is unreadable, or null
 */
public record StoreStatus(String path, boolean exists, Long size, String state, String error) {
    static StoreStatus fromJson(JsonObject json) {
        return new StoreStatus(json.requiredText("path"), json.bool("exists"),
                json.optionalLong("size"), json.requiredText("state"), json.text("error"));
    }
}
