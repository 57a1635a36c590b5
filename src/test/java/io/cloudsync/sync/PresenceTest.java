package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.Clustering;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.files.FilesFixture;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Presence between two clustered nodes in one JVM (one Vert.x and one CloudSync each, one database). */
@DisplayName("Presence in a space across two clustered nodes")
@ExtendWith(RealServers.class)
class PresenceTest {
  private static final List<Vertx> nodes = new ArrayList<>();
  private static final List<CloudSyncHandle> handles = new ArrayList<>();
  private static final List<Api> apis = new ArrayList<>();
  private static Vertx clients;

  @BeforeAll
  static void start(Servers servers) {
    String dbUrl = servers.newDatabaseUrl();
    String blobs = TestCloudSync.tempDir().toString();
    List<Integer> ports = List.of(Servers.freePort(), Servers.freePort());
    String members = ports.stream().map(port -> "127.0.0.1:" + port).collect(Collectors.joining(","));
    clients = Vertx.vertx();
    for (int port : ports) {
      JsonObject cluster = new JsonObject().put("cluster", true).put("cluster_host", "127.0.0.1")
          .put("cluster_port", port).put("cluster_members", members);
      Vertx node = Clustering.start(CloudSyncConfig.from(cluster)).await();
      nodes.add(node);
      CloudSyncHandle handle = TestCloudSync.deploy(node, TestCloudSync.config(servers).put("pg.url", dbUrl)
          .put("blob.local.dir", blobs).put("http.instances", 2).put("sync.presence_heartbeat", 1)
          .put("sync.presence_timeout", 3).mergeIn(cluster));
      handles.add(handle);
      apis.add(new Api(clients, handle.httpPort()));
    }
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

  private static JsonObject user(String name) {
    String token = apis.get(0).newUser(name + "-" + FilesFixture.unique("presence") + "@example.com");
    String id = apis.get(0).get("/api/v1/me", token).bodyAsJsonObject().getString("id");
    return new JsonObject().put("token", token).put("id", id);
  }

  private static LiveClient live(int node, JsonObject user) {
    LiveClient client = LiveClient.connect(clients, apis.get(node).port(), user.getString("token"));
    client.nextOfType("authenticated", 10_000);
    return client;
  }

  private static JsonObject enter(LiveClient client, String space, String device) {
    client.send(new JsonObject().put("type", "subscribe").put("space", space)
        .put("presence", new JsonObject().put("device", device)));
    client.nextOfType("subscribed", 10_000);
    return client.nextOfType("presence", 10_000);
  }

  /** The next presence event of the type about the user, skipping anything else. */
  private static JsonObject event(LiveClient client, String type, String userId) {
    return client.until(m -> type.equals(m.getString("type"))
        && userId.equals(m.getJsonObject("member").getString("user_id")), 15_000).get(0);
  }

  private static String share(JsonObject owner, String space, JsonObject member) {
    expect(apis.get(0).request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/members/" + member.getString("id"),
        owner.getString("token")).sendJsonObject(new JsonObject().put("role", "editor")).await(), 200);
    return space;
  }

  @Test
  @DisplayName("members on two nodes see each other join, set what they edit, and leave")
  void joinUpdateLeave() {
    JsonObject owner = user("owner");
    JsonObject editor = user("editor");
    String space = expect(apis.get(0).post("/api/v1/spaces", owner.getString("token"),
        new JsonObject().put("name", "Together")), 201).getString("id");
    share(owner, space, editor);

    try (LiveClient alice = live(0, owner)) {
      JsonObject first = enter(alice, space, "laptop");
      JsonArray members = first.getJsonArray("members");
      assertThat(members).hasSize(1);
      JsonObject me = members.getJsonObject(0);
      assertThat(me.getString("id")).isEqualTo(first.getString("you"));
      assertThat(me.getString("user_id")).isEqualTo(owner.getString("id"));
      assertThat(me.getString("device")).isEqualTo("laptop");
      assertThat(me.getString("since")).isNotBlank();

      try (LiveClient bob = live(1, editor)) {
        JsonObject seenByBob = enter(bob, space, "phone");
        JsonObject joined = event(alice, "presence_join", editor.getString("id"));
        assertThat(joined.getJsonObject("member").getString("device")).isEqualTo("phone");
        // Bob's list may miss Alice for a moment (the other node answers his query); a join then follows.
        if (seenByBob.getJsonArray("members").stream()
            .noneMatch(m -> owner.getString("id").equals(((JsonObject) m).getString("user_id")))) {
          event(bob, "presence_join", owner.getString("id"));
        }

        alice.send(new JsonObject().put("type", "presence").put("space", space)
            .put("state", new JsonObject().put("editing", "node-42")));
        JsonObject updated = event(bob, "presence_update", owner.getString("id"));
        assertThat(updated.getJsonObject("member").getJsonObject("state").getString("editing")).isEqualTo("node-42");
      }
      JsonObject left = event(alice, "presence_leave", editor.getString("id"));
      assertThat(left.getString("reason")).isEqualTo("left");
    }
  }

