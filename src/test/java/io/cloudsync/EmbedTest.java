package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.config.ConfigException;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("A JVM application embedding CloudSync")
@ExtendWith(RealServers.class)
class EmbedTest {
  @Test
  @DisplayName("hosts it next to its own server in one Vert.x and can undeploy it without stopping itself")
  void hostAndUndeploy(Servers servers) {
    Vertx host = Vertx.vertx();
    try {
      Router hostRouter = Router.router(host);
      hostRouter.get("/host").handler(ctx -> ctx.end("host app"));
      HttpServer hostServer = host.createHttpServer().requestHandler(hostRouter).listen(0, "127.0.0.1").await();
      WebClient client = WebClient.create(host);

      CloudSyncHandle handle = CloudSync.deploy(host, TestCloudSync.config(servers)).await();
      int port = handle.httpPort();
      assertThatThrownBy(() -> CloudSync.deploy(host, TestCloudSync.config(servers)).await())
          .as("a second CloudSync in the same Vert.x would answer the first one's bus requests")
          .hasMessageContaining("already deployed");
      assertThat(client.get(port, "127.0.0.1", "/health/ready").send().await().statusCode()).isEqualTo(200);
      assertThat(client.get(hostServer.actualPort(), "127.0.0.1", "/host").send().await().bodyAsString())
          .isEqualTo("host app");

      handle.close().await();

      assertThatThrownBy(() -> client.get(port, "127.0.0.1", "/health/live").send().await())
          .hasMessageContaining("Connection refused");
      assertThat(client.get(hostServer.actualPort(), "127.0.0.1", "/host").send().await().statusCode()).isEqualTo(200);
      assertThat(host.deploymentIDs()).isEmpty();
    } finally {
      host.close().await();
    }
  }

  @Test
  @DisplayName("gets a failed future naming the key when its configuration is invalid")
  void badConfig() {
    Vertx host = Vertx.vertx();
    try {
      assertThatThrownBy(() -> CloudSync.deploy(host, new JsonObject().put("pg", new JsonObject().put("pool_size", 0)))
          .await())
          .isInstanceOf(ConfigException.class).hasMessageContaining("pg.pool_size");
      assertThat(host.deploymentIDs()).isEmpty();
    } finally {
      host.close().await();
    }
  }
}
