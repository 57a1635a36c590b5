package io.cloudsync;

import io.cloudsync.auth.ExpiringStore;
import io.cloudsync.auth.Revocations;
import io.cloudsync.auth.TokenService;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.config.ConfigException;
import io.cloudsync.config.Role;
import io.cloudsync.db.Database;
import io.cloudsync.db.Migrations;
import io.cloudsync.db.StartupException;
import io.cloudsync.observability.HealthChecks;
import io.cloudsync.ratelimit.RateLimiter;
import io.cloudsync.storage.BlobStore;
import io.cloudsync.storage.EncryptedChunkStore;
import io.cloudsync.storage.MasterKeys;
import io.cloudsync.uploads.TusUploads;
import io.cloudsync.verticles.AuthVerticle;
import io.cloudsync.verticles.ChangeFeedVerticle;
import io.cloudsync.verticles.GatewayVerticle;
import io.cloudsync.verticles.MetadataVerticle;
import io.cloudsync.verticles.WebhooksVerticle;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.spi.cluster.ClusterManager;
import io.vertx.kafka.admin.KafkaAdminClient;
import io.vertx.micrometer.backends.BackendRegistries;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts CloudSync in a Vert.x instance: the standalone server and any JVM application that embeds
 * CloudSync call {@link #deploy(Vertx, JsonObject)} the same way.
 *
 * <pre>{@code
 * CloudSync.deploy(vertx, new JsonObject().put("http", new JsonObject().put("port", 8080)))
 *     .onSuccess(handle -> ...);   // later: handle.close()
 * }</pre>
 */
public final class CloudSync {
  private static final Logger LOG = LoggerFactory.getLogger(CloudSync.class);
  private static final String DEPLOYED_MAP = "cloudsync.deployments";

  private CloudSync() {
  }

  /**
   * Checks the configuration (the keys of conf/cloudsync.yaml, nested or dotted; environment
   * variables are not read here), opens PostgreSQL (embedded when {@code pg.url} is empty), applies
   * migrations, opens the blob store and deploys the verticles of the configured roles.
   */
  public static Future<CloudSyncHandle> deploy(Vertx vertx, JsonObject configuration) {
    CloudSyncConfig config;
    try {
      config = CloudSyncConfig.from(configuration);
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    config.unknownKeys().forEach(key -> LOG.warn("Unknown configuration key '{}' is ignored", key));

    // The roles talk over fixed event-bus addresses: a second CloudSync in the same Vert.x would
    // answer the first one's requests from its own database.
    LocalMap<String, Boolean> registry = vertx.sharedData().getLocalMap(DEPLOYED_MAP);
    if (registry.putIfAbsent("deployed", true) != null) {
      return Future.failedFuture(new StartupException("CloudSync is already deployed in this Vert.x instance; "
          + "use one Vert.x instance per CloudSync"));
    }
    List<Supplier<Future<Void>>> cleanups = new ArrayList<>();
    cleanups.add(() -> {
      registry.remove("deployed");
      return Future.succeededFuture();
    });
    return prepareDataDir(vertx, config)
        .compose(v -> Database.start(vertx, config))
        .compose(db -> {
          cleanups.add(0, db::close);
          return Migrations.apply(vertx, db.pool()).map(db);
        })
        .compose(db -> MasterKeys.load(vertx, db.pool(), config.files()).map(keys -> new Opened(db, keys)))
        .compose(opened -> {
          Database db = opened.db();
          BlobStore blobs = BlobStore.create(vertx, config.blob());
          cleanups.add(0, blobs::close);
          Redis redis = config.redisUrl().isEmpty() ? null : Redis.createClient(vertx, config.redisUrl());
          if (redis != null) {
            cleanups.add(0, () -> closeRedis(redis));
          }
          KafkaAdminClient kafkaAdmin = config.kafkaBootstrap().isEmpty() ? null
              : KafkaAdminClient.create(vertx, Map.of("bootstrap.servers", config.kafkaBootstrap(),
                  "request.timeout.ms", "5000", "default.api.timeout.ms", "5000"));
          if (kafkaAdmin != null) {
            cleanups.add(0, kafkaAdmin::close);
          }
          ExpiringStore expiring = ExpiringStore.create(vertx, redis);
          cleanups.add(0, () -> {
            expiring.close();
            return Future.succeededFuture();
          });
          Revocations revocations = new Revocations(vertx, expiring, redis == null, config.auth().accessTokenTtl());
          TokenService tokens = new TokenService(vertx, db.pool(), config.auth(), revocations);
          cleanups.add(0, tokens::close);
          cleanups.add(0, revocations::close);
          Services services = new Services(config, db.pool(), blobs, redis, expiring, tokens,
              readiness(vertx, db, blobs, redis, kafkaAdmin), metricsRegistry(), openApi(), version(),
              RateLimiter.create(redis), new EncryptedChunkStore(vertx, blobs, opened.masterKeys()),
              new TusUploads(vertx, db.pool(), config.dataDir().resolve("uploads"), config.files().uploadExpireHours()),
              db.connectOptions());
          long expiry = vertx.setPeriodic(10 * 60_000, id -> services.uploads().expire()
              .onFailure(e -> LOG.warn("Dropping expired uploads failed: {}", e.getMessage())));
          cleanups.add(0, () -> {
            vertx.cancelTimer(expiry);
            return Future.succeededFuture();
          });
          return revocations.start()
              .compose(v -> tokens.start())
              .compose(v -> deployRoles(vertx, services)).map(deployed -> new CloudSyncHandle(vertx, config,
              deployed.ids(), deployed.gateways(), db.embeddedPort(), () -> closeAll(cleanups)));
        })
        .recover(failure -> closeAll(cleanups).transform(v -> Future.failedFuture(failure)));
  }

  /** Closes in list order (newest first), each step whether or not the one before it worked. */
  private static Future<Void> closeAll(List<Supplier<Future<Void>>> cleanups) {
    Future<Void> chain = Future.succeededFuture();
    for (Supplier<Future<Void>> cleanup : cleanups) {
      chain = chain.compose(v -> cleanup.get().recover(e -> Future.succeededFuture()));
    }
    return chain;
  }

  private record Deployed(List<String> ids, List<GatewayVerticle> gateways) {
  }

  private record Opened(Database db, MasterKeys masterKeys) {
  }

  private static Future<Deployed> deployRoles(Vertx vertx, Services services) {
    CloudSyncConfig config = services.config();
    List<String> ids = new CopyOnWriteArrayList<>();
    List<GatewayVerticle> gateways = new CopyOnWriteArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    // Back-end roles first, so the gateway never answers before what it calls is there.
    if (config.runs(Role.AUTH)) {
      chain = chain.compose(v -> vertx.deployVerticle(new AuthVerticle(services)).map(ids::add).mapEmpty());
    }
    if (config.runs(Role.METADATA)) {
      chain = chain.compose(v -> vertx.deployVerticle(new MetadataVerticle(services)).map(ids::add).mapEmpty());
    }
    if (config.runs(Role.WEBHOOKS)) {
      chain = chain.compose(v -> vertx.deployVerticle(new WebhooksVerticle(services)).map(ids::add).mapEmpty());
    }
    if (config.runs(Role.CHANGEFEED)) {
      if (config.kafkaBootstrap().isEmpty()) {
        LOG.info("Change feed off: kafka.bootstrap is empty");
      } else {
        chain = chain.compose(v -> vertx.deployVerticle(new ChangeFeedVerticle(services)).map(ids::add).mapEmpty());
      }
    }
    if (config.runs(Role.GATEWAY)) {
      int instances = config.http().instances() == 0
          ? Math.max(1, Runtime.getRuntime().availableProcessors()) : config.http().instances();
      chain = chain.compose(v -> vertx.deployVerticle(() -> {
        GatewayVerticle gateway = new GatewayVerticle(services);
        gateways.add(gateway);
        return gateway;
      }, new DeploymentOptions().setInstances(instances)).map(ids::add).mapEmpty());
    }
    return chain
        .map(v -> new Deployed(ids, gateways))
        .recover(failure -> {
          Future<Void> undo = Future.succeededFuture();
          for (String id : ids) {
            undo = undo.compose(v -> vertx.undeploy(id).recover(e -> Future.succeededFuture()));
          }
          return undo.compose(v -> Future.failedFuture(failure));
        });
  }

  private static Future<Void> prepareDataDir(Vertx vertx, CloudSyncConfig config) {
    boolean needed = config.pg().embedded() || config.blob().type().equals("local");
    if (!needed) {
      return Future.succeededFuture();
    }
    Path dir = config.blob().type().equals("local") ? config.blob().localDir() : config.dataDir();
    List<Path> dirs = config.pg().embedded() ? List.of(config.dataDir(), dir) : List.of(dir);
    return vertx.executeBlocking(() -> {
      for (Path each : dirs) {
        try {
          Files.createDirectories(each);
          Path probe = Files.createTempFile(each, ".write-check", ".tmp");
          Files.delete(probe);
        } catch (IOException | SecurityException e) {
          throw new StartupException("data directory " + each + " is not writable (" + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")");
        }
      }
      return null;
    }, false);
  }

  private static Future<Void> closeRedis(Redis redis) {
    redis.close();
    return Future.succeededFuture();
  }

  private static HealthChecks readiness(Vertx vertx, Database db, BlobStore blobs, Redis redis,
                                        KafkaAdminClient kafkaAdmin) {
    HealthChecks checks = new HealthChecks(vertx)
        .add("postgresql", () -> db.pool().query("SELECT 1").execute())
        .add("blob_store", blobs::probe);
    if (redis != null) {
      checks.add("redis", () -> RedisAPI.api(redis).ping(List.of()));
    }
    if (kafkaAdmin != null) {
      checks.add("kafka", kafkaAdmin::describeCluster);
    }
    if (vertx.isClustered()) {
      checks.add("cluster", () -> {
        ClusterManager manager = ((VertxInternal) vertx).clusterManager();
        return manager != null && manager.isActive() ? Future.succeededFuture()
            : Future.failedFuture("this node is not an active cluster member");
      });
    }
    return checks;
  }

  /**
   * The registry Vert.x's own metrics report to when the instance was built with Prometheus
   * metrics (the standalone server); otherwise, as in a host application without them, a registry
   * of CloudSync's own with the JVM figures.
   */
  private static PrometheusMeterRegistry metricsRegistry() {
    MeterRegistry shared = BackendRegistries.getNow(Clustering.METRICS_REGISTRY);
    if (shared == null) {
      shared = BackendRegistries.getDefaultNow();
    }
    if (shared instanceof PrometheusMeterRegistry prometheus) {
      return prometheus;
    }
    PrometheusMeterRegistry own = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    bindJvmMetrics(own);
    return own;
  }

  static void bindJvmMetrics(MeterRegistry registry) {
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
  }

  private static Buffer openApi() {
    try (InputStream in = CloudSync.class.getResourceAsStream("/openapi.json")) {
      if (in == null) {
        throw new IllegalStateException("openapi.json is missing from the classpath");
      }
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The version the build stamped into cloudsync.properties. */
  public static String version() {
    Properties properties = new Properties();
    try (InputStream in = CloudSync.class.getResourceAsStream("/cloudsync.properties")) {
      if (in != null) {
        properties.load(in);
      }
    } catch (IOException e) {
      // An unreadable stamp only loses the version string.
    }
    return properties.getProperty("version", "dev");
  }
}
