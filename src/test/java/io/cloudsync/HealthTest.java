package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

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
}
