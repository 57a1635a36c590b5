package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.sync.LiveClient;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Shutting down")
@ExtendWith(RealServers.class)
class ShutdownTest {
  @Test
  @DisplayName("lets a request in flight finish while no new connection is accepted")
  void finishesInFlight(Servers servers) {
    // Vert.x with its metrics on, as the server's main starts it: the test sees the request arrive.
    Vertx vertx = Clustering.start(CloudSyncConfig.from(new JsonObject())).await();
    try {
      CloudSyncHandle handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers).put("http.shutdown_timeout", 20));
      int port = handle.httpPort();
      HttpClient http = vertx.createHttpClient();
      HttpClientRequest slow = http.request(HttpMethod.POST, port, "127.0.0.1", "/api/v1/info").await();
      slow.putHeader("Content-Type", "application/json").putHeader("Content-Length", "11");
      slow.write("{\"half\":").await();
      // In flight once the server has read its head; a connection whose request has not been read
      // yet when the shutdown starts is idle, and closed.
      Api api = new Api(vertx, port);
      long deadline = System.currentTimeMillis() + 5000;
      while (Api.metric(api.get("/metrics", null).bodyAsString(), "vertx_http_server_active_requests{method=\"POST\"}") < 1) {
        assertThat(System.currentTimeMillis()).as("the server reads the request's head").isLessThan(deadline);
        vertx.timer(20).await();
      }
      // Read the body in the same callback as the status: data arriving unread would be dropped.
      Future<JsonObject> answer = slow.response().compose(response -> response.body()
          .map(body -> new JsonObject().put("status", response.statusCode()).put("body", body.toJsonObject())));

      Future<Void> closing = handle.close();
      vertx.timer(300).await();
      assertThat(closing.isComplete()).as("close waits for the request in flight").isFalse();
      WebClient late = WebClient.create(vertx, new WebClientOptions().setConnectTimeout(500));
      assertThatThrownBy(() -> late.get(port, "127.0.0.1", "/health/live").timeout(1000).send().await())
          .as("a request arriving once shutdown began is not served");

      slow.end("1}\n").await();
      JsonObject response = answer.await();
      assertThat(response.getInteger("status")).isEqualTo(405);
      assertThat(response.getJsonObject("body").getString("code")).isEqualTo("method_not_allowed");
      closing.await();
    } finally {
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("tells live sync connections to reconnect elsewhere instead of holding the shutdown up")
  void endsLiveConnections(Servers servers) {
    Vertx vertx = Vertx.vertx();
    try {
      CloudSyncHandle handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers).put("http.shutdown_timeout", 30));
      String token = new Api(vertx, handle.httpPort()).newUser("shutdown-live@example.com");
      LiveClient client = LiveClient.connect(vertx, handle.httpPort(), token);
      assertThat(client.nextOfType("authenticated", 5000)).isNotNull();

      long started = System.currentTimeMillis();
      Future<Void> closing = handle.close();
      JsonObject error = client.nextOfType("error", 5000);
      assertThat(error.getString("code")).isEqualTo("shutting_down");
      assertThat(client.closeCode(5000)).isEqualTo((short) 1001);
      closing.await();
      assertThat(System.currentTimeMillis() - started).as("no wait for the 30 s shutdown timeout").isLessThan(15_000);
    } finally {
      vertx.close().await();
    }
  }
}
