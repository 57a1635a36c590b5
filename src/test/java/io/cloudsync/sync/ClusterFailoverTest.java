package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.files.FilesFixture;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two CloudSync server processes clustered over Hazelcast on one PostgreSQL, as an operator runs
 * them; one is killed (SIGKILL) under a live client, which carries on from its cursor on the other.
 */
@DisplayName("Fail-over between two clustered server processes")
@ExtendWith(RealServers.class)
class ClusterFailoverTest {
  private static final List<Node> started = new CopyOnWriteArrayList<>();
  private static final Thread KILL_ON_EXIT = new Thread(() -> started.forEach(node -> node.process.destroyForcibly()),
      "cluster-failover-test-kill");
  private static Node first;
  private static Node second;
  private static Vertx clients;
  private static Pool db;

  /** One server process, its ports and its console output. */
  private record Node(String name, Process process, int httpPort, Path output) {
    String log() {
      try {
        List<String> lines = Files.readAllLines(output);
        return lines.subList(Math.max(0, lines.size() - 60), lines.size()).stream()
            .collect(Collectors.joining("\n", "--- " + name + " ---\n", "\n"));
      } catch (IOException e) {
        return "--- " + name + ": no output (" + e.getMessage() + ")\n";
      }
    }
  }

  @BeforeAll
  static void start(Servers servers) throws Throwable {
    Runtime.getRuntime().addShutdownHook(KILL_ON_EXIT);
    String dbUrl = servers.newDatabaseUrl();
    String blobs = TestCloudSync.tempDir().toString();
    int[] clusterPorts = {Servers.freePort(), Servers.freePort()};
    String members = "127.0.0.1:" + clusterPorts[0] + ",127.0.0.1:" + clusterPorts[1];
    first = start("node-1", dbUrl, blobs, clusterPorts[0], members);
    second = start("node-2", dbUrl, blobs, clusterPorts[1], members);
    clients = Vertx.vertx();
    db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(dbUrl)).using(clients).build();
    try {
      awaitReady(first);
      awaitReady(second);
      awaitLog(second, "Members {size:2");
      awaitLog(first, "Members {size:2");
    } catch (Throwable e) {
      throw withLogs(e);
    }
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      for (Node node : started) {
        node.process.destroyForcibly();
        node.process.waitFor(30, TimeUnit.SECONDS);
      }
      started.clear();
      Runtime.getRuntime().removeShutdownHook(KILL_ON_EXIT);
    } finally {
      if (db != null) {
        db.close().await();
      }
      if (clients != null) {
        clients.close().await();
      }
    }
  }

  private static Node start(String name, String dbUrl, String blobs, int clusterPort, String members)
      throws IOException {
    int httpPort = Servers.freePort();
    Map<String, String> env = new HashMap<>();
    env.put("CLOUDSYNC_HTTP_HOST", "127.0.0.1");
    env.put("CLOUDSYNC_HTTP_PORT", String.valueOf(httpPort));
    env.put("CLOUDSYNC_HTTP_INSTANCES", "1");
    env.put("CLOUDSYNC_PG_URL", dbUrl);
    env.put("CLOUDSYNC_PG_POOL_SIZE", "4");
    env.put("CLOUDSYNC_DATA_DIR", TestCloudSync.tempDir().toString());
    env.put("CLOUDSYNC_BLOB_LOCAL_DIR", blobs);
    env.put("CLOUDSYNC_CLUSTER", "true");
    env.put("CLOUDSYNC_CLUSTER_HOST", "127.0.0.1");
    env.put("CLOUDSYNC_CLUSTER_PORT", String.valueOf(clusterPort));
    env.put("CLOUDSYNC_CLUSTER_MEMBERS", members);
    env.put("CLOUDSYNC_ROLES", "all");
    env.put("CLOUDSYNC_RATELIMIT_API_PER_MINUTE", "1000000");
    env.put("CLOUDSYNC_RATELIMIT_AUTH_PER_MINUTE", "1000000");
    env.put("CLOUDSYNC_SYNC_PRESENCE_HEARTBEAT", "1");
    env.put("CLOUDSYNC_SYNC_PRESENCE_TIMEOUT", "3");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dhazelcast.phone.home.enabled=false", "-cp", System.getProperty("java.class.path"), "io.cloudsync.Main");
    Path output = Files.createTempFile("cloudsync-" + name, ".log");
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
    builder.environment().keySet().removeIf(key -> key.startsWith("CLOUDSYNC_"));
    builder.environment().putAll(env);
    // The shipped conf/cloudsync.yaml would otherwise be read from the working directory.
    builder.directory(TestCloudSync.tempDir().toFile());
    Node node = new Node(name, builder.start(), httpPort, output);
    started.add(node);
    return node;
  }

  private static void awaitReady(Node node) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/health/ready"))
        .timeout(Duration.ofSeconds(5)).build();
    long deadline = System.currentTimeMillis() + 60_000;
    while (System.currentTimeMillis() < deadline) {
      if (!node.process().isAlive()) {
        throw new AssertionError(node.name() + " exited with " + node.process().exitValue());
      }
      try {
        if (http.send(ready, java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // Not listening yet.
      }
      Thread.sleep(100);
    }
    throw new AssertionError(node.name() + " was not ready within 60 s");
  }

  private static void awaitLog(Node node, String text) throws Exception {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!Files.readString(node.output()).contains(text)) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError(node.name() + " did not log '" + text + "' within 30 s");
      }
      Thread.sleep(100);
    }
  }

  private static Throwable withLogs(Throwable failure) {
    StringBuilder logs = new StringBuilder("server output:\n");
    started.forEach(node -> logs.append(node.log()));
    failure.addSuppressed(new AssertionError(logs.toString()));
    return failure;
  }

  private static long head(String space) {
    return db.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(space)).await()
        .iterator().next().getLong(0);
  }

  @Test
  @DisplayName("a client whose node is killed resumes on the other node from its cursor: no gap, no duplicate; "
      + "its presence leaves the space for the others within the presence timeout")
  void resumeAfterKill() throws Throwable {
    try {
      resume();
    } catch (Throwable e) {
      throw withLogs(e);
    }
  }

  private void resume() throws Exception {
    Api api = new Api(clients, second.httpPort());
    String token = api.newUser("failover-" + FilesFixture.unique("user") + "@example.com");
    String space = expect(api.request(HttpMethod.POST, "/api/v1/spaces", token)
        .sendJsonObject(new JsonObject().put("name", "Survives")).await(), 201).getString("id");

    // Writes go through the second node all along: half of them while the first node serves the
    // client and is killed, the other half once it is dead.
    int total = 80;
    CountDownLatch killed = new CountDownLatch(1);
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      for (int i = 0; i < total; i++) {
        if (i == total / 2) {
          await(killed);
        }
        // Every write through the surviving node succeeds, the one in flight as the other dies included.
        expect(api.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token)
            .sendJsonObject(new JsonObject().put("name", "f-" + i)).await(), 201);
      }
    });

    long cursor;
    try (LiveClient watcher = LiveClient.connect(clients, second.httpPort(), token)) {
      watcher.send(new JsonObject().put("type", "subscribe").put("space", space)
          .put("presence", new JsonObject().put("device", "watcher")));
      watcher.nextOfType("presence", 30_000);
      try {
        cursor = followUntilKilled(token, space, killed, watcher);
      } finally {
        killed.countDown();
      }
      // sync.presence_timeout is 3 s and the heartbeat 1 s here: the dead node's entry goes within 4 s.
      JsonObject left = watcher.until(m -> "presence_leave".equals(m.getString("type"))
          && "doomed".equals(m.getJsonObject("member").getString("device")), 30_000).get(0);
      assertThat(left.getString("reason")).isEqualTo("timeout");
    }

    try (LiveClient onSecond = LiveClient.connect(clients, second.httpPort(), token)) {
      onSecond.subscribe(space, cursor);
      writer.get(60, TimeUnit.SECONDS);
      long last = head(space);
      assertThat(last).as("one change per folder, none lost or doubled by the fail-over").isEqualTo(total);
      assertThat(onSecond.changesUntil(space, last, 30_000)).containsExactlyElementsOf(range(cursor + 1, last));
      expect(api.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token)
          .sendJsonObject(new JsonObject().put("name", "after")).await(), 201);
      assertThat(onSecond.changesUntil(space, last + 1, 10_000)).containsExactly(last + 1);
    }
  }

  /** Follows the space on the first node, kills that node mid-stream, and answers the client's cursor. */
  private static long followUntilKilled(String token, String space, CountDownLatch killed, LiveClient watcher)
      throws Exception {
    try (LiveClient onFirst = LiveClient.connect(clients, first.httpPort(), token)) {
      onFirst.send(new JsonObject().put("type", "subscribe").put("space", space).put("cursor", 0)
          .put("presence", new JsonObject().put("device", "doomed")));
      watcher.until(m -> "presence_join".equals(m.getString("type"))
          && "doomed".equals(m.getJsonObject("member").getString("device")), 30_000);
      List<Long> seen = new ArrayList<>(onFirst.changesUntil(space, 20, 30_000));
      first.process().destroyForcibly();
      assertThat(first.process().waitFor(30, TimeUnit.SECONDS)).isTrue();
      killed.countDown();
      onFirst.closeCode(30_000);
      onFirst.drain().stream().filter(m -> "change".equals(m.getString("type"))).forEach(m -> seen.add(m.getLong("seq")));
      long cursor = seen.get(seen.size() - 1);
      assertThat(seen).as("what the first node delivered before it died").containsExactlyElementsOf(range(1, cursor));
      return cursor;
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertThat(latch.await(60, TimeUnit.SECONDS)).isTrue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }
}
