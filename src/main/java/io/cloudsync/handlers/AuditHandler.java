package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /api/v1/spaces/{space}/audit} and {@code GET /api/v1/admin/audit}. */
public final class AuditHandler {
  private final Vertx vertx;

  public AuditHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  /** {@code ?actor=&kind=&from=&to=&limit=&cursor=}. */
  public void space(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.AUDIT_SPACE, filters(ctx)), ctx, 200);
  }

  /** {@code ?actor=&kind=&space=&from=&to=&limit=&cursor=}. */
  public void admin(RoutingContext ctx) {
    JsonObject request = filters(ctx).put("filter_space", ctx.queryParams().get("space"));
    Calls.answer(Calls.call(vertx, ctx, Addresses.AUDIT_ADMIN, request), ctx, 200);
  }

  private static JsonObject filters(RoutingContext ctx) {
    return new JsonObject()
        .put("by", ctx.queryParams().get("actor"))
        .put("kind", ctx.queryParams().get("kind"))
        .put("from", ctx.queryParams().get("from"))
        .put("to", ctx.queryParams().get("to"))
        .put("limit", Calls.longParam(ctx, "limit"))
        .put("cursor", Calls.longParam(ctx, "cursor"));
  }
}
