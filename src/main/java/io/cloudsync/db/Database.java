package io.cloudsync.db;

import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL connection pool, and, when no URL is configured, the embedded PostgreSQL
 * server whose data lives in {@code data_dir/pg}. Both sides run the same SQL.
 */
public final class Database {
  private static final Logger LOG = LoggerFactory.getLogger(Database.class);

  private final Pool pool;
  private final PgConnectOptions connectOptions;
  private final EmbeddedPostgres embedded;
  private final Vertx vertx;

  private Database(Vertx vertx, PgConnectOptions connectOptions, EmbeddedPostgres embedded, CloudSyncConfig config) {
    this.vertx = vertx;
    this.connectOptions = connectOptions;
    this.pool = pool(vertx, connectOptions, config.pg().poolSize(), "cloudsync-pg");
    this.embedded = embedded;
  }

  public Pool pool() {
    return pool;
  }

  /**
   * Where the pool connects, for work that needs a connection of its own outside the pool, such as
   * holding a session-level advisory lock that must end when the connection does.
   */
  public PgConnectOptions connectOptions() {
    return new PgConnectOptions(connectOptions);
  }

  /** Port of the embedded server, or -1 when an external PostgreSQL is used. */
  public int embeddedPort() {
    return embedded == null ? -1 : embedded.getPort();
  }

  public static Future<Database> start(Vertx vertx, CloudSyncConfig config) {
    if (!config.pg().embedded()) {
      PgConnectOptions options;
      try {
        options = PgConnectOptions.fromUri(config.pg().url());
      } catch (RuntimeException e) {
        return Future.failedFuture(new StartupException("pg.url is not a valid PostgreSQL URL: " + e.getMessage()));
      }
      return Future.succeededFuture(new Database(vertx, options, null, config));
    }
    Path dir = config.dataDir().resolve("pg");
    return vertx.executeBlocking(() -> startEmbedded(dir, config.pg().embeddedPort()), false)
        .map(server -> {
          PgConnectOptions options = new PgConnectOptions()
              .setHost("127.0.0.1").setPort(server.getPort())
              .setUser("postgres").setDatabase("postgres");
          return new Database(vertx, options, server, config);
        });
  }

  /**
   * A pool of connections to {@code options}, set up as the server's own: statements stay prepared,
   * each run is planned for its parameters. A connection's I/O runs on the event loop of the
   * context that first needed it, so a pool used from one verticle only keeps its connections there.
   */
  public static Pool pool(Vertx vertx, PgConnectOptions options, int maxSize, String name) {
    // Each connection keeps its statements prepared: a statement that is not needs a round trip to
    // prepare before it runs, and holds back whatever is pipelined behind it until then. Each run
    // is still planned for its own parameters, as an unprepared one was: a generic plan would
    // serve a rare name and a common prefix alike.
    options.setReconnectAttempts(2).setReconnectInterval(500).setCachePreparedStatements(true)
        .addProperty("plan_cache_mode", "force_custom_plan");
    return PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(maxSize).setName(name).setShared(false))
        .connectingTo(options)
        .using(vertx)
        .build();
  }

  private static EmbeddedPostgres startEmbedded(Path dir, int port) {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new StartupException("data directory " + dir + " cannot be created: " + e.getMessage());
    }
    if (!Files.isWritable(dir)) {
      throw new StartupException("data directory " + dir + " is not writable");
    }
    long started = System.nanoTime();
    try {
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setDataDirectory(dir)
          .setCleanDataDirectory(false)
          .setServerConfig("listen_addresses", "127.0.0.1")
          .setServerConfig("unix_socket_directories", "")
          // The embedded server's defaults would answer a commit before its WAL is on disk; a crash
          // could then lose changes whose seq clients already hold. A write is answered when durable.
          .setServerConfig("synchronous_commit", "on")
          .setServerConfig("fsync", "on")
          .setPGStartupWait(java.time.Duration.ofSeconds(60));
      if (port > 0) {
        builder.setPort(port);
      }
      EmbeddedPostgres server = builder.start();
      LOG.info("Embedded PostgreSQL ready on 127.0.0.1:{} with data in {} ({} ms)",
          server.getPort(), dir, (System.nanoTime() - started) / 1_000_000);
      return server;
    } catch (IOException | RuntimeException e) {
      String reason = rootMessage(e);
      if (reason.contains("could not lock")) {
        reason = "another process is using this data directory";
      }
      throw new StartupException("embedded PostgreSQL in " + dir + " did not start: " + reason, e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }

  public Future<Void> close() {
    Future<Void> closed = pool.close();
    if (embedded == null) {
      return closed;
    }
    return closed.recover(e -> Future.succeededFuture())
        .compose(v -> vertx.executeBlocking(() -> {
          embedded.close();
          return null;
        }, false));
  }
}
