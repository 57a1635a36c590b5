package io.cloudsync.handlers;

import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /api/v1/info}: which installation and version a client is talking to. */
public final class InfoHandler {
  private final Vertx vertx;
  private final String version;

  public InfoHandler(Vertx vertx, String version) {
    this.vertx = vertx;
    this.version = version;
  }

  public void info(RoutingContext ctx) {
    Bus.request(vertx, Addresses.METADATA_INFO, new JsonObject())
        .map(facts -> new JsonObject()
            .put("name", "CloudSync")
            .put("version", version)
            .put("installation_id", facts.getString("installation_id"))
            .put("schema_version", facts.getInteger("schema_version")))
        .onSuccess(body -> Responses.ok(ctx, body))
        .onFailure(ctx::fail);
  }
}
