package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code /api/v1/me/notifications}: the caller's e-mail notification preferences. */
public final class NotificationsHandler {
  private final Vertx vertx;

  public NotificationsHandler(Vertx vertx) {
    this.vertx = vertx;
  }

  public void get(RoutingContext ctx) {
    Calls.answer(Calls.call(vertx, ctx, Addresses.NOTIFICATIONS_GET, new JsonObject()), ctx, 200);
  }

  /** PUT {@code {new_files}}. */
  public void put(RoutingContext ctx) {
    Object newFiles = Bodies.json(ctx).getValue("new_files");
    if (!(newFiles instanceof Boolean)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "new_files must be true or false");
    }
    Calls.answer(Calls.call(vertx, ctx, Addresses.NOTIFICATIONS_SET, new JsonObject().put("new_files", newFiles)), ctx, 200);
  }
}
