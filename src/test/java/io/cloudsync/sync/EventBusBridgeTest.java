package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.bus.Addresses;
import io.cloudsync.files.FilesFixture;
import io.cloudsync.sync.SockJsClient.Transport;
import io.cloudsync.test.NodeModules;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("The SockJS event-bus bridge at /eventbus, over real SockJS framing")
@ExtendWith(RealServers.class)
class EventBusBridgeTest {
  private static final String ADMIN = "bridge-admin@example.com";
  private static final String APP_ORIGIN = "https://app.example.com";
  private static final String EVIL_ORIGIN = "https://evil.example";
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject()
        .put("auth.admin_emails", ADMIN)
        .put("http.cors.origins", APP_ORIGIN));
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  private static SockJsClient connect(Transport transport) {
    return SockJsClient.connect(files.vertx, files.api.port(), transport);
  }

  private static String address(String space) {
    return Addresses.SYNC_SPACE_PREFIX + space;
  }

  /** A change of a folder {@link #probe} made. */
  private static boolean isProbe(JsonObject message) {
    return isChange(message) && message.getJsonObject("body").getValue("node") instanceof JsonObject node
        && String.valueOf(node.getValue("name")).startsWith("probe ");
  }

  /** The name of the node a change rec carries. */
  private static String name(JsonObject message) {
    return message.getJsonObject("body").getJsonObject("node").getString("name");
  }

  /**
   * Appends {@code count} folder changes named {@code unpublished <n>} straight to the space's log, with
   * {@code padding} in each, and publishes none of them.
   */
  private static void writeUnpublished(FilesFixture server, String space, String actor, int count, String padding) {
    server.db.preparedQuery("WITH s AS (UPDATE spaces SET next_seq = next_seq + $3 WHERE id = $1::uuid "
            + "RETURNING id, next_seq - $3 AS first) "
            + "INSERT INTO changes (space_id, seq, node_id, kind, version, actor, payload) "
            + "SELECT s.id, s.first + n, gen_random_uuid(), 'created', 1, $2::uuid, "
            + "jsonb_build_object('name', 'unpublished ' || n, 'padding', $4::text) FROM s, generate_series(1, $3) n")
        .execute(Tuple.of(space, actor, count, padding)).await();
  }

  /** Makes a folder named {@code probe <random>} in the space and answers its name. */
  private static String probe(FilesFixture server, String token, String space) {
    String name = "probe " + UUID.randomUUID();
    expect(server.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token, new JsonObject().put("name", name)),
        201);
    return name;
  }

  private static boolean isChange(JsonObject message) {
    return "rec".equals(message.getString("type")) && message.getValue("body") instanceof JsonObject body
        && body.containsKey("seq");
  }

  /** Registers the client for the space with {@code token}; the writer makes the probes ({@link SockJsClient#listen}). */
  private static void listen(SockJsClient client, String token, String writerToken, String space) {
    listen(files, client, token, writerToken, space);
  }

  private static void listen(FilesFixture server, SockJsClient client, String token, String writerToken,
                             String space) {
    client.listen(address(space), token, () -> probe(server, writerToken, space));
  }

  /** Asserts that nothing more reaches the client from the space, not even a change the writer makes (when given). */
  private static void assertNothingMoreArrives(SockJsClient client, String writerToken, String space) {
    if (writerToken != null) {
      folder(writerToken, space, "after " + UUID.randomUUID());
    }
    files.vertx.timer(500).await();
    assertThat(client.inbox().drain()).noneMatch(m -> "rec".equals(m.getString("type")));
  }

  private static JsonObject folder(String token, String space, String name) {
    return expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
        new JsonObject().put("name", name)), 201);
  }

  /** The change with this seq as GET /changes renders it. */
  private static JsonObject logged(String token, String space, long seq) {
    return files.changes(token, space).stream().map(JsonObject.class::cast)
        .filter(change -> change.getLong("seq") == seq).findFirst().orElseThrow();
  }

  /** A made-up change, as a page on the bridge would forge one. */
  private static JsonObject forged(String space) {
    return new JsonObject().put("space", space).put("seq", 999).put("kind", "deleted").put("v", 1);
  }

  /** The reader registers for the space; what the writer then changes over HTTP arrives as GET /changes shows it. */
  private static void assertReceivesChangesAsLogged(SockJsClient client, String readerToken, String writerToken,
                                                    String space) {
    listen(client, readerToken, writerToken, space);

    JsonObject node = folder(writerToken, space, "Live");
    JsonObject rec = client.inbox().until(EventBusBridgeTest::isChange, 5000).get(0);
    assertThat(rec.getString("address")).isEqualTo(address(space));
    JsonObject body = rec.getJsonObject("body");
    assertThat(body.getString("space")).isEqualTo(space);
    assertThat(body.getString("kind")).isEqualTo("created");
    assertThat(body.getString("node_id")).isEqualTo(node.getString("id"));
    assertThat(body.getJsonObject("node").getString("name")).isEqualTo("Live");
    assertThat(body.containsKey("v")).as("the bus envelope's version field").isFalse();
    assertThat(body).isEqualTo(logged(readerToken, space, body.getLong("seq")));

    folder(writerToken, space, "Next");
    assertThat(client.inbox().until(EventBusBridgeTest::isChange, 5000).get(0).getJsonObject("body").getLong("seq"))
        .isEqualTo(body.getLong("seq") + 1);
  }

  @Test
  @DisplayName("a member who registers with their token receives each change as GET /changes renders it")
  void memberReceivesChanges() {
    JsonObject owner = files.user("owner");
    JsonObject viewer = files.user("viewer");
    String space = files.space(owner.getString("token"), "Live", null).getString("id");
    files.share(owner.getString("token"), space, viewer.getString("id"), "viewer");
    try (SockJsClient client = connect(Transport.WEBSOCKET)) {
      assertReceivesChangesAsLogged(client, viewer.getString("token"), owner.getString("token"), space);
      client.ping();
      assertThat(client.isClosed()).isFalse();
    }
  }

  @Test
  @DisplayName("a plain registration gets every change in seq order, reading the log for those whose publish it missed")
  void gapFree() {
    JsonObject owner = files.user("ordered");
    String token = owner.getString("token");
    String space = files.space(token, "Ordered", null).getString("id");
    try (SockJsClient client = connect(Transport.WEBSOCKET)) {
      listen(client, token, token, space);
      // Three changes that are never published, as if their publishes were lost, then one that is.
      writeUnpublished(files, space, owner.getString("id"), 3, "");
      JsonObject published = folder(token, space, "published");
      List<JsonObject> got = new ArrayList<>();
      while (got.isEmpty() || !name(got.get(got.size() - 1)).equals("published")) {
        got.add(client.inbox().until(EventBusBridgeTest::isChange, 5000).get(0));
      }
      assertThat(got).extracting(EventBusBridgeTest::name)
          .containsExactly("unpublished 1", "unpublished 2", "unpublished 3", "published");
      long seq = got.get(3).getJsonObject("body").getLong("seq");
      assertThat(got).extracting(m -> m.getJsonObject("body").getLong("seq"))
          .containsExactly(seq - 3, seq - 2, seq - 1, seq);
      assertThat(got.get(3).getJsonObject("body").getString("node_id")).isEqualTo(published.getString("id"));
    }
  }

  @Test
  @DisplayName("plain registrations do not count against sync.max_filtered_subscriptions; filtered ones do")
  void filteredLimit(Servers servers) {
    try (FilesFixture one = FilesFixture.start(servers, new JsonObject().put("sync.max_filtered_subscriptions", 1))) {
      String token = one.user("limited").getString("token");
      List<String> spaces = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        spaces.add(one.space(token, "Space " + i, null).getString("id"));
      }
      try (SockJsClient client = SockJsClient.connect(one.vertx, one.api.port(), Transport.WEBSOCKET)) {
        for (String space : spaces.subList(0, 2)) {
          listen(one, client, token, token, space);
        }
        // Admitted: probes made in that space come through.
        client.listen(address(spaces.get(2)), new JsonObject().put("authorization", "Bearer " + token)
            .put("types", "folder"), () -> probe(one, token, spaces.get(2)));

        client.send(new JsonObject().put("type", "register").put("address", address(spaces.get(3)))
            .put("headers", new JsonObject().put("authorization", "Bearer " + token).put("types", "folder")));
        JsonObject refused = client.inbox().until(m -> "err".equals(m.getString("type")), 5000).get(0);
        assertThat(refused.getString("address")).isEqualTo(address(spaces.get(3)));
        assertThat(refused.getString("failureType")).isEqualTo("validation_failed");
        assertThat(refused.getString("message")).contains("path_prefix, types or snapshot");
      }
    }
  }

  @Test
  @DisplayName("the xhr-streaming fallback registers and delivers the same way")
  void xhrStreaming() {
    JsonObject owner = files.user("streamer");
    String token = owner.getString("token");
    String space = files.space(token, "Streamed", null).getString("id");
    try (SockJsClient client = connect(Transport.XHR_STREAMING)) {
      assertReceivesChangesAsLogged(client, token, token, space);
    }
  }

  @Test
  @DisplayName("refuse registrations without a member's valid token, and every address but a space's")
  void refusedRegistrations() {
    JsonObject owner = files.user("owner");
    JsonObject stranger = files.user("stranger");
    String space = files.space(owner.getString("token"), "Private", null).getString("id");
    String strangersSpace = files.space(stranger.getString("token"), "Theirs", null).getString("id");

    try (SockJsClient member = connect(Transport.WEBSOCKET);
         SockJsClient outsider = connect(Transport.WEBSOCKET);
         SockJsClient anonymous = connect(Transport.WEBSOCKET);
         SockJsClient forger = connect(Transport.XHR_STREAMING)) {
      listen(member, owner.getString("token"), owner.getString("token"), space);

      List<String> refused = new ArrayList<>();
      outsider.register(address(space), stranger.getString("token"));
      refused.add(outsider.inbox().nextOfType("err", 5000).getString("body"));
      for (String other : List.of(Addresses.SPACES_LIST, Addresses.AUTH_REVOKED, Addresses.SYNC_SPACE_PREFIX + "x",
          Addresses.SYNC_SPACE_PREFIX + space + ".more")) {
        outsider.register(other, stranger.getString("token"));
        refused.add(outsider.inbox().nextOfType("err", 5000).getString("body"));
      }
      anonymous.register(address(space), null);
      refused.add(anonymous.inbox().nextOfType("err", 5000).getString("body"));
      anonymous.register(address(space), "not-a-token");
      refused.add(anonymous.inbox().nextOfType("err", 5000).getString("body"));
      anonymous.send(new JsonObject().put("type", "register").put("address", address(space))
          .put("headers", new JsonObject().put("authorization", owner.getString("token"))));
      refused.add(anonymous.inbox().nextOfType("err", 5000).getString("body"));
      forger.register(address(space), owner.getString("token").substring(1));
      refused.add(forger.inbox().nextOfType("err", 5000).getString("body"));
      for (Object headers : List.of(new JsonObject().put("authorization", 42), "Bearer " + owner.getString("token"))) {
        forger.send(new JsonObject().put("type", "register").put("address", address(space)).put("headers", headers));
        refused.add(forger.inbox().nextOfType("err", 5000).getString("body"));
      }
      assertThat(refused).hasSize(11).containsOnly("rejected");

      // What the refused would have received: a change, and a revocation on the bus.
      folder(owner.getString("token"), space, "Secret");
      JsonObject leaver = files.user("leaver");
      expect(files.send(HttpMethod.POST, "/api/v1/auth/logout", leaver.getString("token"), null), 204);
      assertThat(name(member.inbox().until(EventBusBridgeTest::isChange, 5000).get(0))).isEqualTo("Secret");
      files.vertx.timer(300).await();
      for (SockJsClient client : List.of(outsider, anonymous, forger)) {
        assertThat(client.inbox().drain()).noneMatch(m -> "rec".equals(m.getString("type")));
        assertThat(client.isClosed()).isFalse();
      }

      // A refusal leaves the connection usable for what the caller may read.
      listen(outsider, stranger.getString("token"), stranger.getString("token"), strangersSpace);
      // A connection stays with the user it was first authenticated as.
      outsider.register(address(space), owner.getString("token"));
      assertThat(outsider.inbox().nextOfType("err", 5000).getString("body")).isEqualTo("rejected");
    }
  }

  @Test
  @DisplayName("refuse every send and publish from a browser: nothing reaches the event bus")
  void inboundRefused() {
    JsonObject owner = files.user("owner");
    JsonObject member = files.user("member");
    String space = files.space(owner.getString("token"), "Shared", null).getString("id");
    files.share(owner.getString("token"), space, member.getString("id"), "editor");

    String madeUp = "cloudsync.test.inbound." + UUID.randomUUID();
    AtomicInteger delivered = new AtomicInteger();
    List<MessageConsumer<Object>> consumers = new ArrayList<>();
    try (SockJsClient observer = connect(Transport.WEBSOCKET);
         SockJsClient sender = connect(Transport.WEBSOCKET);
         SockJsClient streamer = connect(Transport.XHR_STREAMING)) {
      listen(observer, owner.getString("token"), owner.getString("token"), space);
      listen(sender, member.getString("token"), owner.getString("token"), space);
      // Both have had every probe: one more reached both, after all the others.
      String settled = probe(files, owner.getString("token"), space);
      for (SockJsClient client : List.of(observer, sender)) {
        client.inbox().until(m -> isProbe(m) && name(m).equals(settled), 5000);
      }
      // Listening from here on: the probes' changes went out before.
      for (String address : List.of(address(space), Addresses.AUTH_REVOKED, Addresses.SPACES_LIST, madeUp)) {
        MessageConsumer<Object> consumer = files.vertx.eventBus().consumer(address, message -> delivered.incrementAndGet());
        consumer.completion().await();
        consumers.add(consumer);
      }

      int attempts = 0;
      for (SockJsClient client : List.of(sender, streamer)) {
        for (int i = 0; i < 3; i++) {
          // Sent more than once: a send goes to one consumer of several, round robin.
          client.sendTo(address(space), forged(space));
          client.sendTo(Addresses.SPACES_LIST, new JsonObject().put("actor", member.getString("id")).put("v", 1));
          client.sendTo(madeUp, new JsonObject().put("hello", i));
          attempts += 3;
        }
        client.publish(address(space), forged(space));
        client.publish(Addresses.AUTH_REVOKED, new JsonObject().put("user", owner.getString("id"))
            .put("before", System.currentTimeMillis() / 1000 + 60));
        client.publish(madeUp, new JsonObject().put("hello", "all"));
        attempts += 3;
      }
      List<JsonObject> received = new ArrayList<>();
      for (SockJsClient client : List.of(sender, streamer)) {
        for (int i = 0; i < attempts / 2; i++) {
          received.addAll(client.inbox().until(m -> "err".equals(m.getString("type")), 15_000));
        }
      }
      List<JsonObject> errors = received.stream().filter(m -> "err".equals(m.getString("type"))).toList();
      assertThat(errors).hasSize(attempts).allMatch(m -> "rejected".equals(m.getString("body")));

      files.vertx.timer(300).await();
      assertThat(delivered.get()).as("messages that reached a consumer on the server's bus").isZero();
      assertThat(observer.inbox().drain()).noneMatch(EventBusBridgeTest::isChange);
      assertThat(observer.isClosed()).as("the owner's session, which the forged revocation named").isFalse();
      assertThat(received).noneMatch(EventBusBridgeTest::isChange);
    } finally {
      consumers.forEach(consumer -> consumer.unregister().await());
    }
  }

  private static void assertOpens(FilesFixture server, Transport transport, String origin) {
    try (SockJsClient client = SockJsClient.connect(server.vertx, server.api.port(), "/eventbus", transport, origin)) {
      client.ping();
      assertThat(client.isClosed()).as("%s from %s", transport, origin).isFalse();
    }
  }

  private static void assertRefused(FilesFixture server, Transport transport, String origin) {
    assertThatThrownBy(() -> SockJsClient.connect(server.vertx, server.api.port(), "/eventbus", transport, origin)
        .close())
        .as("%s from %s", transport, origin)
        .isInstanceOfSatisfying(SockJsClient.Rejected.class, e -> assertThat(e.status()).isEqualTo(403));
  }

  @Test
  @DisplayName("accept the server's own origin and the allow-listed ones, on every transport; refuse the rest before a session opens")
  void origins(Servers servers) {
    String sameOrigin = "http://127.0.0.1:" + files.api.port();
    for (Transport transport : Transport.values()) {
      assertRefused(files, transport, EVIL_ORIGIN);
      assertOpens(files, transport, APP_ORIGIN);
      assertOpens(files, transport, sameOrigin);
    }
    JsonObject owner = files.user("cross-site");
    String space = files.space(owner.getString("token"), "Cross-site", null).getString("id");
    try (SockJsClient client = SockJsClient.connect(files.vertx, files.api.port(), "/eventbus", Transport.WEBSOCKET,
        APP_ORIGIN)) {
      listen(client, owner.getString("token"), owner.getString("token"), space);
    }

    // The default installation lists no origins: only its own pages may connect.
    try (FilesFixture plain = FilesFixture.start(servers, new JsonObject())) {
      String plainOrigin = "http://127.0.0.1:" + plain.api.port();
      for (Transport transport : Transport.values()) {
        assertRefused(plain, transport, EVIL_ORIGIN);
        assertRefused(plain, transport, APP_ORIGIN);
        assertOpens(plain, transport, plainOrigin);
      }
    }
  }

  @Test
  @DisplayName("stop a member's deliveries when they are unshared, and tell them why")
  void unshareMidStream() {
    JsonObject owner = files.user("owner");
    JsonObject member = files.user("member");
    String ownerToken = owner.getString("token");
    String space = files.space(ownerToken, "Shared", null).getString("id");
    files.share(ownerToken, space, member.getString("id"), "viewer");
    try (SockJsClient client = connect(Transport.WEBSOCKET)) {
      listen(client, member.getString("token"), ownerToken, space);
      folder(ownerToken, space, "seen");
      assertThat(client.inbox().until(EventBusBridgeTest::isChange, 5000).get(0).getJsonObject("body").getString("kind"))
          .isEqualTo("created");

      expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/members/" + member.getString("id"),
          ownerToken, null), 204);
      List<JsonObject> messages = client.inbox().until(m -> "err".equals(m.getString("type")), 1000);
      JsonObject error = messages.get(0);
      assertThat(error.getString("address")).isEqualTo(address(space));
      assertThat(error.getString("failureType")).isEqualTo("access_revoked");
      assertThat(error.getInteger("failureCode")).isEqualTo(403);
      assertThat(error.getString("message")).isNotBlank();
      List<JsonObject> before = messages.subList(1, messages.size());
      assertThat(before).filteredOn(EventBusBridgeTest::isChange).singleElement()
          .satisfies(rec -> {
            assertThat(rec.getJsonObject("body").getString("kind")).isEqualTo("unshared");
            assertThat(rec.getJsonObject("body").getJsonObject("member").getString("user_id"))
                .isEqualTo(member.getString("id"));
          });

      folder(ownerToken, space, "unseen");
      folder(ownerToken, space, "unseen either");
      assertNothingMoreArrives(client, ownerToken, space);
      assertThat(client.isClosed()).isFalse();
    }
  }

  @Test
  @DisplayName("a register with path_prefix, types and snapshot headers gets the subtree's snapshot, then only its changes in order, and cursor bodies for the rest")
  void filteredRegistration() {
    String token = files.user("filtered").getString("token");
    String space = files.space(token, "Filtered", null).getString("id");
    JsonObject inside = expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
        new JsonObject().put("name", "Inside")), 201);
    JsonObject outside = expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
        new JsonObject().put("name", "Outside")), 201);
    JsonObject sub = files.folder(token, space, inside.getString("id"), "Sub");
    JsonObject stray = files.folder(token, space, outside.getString("id"), "Stray");
    try (SockJsClient client = connect(Transport.WEBSOCKET)) {
      client.send(new JsonObject().put("type", "register").put("address", address(space)).put("headers", new JsonObject()
          .put("authorization", "Bearer " + token).put("types", "symlink")));
      JsonObject refused = client.inbox().until(m -> "err".equals(m.getString("type")), 5000).get(0);
      assertThat(refused.getString("failureType")).isEqualTo("validation_failed");
      assertThat(refused.getString("message")).contains("document");

      client.send(new JsonObject().put("type", "register").put("address", address(space)).put("headers", new JsonObject()
          .put("authorization", "Bearer " + token).put("path_prefix", "/inside").put("types", "folder")
          .put("snapshot", "true")));
      JsonObject snapshot = client.inbox().until(m -> isBody(m, "snapshot"), 5000).get(0).getJsonObject("body");
      assertThat(snapshot.getJsonArray("nodes").stream().map(n -> ((JsonObject) n).getString("id")))
          .containsExactlyInAnyOrder(inside.getString("id"), sub.getString("id"));
      long cursor = client.inbox().until(m -> isBody(m, "snapshot_done"), 5000).get(0).getJsonObject("body")
          .getLong("cursor");
      assertThat(cursor).isEqualTo(4);

      files.folder(token, space, outside.getString("id"), "not ours");
      JsonObject mine = files.folder(token, space, sub.getString("id"), "ours");
      expect(files.send(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + stray.getString("id"), token,
          new JsonObject().put("parent_id", inside.getString("id"))), 200);
      files.folder(token, space, outside.getString("id"), "not ours either");

      List<JsonObject> got = new ArrayList<>();
      long position = cursor;
      long deadline = System.currentTimeMillis() + 10_000;
      while (position < 8) {
        JsonObject message = client.inbox().next(Math.max(1, deadline - System.currentTimeMillis()));
        if (isChange(message)) {
          assertThat(message.getJsonObject("body").getLong("seq")).as("in order, once").isGreaterThan(position);
          position = message.getJsonObject("body").getLong("seq");
          got.add(message.getJsonObject("body"));
        } else if (isBody(message, "cursor")) {
          position = message.getJsonObject("body").getLong("cursor");
        }
      }
      assertThat(got).extracting(change -> change.getLong("seq")).containsExactly(6L, 7L);
      assertThat(got.get(0).getString("node_id")).isEqualTo(mine.getString("id"));
      assertThat(got.get(1).getString("subtree")).isEqualTo("entered");
      assertThat(position).as("a cursor body says the last change was skipped").isEqualTo(8);
    }
  }

  private static boolean isBody(JsonObject message, String type) {
    return "rec".equals(message.getString("type")) && message.getValue("body") instanceof JsonObject body
        && type.equals(body.getString("type"));
  }

  @Test
  @DisplayName("stop a space's deliveries when it is deleted, and tell its members why")
  void spaceDeleted() {
    JsonObject owner = files.user("owner");
    String token = owner.getString("token");
    String space = files.space(token, "Doomed", null).getString("id");
    try (SockJsClient client = connect(Transport.XHR_STREAMING)) {
      listen(client, token, token, space);

      expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space, token, null), 204);
      List<JsonObject> messages = client.inbox().until(m -> "err".equals(m.getString("type")), 1000);
      assertThat(messages.get(0).getString("address")).isEqualTo(address(space));
      assertThat(messages.get(0).getString("failureType")).isEqualTo("access_revoked");
      assertThat(messages.subList(1, messages.size())).anySatisfy(rec ->
          assertThat(rec.getJsonObject("body")).isEqualTo(new JsonObject().put("notice", "space_deleted")
              .put("space", space)));

      // The space is gone: nothing can change in it any more, and nothing arrives.
      assertNothingMoreArrives(client, null, space);
    }
  }

  @Test
  @DisplayName("close a bridge session within a second of logout or of the account being disabled, saying why first")
  void revokedSessions() {
    String adminToken = files.api.newUser(ADMIN);
    for (Transport transport : Transport.values()) {
      JsonObject leaver = files.user("leaver");
      String space = files.space(leaver.getString("token"), "Mine", null).getString("id");
      try (SockJsClient client = connect(transport)) {
        listen(client, leaver.getString("token"), leaver.getString("token"), space);
        expect(files.send(HttpMethod.POST, "/api/v1/auth/logout", leaver.getString("token"), null), 204);
        assertEndedWithin1s(client, "token_revoked");
      }

      JsonObject disabled = files.user("disabled");
      String theirs = files.space(disabled.getString("token"), "Theirs", null).getString("id");
      try (SockJsClient client = connect(transport)) {
        listen(client, disabled.getString("token"), disabled.getString("token"), theirs);
        expect(files.send(HttpMethod.POST, "/api/v1/admin/users/" + disabled.getString("id") + "/disable",
            adminToken, null), 200);
        assertEndedWithin1s(client, "account_disabled");
      }
    }
  }

  @Test
  @DisplayName("end a browser that stops reading with slow_consumer rather than queue every change for it")
  void slowConsumer(Servers servers) {
    try (FilesFixture small = FilesFixture.start(servers, new JsonObject()
        .put("sync.send_queue", "4k")
        .put("sync.slow_consumer_timeout", 1))) {
      JsonObject owner = small.user("slow-browser");
      String token = owner.getString("token");
      String space = small.space(token, "Busy", null).getString("id");
      try (SockJsClient client = SockJsClient.connect(small.vertx, small.api.port(), Transport.WEBSOCKET)) {
        listen(small, client, token, token, space);
        client.inbox().drain();
        client.pause();
        // Far more than any socket buffer holds: 4,000 changes of ~8 KB, written straight into the log, then
        // one more through the API, whose publish sends the registration to the log for the ones before it.
        int written = 4000;
        writeUnpublished(small, space, owner.getString("id"), written, "x".repeat(8000));
        expect(small.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
            new JsonObject().put("name", "last")), 201);
        small.vertx.timer(2500).await();
        client.resume();

        List<JsonObject> messages = client.inbox().until(m -> "err".equals(m.getString("type")), 20_000);
        JsonObject error = messages.get(0);
        assertThat(error.getString("failureType")).isEqualTo("slow_consumer");
        assertThat(error.getString("message")).isNotBlank();
        List<Long> seqs = messages.stream().filter(EventBusBridgeTest::isChange)
            .map(m -> m.getJsonObject("body").getLong("seq")).toList();
        assertThat(seqs).as("changes queued for a client that did not read").hasSizeLessThan(written)
            .isSortedAccordingTo(Long::compare).doesNotHaveDuplicates();
        assertThat(error.getJsonObject("cursors").getLong(space)).as("the last change it was given")
            .isEqualTo(seqs.get(seqs.size() - 1));
        assertThat(client.closeFrame(10_000).getInteger(0)).isEqualTo(3000);
        client.awaitDisconnected(10_000);
      }
    }
  }

  /** Within a second of the revocation's answer: the err saying why, then the close frame, then the connection's end. */
  private static void assertEndedWithin1s(SockJsClient client, String failureType) {
    long deadline = System.currentTimeMillis() + 1000;
    JsonObject error = client.inbox().nextOfType("err", 1000);
    assertThat(error.getString("failureType")).isEqualTo(failureType);
    assertThat(error.getInteger("failureCode")).isEqualTo(401);
    assertThat(error.getString("message")).isNotBlank();
    assertThat(client.closeFrame(Math.max(1, deadline - System.currentTimeMillis())).getInteger(0)).isEqualTo(3000);
    client.awaitDisconnected(Math.max(1, deadline - System.currentTimeMillis()));
  }

  // --- the stock client ------------------------------------------------------------------------------


  @Test
  @DisplayName("the stock @vertx/eventbus-bridge-client.js on sockjs-client receives changes, over WebSocket and xhr-streaming")
  void stockClient() throws Exception {
    Path modules = NodeModules.require();
    JsonObject owner = files.user("browser");
    String token = owner.getString("token");
    String space = files.space(token, "Browser", null).getString("id");
    String url = "http://127.0.0.1:" + files.api.port() + "/eventbus";
    for (String transport : List.of("websocket", "xhr-streaming")) {
      ProcessBuilder command = new ProcessBuilder("node", NodeModules.SOURCES.resolve("bridge-client.js").toString(), url,
          address(space), token, transport).redirectErrorStream(true);
      command.environment().put("NODE_PATH", modules.toString());
      Process node = command.start();
      try {
        Inbox printed = printed(node);
        JsonObject open = printedLine(printed, line -> line.containsKey("open"), 10_000);
        assertThat(open.getString("open")).isEqualTo(transport);
        // As listen(), for a client whose messages come as printed lines.
        long deadline = System.currentTimeMillis() + 5000;
        JsonObject first = null;
        while (first == null && System.currentTimeMillis() < deadline) {
          probe(files, token, space);
          first = printed.poll(100);
        }
        assertThat(first).as("what the stock client printed after registering").isNotNull();
        assertThat(first.getJsonObject("body").getJsonObject("node").getString("name")).as("%s", first)
            .startsWith("probe ");

        folder(token, space, "From " + transport);
        JsonObject body = printedLine(printed, line -> line.getValue("body") instanceof JsonObject b
            && b.getJsonObject("node") != null && ("From " + transport).equals(b.getJsonObject("node").getString("name")),
            5000).getJsonObject("body");
        assertThat(body).isEqualTo(logged(token, space, body.getLong("seq")));
        assertThat(body.getJsonObject("node").getString("name")).isEqualTo("From " + transport);
      } finally {
        node.destroy();
        node.waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  /** The JSON lines the process prints, as they come. */
  private static Inbox printed(Process process) {
    Inbox printed = new Inbox();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
          StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          if (line.startsWith("{")) {
            printed.add(new JsonObject(line));
          }
        }
      } catch (IOException e) {
        // The process ended.
      }
    }, "stock-client-output");
    reader.setDaemon(true);
    reader.start();
    return printed;
  }

  /** The first printed line that matches; fails on an error the stock client printed before it. */
  private static JsonObject printedLine(Inbox printed, Predicate<JsonObject> match, long millis) {
    JsonObject line = printed.until(candidate -> match.test(candidate) || candidate.containsKey("error"),
        millis).get(0);
    assertThat(line.containsKey("error")).as("%s", line).isFalse();
    return line;
  }
}
