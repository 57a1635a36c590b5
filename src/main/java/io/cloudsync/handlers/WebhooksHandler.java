package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code /api/v1/spaces/{space}/webhooks}: endpoints, their secrets and their delivery log. */
public final class WebhooksHandler {
  private final Vertx vertx;

  public WebhooksHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  public void create(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = fields(body).put("url", Bodies.string(body, "url"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_CREATE, request), ctx, 201);
  }

  public void list(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_LIST, new JsonObject()), ctx, 200);
  }

  public void get(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_GET, id(ctx)), ctx, 200);
  }

  /** PATCH {@code {url?, events?, enabled?}}. */
  public void update(RoutingContext ctx) {
    JsonObject body = Bodies.json(ctx);
    JsonObject request = fields(body).put("id", ctx.pathParam("webhook"));
    if (body.containsKey("url")) {
      request.put("url", Bodies.string(body, "url"));
    }
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_UPDATE, request), ctx, 200);
  }

  public void delete(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_DELETE, id(ctx)), ctx, 204);
  }

  public void rotateSecret(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_ROTATE_SECRET, id(ctx)), ctx, 200);
  }

  /** GET {@code …/deliveries?status=&limit=&cursor=}. */
  public void deliveries(RoutingContext ctx) {
    JsonObject request = id(ctx)
        .put("status", ctx.queryParams().get("status"))
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("cursor", Calls.longParam(ctx, "cursor"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_DELIVERIES, request), ctx, 200);
  }

  public void replay(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.WEBHOOKS_REPLAY, id(ctx).put("delivery", ctx.pathParam("delivery"))),
        ctx, 202);
  }

  private static JsonObject id(RoutingContext ctx) {
    return new JsonObject().put("id", ctx.pathParam("webhook"));
  }

  /** The optional fields of create and update, type-checked; absent ones stay absent. */
  private static JsonObject fields(JsonObject body) {
    JsonObject request = new JsonObject();
    if (body.containsKey("events")) {
      Object events = body.getValue("events");
      if (events != null && !(events instanceof io.vertx.core.json.JsonArray)) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "events must be a list of change kinds");
      }
      request.put("events", events);
    }
    if (body.containsKey("enabled")) {
      Object enabled = body.getValue("enabled");
      if (!(enabled instanceof Boolean)) {
        throw new ApiException(ErrorCode.VALIDATION_FAILED, "enabled must be true or false");
      }
      request.put("enabled", enabled);
    }
    return request;
  }
}
