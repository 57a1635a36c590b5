package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.bus.Bus;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Calls on the metadata role for a signed-in caller, and the request parts those calls share. */
final class Calls {
  private Calls() {
  }

  /** Sends the request with the caller as {@code actor} and the {@code space} path parameter when there is one. */
  static Future<JsonObject> call(Vertx vertx, RoutingContext ctx, String address, JsonObject request) {
    request.put("actor", Principal.of(ctx).userId());
    String space = ctx.pathParam("space");
    if (space != null) {
      request.put("space", space);
    }
    return Bus.request(vertx, address, request);
  }

  static void answer(Future<JsonObject> call, RoutingContext ctx, int status) {
    call.onSuccess(body -> {
      if (status == 204) {
        ctx.response().setStatusCode(204).end();
      } else {
        Responses.json(ctx, status, body);
      }
    }).onFailure(ctx::fail);
  }

  /** A whole-number query parameter, or null when absent. */
  static Long longParam(RoutingContext ctx, String name) {
    String value = ctx.queryParams().get(name);
    if (value == null || value.isEmpty()) {
      return null;
    }
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, name + " must be a whole number");
    }
  }

  /**
   * The version in {@code If-Match} ({@code "3"}, {@code W/"3"} or {@code 3}); null when absent or
   * {@code *}. Anything else cannot match a node version, so it is a failed precondition.
   */
  static Long ifMatch(RoutingContext ctx) {
    String header = ctx.request().getHeader("If-Match");
    if (header == null || header.isBlank() || header.strip().equals("*")) {
      return null;
    }
    String tag = header.strip();
    if (tag.startsWith("W/")) {
      tag = tag.substring(2);
    }
    if (tag.length() >= 2 && tag.startsWith("\"") && tag.endsWith("\"")) {
      tag = tag.substring(1, tag.length() - 1);
    }
    try {
      return Long.parseLong(tag);
    } catch (NumberFormatException e) {
      throw new ApiException(ErrorCode.PRECONDITION_FAILED, "If-Match must carry a node version such as \"3\"");
    }
  }
}
