package io.cloudsync.handlers;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;

/** Reading request bodies: a JSON object or a clear 400. */
public final class Bodies {
  private Bodies() {
  }

  /** The body as a JSON object; an empty body is an empty object. */
  public static JsonObject json(RoutingContext ctx) {
    Buffer body = ctx.body() == null ? null : ctx.body().buffer();
    if (body == null || body.length() == 0) {
      return new JsonObject();
    }
    if (!body.toString(StandardCharsets.UTF_8).stripLeading().startsWith("{")) {
      throw new ApiException(ErrorCode.INVALID_JSON, "The request body must be a JSON object");
    }
    try {
      return new JsonObject(body);
    } catch (DecodeException e) {
      throw new ApiException(ErrorCode.INVALID_JSON, "The request body is not valid JSON");
    }
  }

  /** A string field, or null; a present field of another type is a 400. */
  public static String string(JsonObject body, String field) {
    Object value = body.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String text)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, field + " must be a string");
    }
    return text;
  }
}
