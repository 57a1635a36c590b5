package io.cloudsync.files;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Reading the fields of metadata bus requests, with a 400 for anything of the wrong shape. */
final class Requests {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  private Requests() {
  }

  static String string(JsonObject request, String field) {
    Object value = request.getValue(field);
    if (value != null && !(value instanceof String)) {
      throw bad(field + " must be a string");
    }
    return (String) value;
  }

  static Long optionalLong(JsonObject request, String field) {
    Object value = request.getValue(field);
    if (value == null) {
      return null;
    }
    if (value instanceof Number number && number.doubleValue() == number.longValue()) {
      return number.longValue();
    }
    throw bad(field + " must be a whole number");
  }

  static long requiredLong(JsonObject request, String field) {
    Long value = optionalLong(request, field);
    if (value == null) {
      throw bad(field + " is required");
    }
    return value;
  }

  static int limit(JsonObject request, int fallback, int max) {
    Long value = optionalLong(request, "limit");
    if (value == null) {
      return fallback;
    }
    if (value < 1 || value > max) {
      throw bad("limit must be between 1 and " + max);
    }
    return value.intValue();
  }

  static int offset(JsonObject request) {
    Long value = optionalLong(request, "offset");
    if (value == null) {
      return 0;
    }
    if (value < 0 || value > Integer.MAX_VALUE) {
      throw bad("offset must not be negative");
    }
    return value.intValue();
  }

  static boolean sha256(String value) {
    return value != null && SHA256.matcher(value).matches();
  }

  /** A list of lower-case hex SHA-256 hashes. */
  static List<String> hashes(JsonObject request, String field, int max) {
    JsonArray array;
    try {
      array = request.getJsonArray(field);
    } catch (ClassCastException e) {
      throw bad(field + " must be an array of SHA-256 hashes");
    }
    if (array == null) {
      throw bad(field + " is required");
    }
    if (array.size() > max) {
      throw bad(field + " can hold at most " + max + " hashes");
    }
    List<String> out = new ArrayList<>();
    for (Object each : array) {
      if (!(each instanceof String hash) || !sha256(hash)) {
        throw bad(field + " must hold lower-case hex SHA-256 hashes");
      }
      out.add(hash);
    }
    return out;
  }

  static ApiException bad(String message) {
    return new ApiException(ErrorCode.VALIDATION_FAILED, message);
  }
}
