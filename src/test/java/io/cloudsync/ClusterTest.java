package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Two clustered nodes in one JVM")
@ExtendWith(RealServers.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {
  private static Vertx nodeA;
  private static Vertx nodeB;
  private static JsonObject clusterA;
  private static JsonObject clusterB;

  @BeforeAll
  static void join() {
    int portA = Servers.freePort();
    int portB = Servers.freePort();
    String members = "127.0.0.1:" + portA + ",127.0.0.1:" + portB;
    clusterA = new JsonObject().put("cluster", true).put("cluster_host", "127.0.0.1")
        .put("cluster_port", portA).put("cluster_members", members);
    clusterB = clusterA.copy().put("cluster_port", portB);
    nodeA = Clustering.start(CloudSyncConfig.from(clusterA)).await();
    nodeB = Clustering.start(CloudSyncConfig.from(clusterB)).await();
  }

  @AfterAll
  static void leave() {
    nodeB.close().await();
    nodeA.close().await();
  }

  @Test
  @DisplayName("pass an event-bus message from one node to a consumer on the other")
  void eventBusMessage() {
    nodeB.eventBus().<String>consumer("cloudsync.test.ping", message -> message.reply("pong from B"))
        .completion().await();
    String answer = null;
    long deadline = System.currentTimeMillis() + 10_000;
    while (answer == null && System.currentTimeMillis() < deadline) {
      try {
        answer = nodeA.eventBus().<String>request("cloudsync.test.ping", "ping").await().body();
      } catch (RuntimeException subscriptionNotSeenYet) {
        nodeA.timer(50).await();
      }
    }
    assertThat(answer).isEqualTo("pong from B");
  }

  @Test
  @DisplayName("answer a request on the sending node when it serves the address, else on another node")
  void localConsumerFirst() {
    String address = "cloudsync.test.where";
    MessageConsumer<JsonObject> onA = Bus.serve(nodeA, address,
        request -> Future.succeededFuture(new JsonObject().put("node", "A"))).await();
    MessageConsumer<JsonObject> onB = Bus.serve(nodeB, address,
        request -> Future.succeededFuture(new JsonObject().put("node", "B"))).await();
    try {
      for (int i = 0; i < 6; i++) {
        assertThat(Bus.request(nodeA, address, new JsonObject()).await().getString("node")).isEqualTo("A");
        assertThat(Bus.request(nodeB, address, new JsonObject()).await().getString("node")).isEqualTo("B");
      }
      onA.unregister().await();
      assertThat(Bus.request(nodeA, address, new JsonObject()).await().getString("node")).isEqualTo("B");
    } finally {
      onB.unregister().await();
    }
  }

  @Test
  @DisplayName("serve the API from a gateway-only node with the metadata role running on the other node")
  void rolesAcrossNodes(Servers servers) {
    String db = servers.newDatabaseUrl();
    CloudSyncHandle metadata = TestCloudSync.deploy(nodeB, TestCloudSync.config(servers).put("pg.url", db)
        .mergeIn(clusterB).put("roles", "metadata"));
    CloudSyncHandle gateway = TestCloudSync.deploy(nodeA, TestCloudSync.config(servers).put("pg.url", db)
        .mergeIn(clusterA).put("roles", "gateway"));
    try {
      assertThat(metadata.httpPort()).isEqualTo(-1);
      WebClient client = WebClient.create(nodeA);
      HttpResponse<Buffer> info = null;
      long deadline = System.currentTimeMillis() + 10_000;
      while (System.currentTimeMillis() < deadline) {
        info = client.get(gateway.httpPort(), "127.0.0.1", "/api/v1/info").send().await();
        if (info.statusCode() != 503) {
          break;
        }
        nodeA.timer(50).await();
      }
      assertThat(info.statusCode()).as(info.bodyAsString()).isEqualTo(200);
      assertThat(info.bodyAsJsonObject().getString("installation_id")).isNotBlank();

      HttpResponse<Buffer> ready = client.get(gateway.httpPort(), "127.0.0.1", "/health/ready").send().await();
      assertThat(ready.statusCode()).isEqualTo(200);
      assertThat(ready.bodyAsJsonObject().getJsonObject("checks").getJsonObject("cluster").getString("status"))
          .isEqualTo("up");
    } finally {
      gateway.close().await();
      metadata.close().await();
    }
  }

  @Test
  @Order(1)
  @DisplayName("answer 503 service_unavailable when no node runs the role a route needs")
  void noRoleAnywhere(Servers servers) {
    CloudSyncHandle gateway = TestCloudSync.deploy(nodeA, TestCloudSync.config(servers)
        .mergeIn(clusterA).put("roles", "gateway"));
    try {
      HttpResponse<Buffer> info = WebClient.create(nodeA).get(gateway.httpPort(), "127.0.0.1", "/api/v1/info")
          .send().await();
      assertThat(info.statusCode()).isEqualTo(503);
      assertThat(info.bodyAsJsonObject().getString("code")).isEqualTo("service_unavailable");
    } finally {
      gateway.close().await();
    }
  }
}
