package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;

/** What a subscription's {@code presence} option asked for: {@code true} or {@code {device?, state?}}. */
public record PresenceRequest(String device, JsonObject state) {
  public static final int MAX_DEVICE_LENGTH = 64;

  public static PresenceRequest parse(Object value, int maxState) {
    if (value == null || Boolean.FALSE.equals(value)) {
      return null;
    }
    if (Boolean.TRUE.equals(value)) {
      return new PresenceRequest(null, null);
    }
    if (!(value instanceof JsonObject options)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "\"presence\" must be true or {\"device\"?, \"state\"?}");
    }
    Object device = options.getValue("device");
    if (device != null && (!(device instanceof String text) || text.length() > MAX_DEVICE_LENGTH
        || text.codePoints().anyMatch(Character::isISOControl))) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "\"device\" must be a string of at most "
          + MAX_DEVICE_LENGTH + " characters");
    }
    return new PresenceRequest((String) device, state(options.getValue("state"), maxState));
  }

  /** A presence state: a JSON object of at most {@code maxState} bytes, or null. */
  public static JsonObject state(Object value, int maxState) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonObject state)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "A presence \"state\" must be a JSON object or null");
    }
    if (state.encode().getBytes(StandardCharsets.UTF_8).length > maxState) {
      throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "A presence state may be " + maxState
          + " bytes at most (sync.presence_max_state)");
    }
    return state;
  }
}
