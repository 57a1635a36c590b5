package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.files.FilesFixture;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.UpgradeRejectedException;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketFrame;
import io.vertx.sqlclient.Tuple;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Live changes over the raw WebSocket and long-polling")
@ExtendWith(RealServers.class)
class SyncTest {
  private static final String ADMIN = "sync-admin@example.com";
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject()
        .put("auth.admin_emails", ADMIN)
        .put("sync.max_message", "4k")
        .put("sync.send_queue", "4k")
        .put("sync.slow_consumer_timeout", 1));
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  private static LiveClient live(String token) {
    return LiveClient.connect(files.vertx, files.api.port(), token);
  }

  /** Makes folders with a few requests in flight at a time. */
  private static void folders(String token, String space, int count, String prefix) {
    List<Future<HttpResponse<Buffer>>> inFlight = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      inFlight.add(files.api.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token)
          .sendJsonObject(new JsonObject().put("name", prefix + "-" + i)));
      if (inFlight.size() == 8 || i == count - 1) {
        for (HttpResponse<Buffer> response : Future.all(inFlight).await().<HttpResponse<Buffer>>list()) {
          expect(response, 201);
        }
        inFlight.clear();
      }
    }
  }

  private static long head(String token, String space) {
    JsonArray changes = files.changes(token, space);
    return changes.isEmpty() ? 0 : changes.getJsonObject(changes.size() - 1).getLong("seq");
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  @Test
  @DisplayName("send the backlog, then live changes, with no gap and no duplicate while writers keep writing")
  void backlogToLive() {
    JsonObject owner = files.user("handover");
    String token = owner.getString("token");
    String space = files.space(token, "Hand-over", null).getString("id");
    folders(token, space, 30, "before");

    try (LiveClient client = live(token)) {
      assertThat(client.next(5000).getString("type")).isEqualTo("authenticated");
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> folders(token, space, 60, "during"));
      client.subscribe(space, 0);
      writer.join();
      long head = head(token, space);
      assertThat(head).isEqualTo(90);
      assertThat(client.changesUntil(space, head, 20_000)).containsExactlyElementsOf(range(1, head));

      folders(token, space, 3, "after");
      assertThat(client.changesUntil(space, head + 3, 5000)).containsExactly(head + 1, head + 2, head + 3);
      files.vertx.timer(300).await();
      assertThat(client.drain()).noneMatch(m -> "change".equals(m.getString("type")));
    }
  }

  @Test
  @DisplayName("a client that reconnects with its cursor gets exactly what it missed; the token may come as the first message")
  void reconnectWithCursor() {
    JsonObject owner = files.user("reconnect");
    String token = owner.getString("token");
    String space = files.space(token, "Resume", null).getString("id");
    folders(token, space, 5, "one");
    try (LiveClient client = live(token)) {
      client.subscribe(space, 0);
      JsonObject subscribed = client.nextOfType("subscribed", 5000);
      assertThat(subscribed.getLong("cursor")).isZero();
      assertThat(client.changesUntil(space, 5, 5000)).containsExactlyElementsOf(range(1, 5));
    }
    folders(token, space, 4, "two");
    try (LiveClient client = live(null)) {
      client.send(new JsonObject().put("type", "auth").put("token", token));
      assertThat(client.nextOfType("authenticated", 5000).getString("user_id")).isEqualTo(owner.getString("id"));
      client.subscribe(space, 5);
      assertThat(client.changesUntil(space, 9, 5000)).containsExactlyElementsOf(range(6, 9));
      JsonObject change = client.drain().stream().filter(m -> "change".equals(m.getString("type")))
          .findFirst().orElse(null);
      assertThat(change).isNull();
    }
  }

  @Test
  @DisplayName("refuse non-members, bad tokens, cross-site origins and malformed, binary or oversized frames")
  void refusals() {
    JsonObject owner = files.user("owner");
    JsonObject stranger = files.user("stranger");
    String space = files.space(owner.getString("token"), "Private", null).getString("id");

    try (LiveClient client = live(stranger.getString("token"))) {
      client.subscribe(space, 0);
      JsonObject error = client.nextOfType("error", 5000);
      assertThat(error.getString("code")).isEqualTo("not_found");
      assertThat(error.getString("space")).isEqualTo(space);
      client.send(new JsonObject().put("type", "ping"));
      assertThat(client.nextOfType("pong", 5000)).isNotNull();
    }

    assertThatThrownBy(() -> live("not-a-token"))
        .isInstanceOfSatisfying(UpgradeRejectedException.class, e -> assertThat(e.getStatus()).isEqualTo(401));
    assertThatThrownBy(() -> LiveClient.connect(files.vertx, files.api.port(), owner.getString("token"),
        new WebSocketClientOptions(), "https://evil.example"))
        .isInstanceOfSatisfying(UpgradeRejectedException.class, e -> assertThat(e.getStatus()).isEqualTo(403));
    try (LiveClient sameOrigin = LiveClient.connect(files.vertx, files.api.port(), owner.getString("token"),
        new WebSocketClientOptions(), "http://127.0.0.1:" + files.api.port())) {
      assertThat(sameOrigin.nextOfType("authenticated", 5000)).isNotNull();
    }

    try (LiveClient anonymous = live(null)) {
      anonymous.subscribe(space, 0);
      assertThat(anonymous.nextOfType("error", 5000).getString("code")).isEqualTo("unauthorized");
      assertThat(anonymous.closeCode(5000)).isEqualTo((short) 1008);
    }
    HttpResponse<Buffer> oldVersion = files.api.request(HttpMethod.GET, "/api/v1/sync", owner.getString("token"))
        .putHeader("Upgrade", "websocket").putHeader("Connection", "Upgrade")
        .putHeader("Sec-WebSocket-Version", "8").putHeader("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send().await();
    assertThat(expect(oldVersion, 400).getString("code")).isEqualTo("bad_request");
    assertThat(oldVersion.getHeader("Sec-WebSocket-Version")).isEqualTo("13");

    try (LiveClient client = live(owner.getString("token"))) {
      client.socket().writeTextMessage("{not json");
      assertThat(client.closeCode(5000)).isEqualTo((short) 1007);
    }
    try (LiveClient client = live(owner.getString("token"))) {
      client.send(new JsonObject().put("type", "launch"));
      assertThat(client.closeCode(5000)).isEqualTo((short) 1008);
    }
    try (LiveClient client = live(owner.getString("token"))) {
      client.socket().writeBinaryMessage(Buffer.buffer(new byte[] {1, 2, 3}));
      assertThat(client.closeCode(5000)).isEqualTo((short) 1003);
    }
    try (LiveClient client = live(owner.getString("token"))) {
      client.send(new JsonObject().put("type", "ping").put("pad", "x".repeat(5000)));
      assertThat(client.closeCode(5000)).isEqualTo((short) 1009);
    }
    try (LiveClient client = live(owner.getString("token"))) {
      // 2,500 characters, 5,000 bytes of UTF-8: sync.max_message counts bytes.
      client.send(new JsonObject().put("type", "ping").put("pad", "é".repeat(2500)));
      assertThat(client.closeCode(5000)).isEqualTo((short) 1009);
    }
  }

  @Test
  @DisplayName("assemble fragmented messages within the size limit, answer pings and speak permessage-deflate")
  void frames() {
    JsonObject owner = files.user("frames");
    String token = owner.getString("token");
    try (LiveClient client = live(token)) {
      client.nextOfType("authenticated", 5000);
      client.socket().writeFrame(WebSocketFrame.textFrame("{\"type\":", false)).await();
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer(" \"pi"), false)).await();
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer("ng\"}"), true)).await();
      assertThat(client.nextOfType("pong", 5000)).isNotNull();

      CompletableFuture<Buffer> pong = new CompletableFuture<>();
      client.socket().pongHandler(pong::complete);
      client.socket().writePing(Buffer.buffer("are you there")).await();
      assertThat(pong.join().toString()).isEqualTo("are you there");
    }
    try (LiveClient client = live(token)) {
      // Three fragments of 2,000 bytes: each fits, the message (6,000 bytes) does not.
      client.socket().writeFrame(WebSocketFrame.textFrame("{\"pad\":\"" + "x".repeat(1990), false)).await();
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer("x".repeat(2000)), false)).await();
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer("x".repeat(2000)), true)).await();
      assertThat(client.closeCode(5000)).isEqualTo((short) 1009);
    }
    try (LiveClient client = live(token)) {
      // 0xC3 0x28 is no UTF-8 sequence.
      client.socket().writeFrame(WebSocketFrame.textFrame("{\"type\":\"", false)).await();
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer(new byte[] {(byte) 0xC3, 0x28, '"', '}'}),
          true)).await();
      assertThat(client.closeCode(5000)).isEqualTo((short) 1007);
    }
    try (LiveClient client = live(token)) {
      client.socket().writeFrame(WebSocketFrame.continuationFrame(Buffer.buffer("{}"), true)).await();
      assertThat(client.closeCode(5000)).isEqualTo((short) 1002);
    }

    String space = files.space(token, "Deflated", null).getString("id");
    try (LiveClient client = LiveClient.connect(files.vertx, files.api.port(), token,
        new WebSocketClientOptions().setTryUsePerMessageCompression(true), null)) {
      assertThat(client.socket().headers().get("Sec-WebSocket-Extensions")).contains("permessage-deflate");
      client.subscribe(space, head(token, space));
      folders(token, space, 3, "deflated");
      long last = head(token, space);
      assertThat(client.changesUntil(space, last, 10_000)).isEqualTo(range(last - 2, last));
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
    try (LiveClient client = live(member.getString("token"))) {
      client.subscribe(space, 0);
      assertThat(client.nextOfType("change", 5000).getString("kind")).isEqualTo("shared");
      folders(ownerToken, space, 1, "seen");
      assertThat(client.nextOfType("change", 5000).getString("kind")).isEqualTo("created");

      expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/members/" + member.getString("id"),
          ownerToken, null), 204);
      List<JsonObject> messages = client.until(m -> "error".equals(m.getString("type")), 1000);
      assertThat(messages.get(0).getString("code")).isEqualTo("access_revoked");
      assertThat(messages.get(0).getString("space")).isEqualTo(space);
      assertThat(messages).anyMatch(m -> "unshared".equals(m.getString("kind")));

      folders(ownerToken, space, 2, "unseen");
      files.vertx.timer(500).await();
      assertThat(client.drain()).noneMatch(m -> "change".equals(m.getString("type")));
      assertThat(client.isClosed()).isFalse();
    }
  }

  @Test
  @DisplayName("end a live session within a second of logout or of the account being disabled")
  void revokedSessions() {
    String adminToken = files.api.newUser(ADMIN);
    JsonObject member = files.user("leaver");
    String space = files.space(member.getString("token"), "Mine", null).getString("id");
    try (LiveClient client = live(member.getString("token"))) {
      client.subscribe(space, 0);
      client.nextOfType("subscribed", 5000);
      expect(files.send(HttpMethod.POST, "/api/v1/auth/logout", member.getString("token"), null), 204);
      assertThat(client.nextOfType("error", 1000).getString("code")).isEqualTo("token_revoked");
      assertThat(client.closeCode(1000)).isEqualTo((short) 1008);
    }

    JsonObject disabled = files.user("disabled");
    try (LiveClient client = live(disabled.getString("token"))) {
      client.nextOfType("authenticated", 5000);
      expect(files.send(HttpMethod.POST, "/api/v1/admin/users/" + disabled.getString("id") + "/disable",
          adminToken, null), 200);
      assertThat(client.nextOfType("error", 1000).getString("code")).isEqualTo("account_disabled");
      assertThat(client.closeCode(1000)).isEqualTo((short) 1008);
    }
  }

  @Test
  @DisplayName("disconnect a client that stops reading, after telling it the cursor it was given up to")
  void slowConsumer() {
    JsonObject owner = files.user("slow");
    String token = owner.getString("token");
    String space = files.space(token, "Busy", null).getString("id");
    // A log far bigger than any socket buffer: 4,000 changes of ~8 KB each, written straight into it.
    files.db.preparedQuery("WITH s AS (UPDATE spaces SET next_seq = 4000 WHERE id = $1::uuid RETURNING id) "
            + "INSERT INTO changes (space_id, seq, node_id, kind, version, actor, payload) "
            + "SELECT s.id, n, gen_random_uuid(), 'created', 1, $2::uuid, "
            + "jsonb_build_object('name', 'f' || n, 'padding', repeat('x', 8000)) FROM s, generate_series(1, 4000) n")
        .execute(Tuple.of(space, owner.getString("id"))).await();

    try (LiveClient client = live(token)) {
      client.nextOfType("authenticated", 5000);
      client.socket().pause();
      client.subscribe(space, 0);
      files.vertx.timer(2500).await();
      client.socket().resume();

      List<JsonObject> messages = client.until(m -> "error".equals(m.getString("type")), 20_000);
      JsonObject error = messages.get(0);
      assertThat(error.getString("code")).isEqualTo("slow_consumer");
      long cursor = error.getJsonObject("cursors").getLong(space);
      List<Long> seqs = messages.stream().filter(m -> "change".equals(m.getString("type")))
          .map(m -> m.getLong("seq")).toList();
      assertThat(cursor).isLessThan(4000);
      assertThat(seqs).containsExactlyElementsOf(range(1, cursor));
      assertThat(client.closeCode(10_000)).isEqualTo((short) 1013);
    }
  }

  @Test
  @DisplayName("long-poll: an empty page waits and answers as soon as a change lands")
  void longPoll() {
    JsonObject owner = files.user("poller");
    String token = owner.getString("token");
    String space = files.space(token, "Polled", null).getString("id");
    folders(token, space, 2, "old");
    String path = "/api/v1/spaces/" + space + "/changes?cursor=2&wait=20";

    Future<HttpResponse<Buffer>> waiting = files.api.request(HttpMethod.GET, path, token).send();
    files.vertx.timer(500).await();
    assertThat(waiting.isComplete()).isFalse();
    long started = System.currentTimeMillis();
    folders(token, space, 1, "new");
    JsonObject page = expect(waiting.await(), 200);
    assertThat(System.currentTimeMillis() - started).isLessThan(10_000);
    assertThat(FilesFixture.seqs(page.getJsonArray("changes"))).containsExactly(3L);
    assertThat(page.getLong("cursor")).isEqualTo(3);

    // Changes already there answer at once; the wait is bounded.
    assertThat(FilesFixture.seqs(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space
        + "/changes?cursor=0&wait=20", token, null), 200).getJsonArray("changes"))).containsExactly(1L, 2L, 3L);
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=0&wait=9999", token,
        null), 400).getString("code")).isEqualTo("validation_failed");
    JsonObject stranger = files.user("stranger");
    assertThat(expect(files.send(HttpMethod.GET, path, stranger.getString("token"), null), 404).getString("code"))
        .isEqualTo("not_found");
  }
}
