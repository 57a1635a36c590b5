package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Owns the metadata in PostgreSQL and answers for it on the event bus. */
public final class MetadataVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(MetadataVerticle.class);

  private final Services services;

  public MetadataVerticle(Services services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    return Bus.serve(vertx, Addresses.METADATA_INFO, this::info);
  }

  private Future<JsonObject> info(JsonObject request) {
    LOG.debug("Reading installation facts");
    return services.pool()
        .query("SELECT i.id::text AS id, (SELECT max(version) FROM schema_migrations) AS schema_version FROM installation i")
        .execute()
        .map(rows -> {
          Row row = rows.iterator().next();
          return new JsonObject()
              .put("installation_id", row.getString("id"))
              .put("schema_version", row.getInteger("schema_version"));
        });
  }
}
