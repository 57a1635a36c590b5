package io.cloudsync.handlers;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Writing JSON answers, success and error alike. */
public final class Responses {
  public static final String JSON = "application/json; charset=utf-8";

  private Responses() {
  }

  public static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(body.encode());
  }

  public static void ok(RoutingContext ctx, JsonObject body) {
    json(ctx, 200, body);
  }

  public static JsonObject errorBody(ErrorCode code, String message) {
    return new JsonObject().put("status", code.httpStatus()).put("code", code.code()).put("message", message);
  }

  public static void error(RoutingContext ctx, ApiException error) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    if (!ctx.request().isEnded()) {
      // Answered before the body was read (a limit, a refusal): close rather than read what is left.
      ctx.response().putHeader("Connection", "close");
    }
    if (error.retryAfterSeconds() > 0) {
      ctx.response().putHeader("Retry-After", String.valueOf(error.retryAfterSeconds()));
    }
    JsonObject body = errorBody(error.code(), error.getMessage());
    if (error.details() != null) {
      error.details().forEach(field -> body.put(field.getKey(), field.getValue()));
    }
    json(ctx, error.code().httpStatus(), body);
  }
}