  @Test
  @DisplayName("only members see presence, and an unshared member's presence leaves with its subscription")
  void membersOnly() {
    JsonObject owner = user("owner");
    JsonObject editor = user("editor");
    JsonObject stranger = user("stranger");
    String space = expect(apis.get(0).post("/api/v1/spaces", owner.getString("token"),
        new JsonObject().put("name", "Private")), 201).getString("id");
    share(owner, space, editor);

    try (LiveClient alice = live(0, owner); LiveClient bob = live(1, editor); LiveClient eve = live(1, stranger)) {
      enter(alice, space, "desk");
      eve.send(new JsonObject().put("type", "subscribe").put("space", space).put("presence", true));
      assertThat(eve.nextOfType("error", 10_000).getString("code")).isEqualTo("not_found");
      enter(bob, space, "tablet");
      event(alice, "presence_join", editor.getString("id"));

      expect(apis.get(0).request(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/members/" + editor.getString("id"),
          owner.getString("token")).send().await(), 204);
      assertThat(bob.nextOfType("error", 10_000).getString("code")).isEqualTo("access_revoked");
      assertThat(event(alice, "presence_leave", editor.getString("id")).getString("reason")).isEqualTo("left");
      clients.timer(500).await();
      assertThat(eve.drain()).noneMatch(m -> m.getString("type").startsWith("presence"));
      bob.send(new JsonObject().put("type", "presence").put("space", space).put("state", new JsonObject()));
      assertThat(bob.nextOfType("error", 10_000).getString("code")).isEqualTo("not_found");
    }
  }

  @Test
  @DisplayName("a browser on the SockJS bridge joins with a presence header and sees the others; unregistering leaves")
  void overTheBridge() {
    JsonObject owner = user("owner");
    JsonObject editor = user("editor");
    String space = expect(apis.get(0).post("/api/v1/spaces", owner.getString("token"),
        new JsonObject().put("name", "Browsers")), 201).getString("id");
    share(owner, space, editor);
    String address = io.cloudsync.bus.Addresses.SYNC_SPACE_PREFIX + space;
    try (LiveClient alice = live(0, owner);
         SockJsClient browser = SockJsClient.connect(clients, apis.get(1).port(), SockJsClient.Transport.WEBSOCKET)) {
      enter(alice, space, "laptop");
      browser.send(new JsonObject().put("type", "register").put("address", address).put("headers", new JsonObject()
          .put("authorization", "Bearer " + editor.getString("token"))
          .put("presence", new JsonObject().put("device", "browser").put("state", new JsonObject().put("editing", "n1")))));
      JsonObject list = browser.inbox().until(m -> body(m, "presence"), 10_000).get(0).getJsonObject("body");
      assertThat(list.getString("you")).isNotBlank();
      JsonObject joined = event(alice, "presence_join", editor.getString("id"));
      assertThat(joined.getJsonObject("member").getString("device")).isEqualTo("browser");
      assertThat(joined.getJsonObject("member").getJsonObject("state").getString("editing")).isEqualTo("n1");
      if (list.getJsonArray("members").size() < 2) {
        browser.inbox().until(m -> body(m, "presence_join"), 10_000);
      }
      browser.unregister(address);
      assertThat(event(alice, "presence_leave", editor.getString("id")).getString("reason")).isEqualTo("left");
    }
  }

  @Test
  @DisplayName("connections on the same node and event loop see each other's joins, updates and leaves too")
  void sameNode() {
    JsonObject owner = user("owner");
    String space = expect(apis.get(0).post("/api/v1/spaces", owner.getString("token"),
        new JsonObject().put("name", "One node")), 201).getString("id");
    // Two gateway event loops per node, connections spread over them: of three, two share one.
    try (LiveClient first = live(0, owner); LiveClient second = live(0, owner); LiveClient third = live(0, owner)) {
      enter(first, space, "one");
      enter(second, space, "two");
      enter(third, space, "three");
      for (LiveClient client : List.of(first, second)) {
        client.until(m -> "presence_join".equals(m.getString("type"))
            && "three".equals(m.getJsonObject("member").getString("device")), 10_000);
      }
      third.send(new JsonObject().put("type", "presence").put("space", space).put("state", new JsonObject().put("editing", "x")));
      for (LiveClient client : List.of(first, second)) {
        JsonObject updated = client.until(m -> "presence_update".equals(m.getString("type"))
            && "three".equals(m.getJsonObject("member").getString("device")), 10_000).get(0);
        assertThat(updated.getJsonObject("member").getJsonObject("state").getString("editing")).isEqualTo("x");
      }
      third.close();
      for (LiveClient client : List.of(first, second)) {
        client.until(m -> "presence_leave".equals(m.getString("type"))
            && "three".equals(m.getJsonObject("member").getString("device")), 10_000);
      }
    }
  }

  private static boolean body(JsonObject message, String type) {
    return "rec".equals(message.getString("type")) && message.getValue("body") instanceof JsonObject body
        && type.equals(body.getString("type"));
  }
}
