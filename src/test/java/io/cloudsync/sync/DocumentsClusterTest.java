package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.Clustering;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.files.FilesFixture;
import io.cloudsync.files.MergePatch;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two clustered nodes in one JVM on one database, each running every role: merge patches sent
 * through different nodes are settled by the same per-field rule as on one node, and a subscriber
 * on one node follows documents written through the other from the patches alone.
 */
@DisplayName("JSON documents across two clustered nodes")
@ExtendWith(RealServers.class)
class DocumentsClusterTest {
  private static final int NODES = 2;
  private static final List<Vertx> nodes = new ArrayList<>();
  private static final List<CloudSyncHandle> handles = new ArrayList<>();
  private static final List<Api> apis = new ArrayList<>();
  private static Vertx clients;
  private static String token;

  @BeforeAll
  static void start(Servers servers) {
    String dbUrl = servers.newDatabaseUrl();
    String blobs = TestCloudSync.tempDir().toString();
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < NODES; i++) {
      ports.add(Servers.freePort());
    }
    String members = ports.stream().map(port -> "127.0.0.1:" + port).collect(Collectors.joining(","));
    clients = Vertx.vertx();
    for (int port : ports) {
      JsonObject cluster = new JsonObject().put("cluster", true).put("cluster_host", "127.0.0.1")
          .put("cluster_port", port).put("cluster_members", members);
      Vertx node = Clustering.start(CloudSyncConfig.from(cluster)).await();
      nodes.add(node);
      CloudSyncHandle handle = TestCloudSync.deploy(node, TestCloudSync.config(servers).put("pg.url", dbUrl)
          .put("blob.local.dir", blobs).mergeIn(cluster));
      handles.add(handle);
      apis.add(new Api(clients, handle.httpPort()));
    }
    token = apis.get(0).newUser("docs-" + FilesFixture.unique("cluster") + "@example.com");
  }

  @AfterAll
  static void stop() {
    for (int i = handles.size() - 1; i >= 0; i--) {
      handles.get(i).close().await();
    }
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close().await();
    }
    if (clients != null) {
      clients.close().await();
    }
  }

  private static String space(String policy) {
    return expect(apis.get(0).request(HttpMethod.POST, "/api/v1/spaces", token)
        .sendJsonObject(new JsonObject().put("name", FilesFixture.unique("docs")).put("conflict_policy", policy)).await(), 201)
        .getString("id");
  }

  private static String create(int node, String space, String path, JsonObject content) {
    return expect(apis.get(node).request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/docs/" + path, token)
        .sendJsonObject(content).await(), 201).getString("id");
  }

  private static Future<HttpResponse<Buffer>> patch(int node, String space, String id, String body, long base) {
    HttpRequest<Buffer> request = apis.get(node).request(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + id, token)
        .putHeader("Content-Type", "application/merge-patch+json").putHeader("If-Match", "\"" + base + "\"");
    return request.sendBuffer(Buffer.buffer(body));
  }

  /** Sends the two patches at once, one through each node, both from the same base. */
  private static List<HttpResponse<Buffer>> race(String space, String id, String first, String second, long base) {
    return Future.all(patch(0, space, id, first, base), patch(1, space, id, second, base)).await().list();
  }

  private static JsonObject read(int node, String space, String id) {
    return expect(apis.get(node).get("/api/v1/spaces/" + space + "/nodes/" + id + "/document", token), 200);
  }

  private static List<JsonObject> changes(String space) {
    JsonArray all = expect(apis.get(1).get("/api/v1/spaces/" + space + "/changes?cursor=0&limit=1000", token), 200)
        .getJsonArray("changes");
    return all.stream().map(c -> (JsonObject) c).toList();
  }

  @Test
  @DisplayName("patches from one base on different fields, sent through two nodes at once, both apply under either policy")
  void differentFieldsAcrossNodes() {
    for (String policy : List.of("manual", "last_writer_wins")) {
      String space = space(policy);
      String id = create(0, space, "form.json", new JsonObject().put("name", "").put("email", "")
          .put("address", new JsonObject().put("city", "").put("zip", "")));
      for (int round = 0; round < 5; round++) {
        long base = 1 + 2L * round;
        List<HttpResponse<Buffer>> answers = race(space, id,
            "{\"name\":\"n" + round + "\",\"address\":{\"city\":\"c" + round + "\"}}",
            "{\"email\":\"e" + round + "\",\"address\":{\"zip\":\"z" + round + "\"}}", base);
        answers.forEach(answer -> expect(answer, 200));
        JsonObject expected = new JsonObject().put("name", "n" + round).put("email", "e" + round)
            .put("address", new JsonObject().put("city", "c" + round).put("zip", "z" + round));
        assertThat(read(0, space, id)).as(policy + " round " + round).isEqualTo(expected);
        assertThat(read(1, space, id)).isEqualTo(expected);
      }
      assertThat(changes(space)).noneMatch(change -> "conflict".equals(change.getString("kind")));
    }
  }

  @Test
  @DisplayName("manual: of two patches on the same field through two nodes, one applies and the other gets 409 with the current document")
  void sameFieldManualAcrossNodes() {
    String space = space("manual");
    String id = create(0, space, "task.json", new JsonObject().put("status", "open"));
    List<HttpResponse<Buffer>> answers = race(space, id, "{\"status\":\"done\"}", "{\"status\":\"blocked\"}", 1);
    assertThat(answers.stream().map(HttpResponse::statusCode).sorted().toList()).containsExactly(200, 409);
    JsonObject error = answers.stream().filter(a -> a.statusCode() == 409).findFirst().orElseThrow().bodyAsJsonObject();
    JsonObject applied = answers.stream().filter(a -> a.statusCode() == 200).findFirst().orElseThrow().bodyAsJsonObject();
    assertThat(error.getString("code")).isEqualTo("version_conflict");
    assertThat(error.getJsonObject("current").getJsonObject("content")).isEqualTo(applied.getJsonObject("content"));
    assertThat(read(1, space, id)).isEqualTo(applied.getJsonObject("content"));
  }

  @Test
  @DisplayName("last_writer_wins: two patches on the same field through two nodes both apply; the later value stays, the earlier is in the conflict change")
  void sameFieldLastWriterWinsAcrossNodes() {
    String space = space("last_writer_wins");
    String id = create(0, space, "task.json", new JsonObject().put("status", "open").put("note", ""));
    List<HttpResponse<Buffer>> answers = race(space, id, "{\"status\":\"done\",\"note\":\"a\"}", "{\"status\":\"blocked\"}", 1);
    answers.forEach(answer -> expect(answer, 200));
    JsonObject now = read(0, space, id);
    assertThat(now.getString("status")).isIn("done", "blocked");
    List<JsonObject> log = changes(space);
    assertThat(log).extracting(c -> c.getString("kind")).containsExactly("created", "updated", "updated", "conflict");
    JsonObject conflict = log.get(3).getJsonObject("node").getJsonObject("conflict");
    String earlier = now.getString("status").equals("done") ? "blocked" : "done";
    assertThat(conflict.getJsonArray("fields")).containsExactly("/status");
    assertThat(conflict.getJsonArray("overwritten")).containsExactly(new JsonObject().put("path", "/status").put("value", earlier));
    // The note only the first patch touched survives whichever came second.
    assertThat(now.getString("note")).isEqualTo("a");
  }

  @Test
  @DisplayName("a subscriber on one node follows documents written through the other from the change entries alone")
  void subscriberFollowsPatchesAcrossNodes() {
    String space = space("last_writer_wins");
    try (LiveClient client = LiveClient.connect(clients, apis.get(1).port(), token)) {
      client.nextOfType("authenticated", 10_000);
      client.subscribe(space, 0);
      client.nextOfType("subscribed", 10_000);
      String id = create(0, space, "counter.json", new JsonObject().put("count", 0));
      for (int i = 1; i <= 10; i++) {
        expect(patch(i % 2, space, id, new JsonObject().put("count", i).put("by" + (i % 2), i).encode(), i).await(), 200);
      }
      JsonObject mirror = null;
      long version = 0;
      for (int i = 0; i <= 10; i++) {
        JsonObject change = client.nextOfType("change", 10_000);
        JsonObject doc = change.getJsonObject("doc");
        assertThat(doc.getLong("base_version")).isEqualTo(version);
        mirror = doc.containsKey("content") ? doc.getJsonObject("content")
            : (JsonObject) MergePatch.apply(mirror, doc.getJsonObject("patch"));
        version = change.getLong("version");
      }
      assertThat(mirror).isEqualTo(new JsonObject().put("count", 10).put("by1", 9).put("by0", 10)).isEqualTo(read(0, space, id));
    }
  }
}
