package io.cloudsync.handlers;

import io.vertx.ext.web.RoutingContext;

/** The client's IP address as the server sees it. */
public final class ClientAddress {
  private ClientAddress() {
  }

  public static String of(RoutingContext ctx) {
    return ctx.request().remoteAddress() == null ? "unknown" : ctx.request().remoteAddress().host();
  }
}
