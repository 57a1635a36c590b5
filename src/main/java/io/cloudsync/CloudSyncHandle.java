package io.cloudsync;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.verticles.GatewayVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Supplier;

/** A running CloudSync inside some Vert.x instance; {@link #close()} undeploys it and frees what it opened. */
public final class CloudSyncHandle {
  private final Vertx vertx;
  private final CloudSyncConfig config;
  private final List<String> deployments;
  private final List<GatewayVerticle> gateways;
  private final Supplier<Future<Void>> release;
  private final int embeddedPostgresPort;
  private Future<Void> closing;

  CloudSyncHandle(Vertx vertx, CloudSyncConfig config, List<String> deployments, List<GatewayVerticle> gateways,
                  int embeddedPostgresPort, Supplier<Future<Void>> release) {
    this.vertx = vertx;
    this.config = config;
    this.deployments = List.copyOf(deployments);
    this.gateways = List.copyOf(gateways);
    this.embeddedPostgresPort = embeddedPostgresPort;
    this.release = release;
  }

  public CloudSyncConfig config() {
    return config;
  }

  /** The port the HTTP API listens on, or -1 when this process does not run the gateway role. */
  public int httpPort() {
    return gateways.isEmpty() ? -1 : gateways.get(0).actualPort();
  }

  /** The port of the embedded PostgreSQL, or -1 when an external one is configured. */
  public int embeddedPostgresPort() {
    return embeddedPostgresPort;
  }

  /** The HTTP routes served, as "METHOD /path" (Vert.x ":param" placeholders). */
  public List<String> routes() {
    return gateways.isEmpty() ? List.of() : gateways.get(0).routes();
  }

  /**
   * Undeploys the verticles — the gateway first, so it stops accepting while requests in flight
   * finish — then closes the pools and, when embedded, stops PostgreSQL. Safe to call twice.
   */
  public synchronized Future<Void> close() {
    if (closing == null) {
      List<String> reversed = new ArrayList<>(deployments);
      Collections.reverse(reversed);
      Future<Void> chain = Future.succeededFuture();
      for (String id : reversed) {
        chain = chain.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
      }
      closing = chain.compose(v -> release.get());
    }
    return closing;
  }
}
