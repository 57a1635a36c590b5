package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.sync.LiveClient;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Health endpoints")
@ExtendWith(RealServers.class)
class HealthTest {
  private Vertx vertx;
  private WebClient client;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    client = WebClient.create(vertx);
  }

  @AfterEach
  void tearDown() {
    vertx.close().await();
  }

  private HttpResponse<Buffer> get(CloudSyncHandle handle, String path) {
    return client.get(handle.httpPort(), "127.0.0.1", path).send().await();
  }

  @Test
  @DisplayName("/health/ready turns 503 naming PostgreSQL when the database stops, while /health/live stays 200")
  void unreadyWithoutPostgres(Servers servers) throws Exception {
    EmbeddedPostgres own = EmbeddedPostgres.builder().start();
    JsonObject config = TestCloudSync.config(servers)
        .put("pg.url", "postgresql://postgres@127.0.0.1:" + own.getPort() + "/postgres");
    CloudSyncHandle handle = TestCloudSync.deploy(vertx, config);
    try {
      assertThat(get(handle, "/health/ready").statusCode()).isEqualTo(200);

      own.close();

      HttpResponse<Buffer> ready = get(handle, "/health/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      JsonObject checks = ready.bodyAsJsonObject().getJsonObject("checks");
      assertThat(checks.getJsonObject("postgresql").getString("status")).isEqualTo("down");
      assertThat(checks.getJsonObject("postgresql").getString("error")).isNotBlank();
      assertThat(checks.getJsonObject("blob_store").getString("status")).isEqualTo("up");
      assertThat(get(handle, "/health/live").statusCode()).isEqualTo(200);
    } finally {
      handle.close().await();
    }
  }

  @Test
  @DisplayName("/health/ready also checks Redis and Kafka when they are configured")
  void checksConfiguredRedisAndKafka(Servers servers) {
    JsonObject config = TestCloudSync.config(servers)
        .put("redis.url", servers.redisUrl())
        .put("kafka.bootstrap", servers.kafkaBootstrap());
    CloudSyncHandle handle = TestCloudSync.deploy(vertx, config);
    try {
      HttpResponse<Buffer> ready = get(handle, "/health/ready");
      assertThat(ready.statusCode()).as(ready.bodyAsString()).isEqualTo(200);
      JsonObject checks = ready.bodyAsJsonObject().getJsonObject("checks");
      assertThat(checks.getJsonObject("redis").getString("status")).isEqualTo("up");
      assertThat(checks.getJsonObject("kafka").getString("status")).isEqualTo("up");
    } finally {
      handle.close().await();
    }
  }

  @Test
  @DisplayName("/health/ready reports Redis down when the configured Redis does not answer")
  void redisDown(Servers servers) {
    JsonObject config = TestCloudSync.config(servers).put("redis.url", "redis://127.0.0.1:" + Servers.freePort());
    CloudSyncHandle handle = TestCloudSync.deploy(vertx, config);
    try {
      HttpResponse<Buffer> ready = get(handle, "/health/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.bodyAsJsonObject().getJsonObject("checks").getJsonObject("redis").getString("status"))
          .isEqualTo("down");
    } finally {
      handle.close().await();
    }
  }

  @Test
  @DisplayName("/metrics answers Prometheus text with JVM figures")
  void metrics(Servers servers) {
    CloudSyncHandle handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers));
    try {
      HttpResponse<Buffer> metrics = get(handle, "/metrics");
      assertThat(metrics.statusCode()).isEqualTo(200);
      assertThat(metrics.getHeader("Content-Type")).startsWith("text/plain");
      assertThat(metrics.bodyAsString()).contains("# TYPE jvm_memory_used_bytes gauge");
    } finally {
      handle.close().await();
    }
  }

  @Test
  @DisplayName("/metrics counts a sync WebSocket as a request answered 101, and its connection as closed once it closes")
  void syncSocketMetrics(Servers servers) {
    // Vert.x with its metrics on, as the server's main starts it.
    Vertx metered = Clustering.start(CloudSyncConfig.from(new JsonObject())).await();
    try {
      CloudSyncHandle handle = TestCloudSync.deploy(metered, TestCloudSync.config(servers));
      String token = new Api(metered, handle.httpPort()).newUser("metered@example.com");
      String before = get(handle, "/metrics").bodyAsString();
      double upgradedBefore = Api.metric(before, UPGRADED);
      double connectionsBefore = Api.metric(before, CONNECTIONS);
      for (int i = 0; i < 3; i++) {
        try (LiveClient live = LiveClient.connect(metered, handle.httpPort(), token)) {
          assertThat(live.nextOfType("authenticated", 5000)).isNotNull();
        }
      }
      String text = get(handle, "/metrics").bodyAsString();
      assertThat(Api.metric(text, UPGRADED) - upgradedBefore).isEqualTo(3);
      // Only the /metrics request itself is in flight; the upgrades are not.
      assertThat(Api.metric(text, "vertx_http_server_active_requests{method=\"GET\"}")).isEqualTo(1);
      // The server closes each socket once the client's close arrives: wait for the last of them.
      long deadline = System.currentTimeMillis() + 5000;
      while (Api.metric(text, CONNECTIONS) > connectionsBefore && System.currentTimeMillis() < deadline) {
        metered.timer(50).await();
        text = get(handle, "/metrics").bodyAsString();
      }
      assertThat(Api.metric(text, CONNECTIONS)).isLessThanOrEqualTo(connectionsBefore);
      handle.close().await();
    } finally {
      metered.close().await();
    }
  }

  private static final String CONNECTIONS = "vertx_http_server_active_connections";
  private static final String UPGRADED = "vertx_http_server_requests_total{code=\"101\",method=\"GET\"}";
}
