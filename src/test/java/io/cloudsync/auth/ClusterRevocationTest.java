package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.Clustering;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Across a two-node cluster")
@ExtendWith(RealServers.class)
class ClusterRevocationTest {
  @ParameterizedTest(name = "with Redis: {0}")
  @ValueSource(booleans = {true, false})
  @DisplayName("a logout or a disabled user on one node stops the token on the other node at once")
  void revocationReachesEveryNode(boolean withRedis, Servers servers) {
    JsonObject base = TestCloudSync.config(servers);
    if (withRedis) {
      base.put("redis.url", servers.redisUrl());
    }
    try (TwoNodes nodes = TwoNodes.start(base)) {
      Api apiA = nodes.apiA();
      Api apiB = nodes.apiB();

      apiA.signup("root@example.com", Api.PASSWORD);
      String admin = apiA.signIn("root@example.com", Api.PASSWORD).getString("access_token");
      String leaving = apiA.newUser("leaving@example.com");
      String disabled = apiA.newUser("disabled@example.com");
      assertThat(apiB.get("/api/v1/me", leaving).statusCode()).isEqualTo(200);
      assertThat(apiB.get("/api/v1/me", disabled).statusCode()).isEqualTo(200);

      assertThat(apiA.post("/api/v1/auth/logout", leaving, null).statusCode()).isEqualTo(204);
      String disabledId = apiA.get("/api/v1/me", disabled).bodyAsJsonObject().getString("id");
      assertThat(apiA.post("/api/v1/admin/users/" + disabledId + "/disable", admin, null).statusCode()).isEqualTo(200);

      assertThat(awaitStatus(apiB, leaving, 401)).isEqualTo(401);
      assertThat(awaitStatus(apiB, disabled, 401)).isEqualTo(401);
      assertThat(apiB.get("/api/v1/me", admin).statusCode()).isEqualTo(200);
    }
  }

  @org.junit.jupiter.api.Test
  @DisplayName("two clustered nodes sharing Redis admit the rate limit once in total, not once per node")
  void sharedRateLimit(Servers servers) {
    JsonObject base = TestCloudSync.config(servers).put("redis.url", servers.redisUrl())
        .put("ratelimit.api_per_minute", 10);
    try (TwoNodes nodes = TwoNodes.start(base)) {
      Api apiA = nodes.apiA();
      Api apiB = nodes.apiB();
      int admitted = 0;
      long started = System.nanoTime();
      for (int i = 0; i < 15; i++) {
        admitted += apiA.get("/api/v1/openapi.json", null).statusCode() == 200 ? 1 : 0;
        admitted += apiB.get("/api/v1/openapi.json", null).statusCode() == 200 ? 1 : 0;
      }
      // The bucket refills one token every 6 s; on a slow machine the loop may earn a few more.
      long refilled = (System.nanoTime() - started) / 6_000_000_000L;
      assertThat(admitted).as("one shared bucket, not one per node (that would admit 20)")
          .isBetween(10, 10 + (int) refilled);
    }
  }

  /** Two clustered Vert.x instances, each running CloudSync with the same base configuration. */
  private record TwoNodes(Vertx nodeA, Vertx nodeB, CloudSyncHandle a, CloudSyncHandle b) implements AutoCloseable {
    static TwoNodes start(JsonObject base) {
      int portA = Servers.freePort();
      int portB = Servers.freePort();
      JsonObject cluster = new JsonObject().put("cluster", true).put("cluster_host", "127.0.0.1")
          .put("cluster_members", "127.0.0.1:" + portA + ",127.0.0.1:" + portB);
      Vertx nodeA = Clustering.start(CloudSyncConfig.from(cluster.copy().put("cluster_port", portA))).await();
      Vertx nodeB = Clustering.start(CloudSyncConfig.from(cluster.copy().put("cluster_port", portB))).await();
      CloudSyncHandle a = TestCloudSync.deploy(nodeA, base.copy().mergeIn(cluster).put("cluster_port", portA));
      CloudSyncHandle b = TestCloudSync.deploy(nodeB, base.copy().mergeIn(cluster).put("cluster_port", portB));
      return new TwoNodes(nodeA, nodeB, a, b);
    }

    Api apiA() {
      return new Api(nodeA, a.httpPort());
    }

    Api apiB() {
      return new Api(nodeB, b.httpPort());
    }

    @Override
    public void close() {
      b.close().await();
      a.close().await();
      nodeB.close().await();
      nodeA.close().await();
    }
  }

  /** Revocations without Redis travel by event-bus publish: allow it a moment, bounded at one second. */
  private static int awaitStatus(Api api, String token, int expected) {
    long deadline = System.currentTimeMillis() + 1000;
    int status = api.get("/api/v1/me", token).statusCode();
    while (status != expected && System.currentTimeMillis() < deadline) {
      status = api.get("/api/v1/me", token).statusCode();
    }
    return status;
  }
}
