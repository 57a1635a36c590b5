package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("With no configuration but a data directory")
class EmbeddedDefaultsTest {
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
  @DisplayName("CloudSync starts its own PostgreSQL in data/pg, durable on commit, is ready, and keeps its data across a restart")
  void embeddedPostgresSurvivesRestart() {
    Path dataDir = TestCloudSync.tempDir();
    JsonObject config = new JsonObject().put("data_dir", dataDir.toString())
        .put("http", new JsonObject().put("host", "127.0.0.1").put("port", 0).put("instances", 1));

    CloudSyncHandle first = TestCloudSync.deploy(vertx, config);
    assertThat(first.embeddedPostgresPort()).isPositive();
    Pool pg = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1")
        .setPort(first.embeddedPostgresPort()).setUser("postgres").setDatabase("postgres")).using(vertx).build();
    try {
      for (String setting : new String[] {"synchronous_commit", "fsync"}) {
        assertThat(pg.query("SHOW " + setting).execute().await().iterator().next().getString(0))
            .as("an answered write is on disk: %s", setting).isEqualTo("on");
      }
    } finally {
      pg.close().await();
    }
    HttpResponse<Buffer> ready = get(first, "/health/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.bodyAsJsonObject().getJsonObject("checks").fieldNames()).contains("postgresql", "blob_store");
    String installation = get(first, "/api/v1/info").bodyAsJsonObject().getString("installation_id");
    assertThat(installation).isNotBlank();
    first.close().await();

    assertThat(Files.isRegularFile(dataDir.resolve("pg").resolve("PG_VERSION"))).isTrue();
    assertThat(Files.isDirectory(dataDir.resolve("blobs"))).isTrue();

    CloudSyncHandle second = TestCloudSync.deploy(vertx, config);
    try {
      assertThat(get(second, "/health/ready").statusCode()).isEqualTo(200);
      JsonObject info = get(second, "/api/v1/info").bodyAsJsonObject();
      assertThat(info.getString("installation_id")).isEqualTo(installation);
      assertThat(info.getInteger("schema_version")).isPositive();
    } finally {
      second.close().await();
    }
  }
}
