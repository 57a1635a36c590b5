package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.files.FilesFixture;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Filtered live subscriptions and snapshots on the raw WebSocket")
@ExtendWith(RealServers.class)
class LiveFilterTest {
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject()
        .put("sync.max_filtered_subscriptions", 2)
        .put("sync.max_prefix_length", 64)
        .put("sync.presence_max_state", 64));
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  /** One space and its owner, with the operations the tests run on it. */
  private record Space(String id, String token) {
    String nodes() {
      return "/api/v1/spaces/" + id + "/nodes";
    }

    JsonObject folder(String parent, String name) {
      return files.folder(token, id, parent, name);
    }

    JsonObject file(String path, String text) {
      HttpResponse<Buffer> put = files.api.request(HttpMethod.PUT, "/api/v1/spaces/" + id + "/files/" + path, token)
          .sendBuffer(Buffer.buffer(text)).await();
      return expect(put, put.statusCode() == 201 ? 201 : 200);
    }

    JsonObject patch(JsonObject node, JsonObject change) {
      return expect(files.send(HttpMethod.PATCH, nodes() + "/" + node.getString("id"), token, change), 200);
    }

    void delete(JsonObject node) {
      HttpResponse<Buffer> deleted = files.send(HttpMethod.DELETE, nodes() + "/" + node.getString("id"), token, null);
      assertThat(deleted.statusCode()).as(deleted.bodyAsString()).isBetween(200, 204);
    }

    long head() {
      return files.db.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(id)).await()
          .iterator().next().getLong(0);
    }
  }

  private static Space newSpace(String name) {
    String token = files.user(name).getString("token");
    return new Space(files.space(token, name, null).getString("id"), token);
  }

  private static LiveClient live(String token) {
    LiveClient client = LiveClient.connect(files.vertx, files.api.port(), token);
    client.nextOfType("authenticated", 5000);
    return client;
  }

  /**
   * Reads a space's frames until the client's position (the newest change seq or cursor frame) reaches
   * {@code head}; answers the changes, failing on any seq out of order.
   */
  private static List<JsonObject> follow(LiveClient client, String space, long head, long[] position) {
    List<JsonObject> changes = new ArrayList<>();
    long deadline = System.currentTimeMillis() + 20_000;
    while (position[0] < head) {
      JsonObject message = client.next(Math.max(1, deadline - System.currentTimeMillis()));
      if (!space.equals(message.getString("space"))) {
        continue;
      }
      switch (message.getString("type")) {
        case "change" -> {
          assertThat(message.getLong("seq")).as("changes in order, none twice").isGreaterThan(position[0]);
          position[0] = message.getLong("seq");
          changes.add(message);
        }
        case "cursor" -> {
          assertThat(message.getLong("cursor")).isGreaterThanOrEqualTo(position[0]);
          position[0] = message.getLong("cursor");
        }
        case "error" -> throw new AssertionError("error frame: " + message.encode());
        default -> {
          // subscribed and the like
        }
      }
    }
    return changes;
  }

  private static List<Long> seqs(List<JsonObject> changes) {
    return changes.stream().map(change -> change.getLong("seq")).toList();
  }

  private static Map<Long, String> crossings(List<JsonObject> changes) {
    Map<Long, String> marked = new LinkedHashMap<>();
    changes.stream().filter(change -> change.containsKey("subtree"))
        .forEach(change -> marked.put(change.getLong("seq"), change.getString("subtree")));
    return marked;
  }

  @Test
  @DisplayName("a path_prefix subscriber gets exactly the subtree's changes, moves across its edge marked, and resumes from its cursor")
  void prefix() {
    Space space = newSpace("prefix");
    List<Long> expected = new ArrayList<>();
    Map<Long, String> expectedCrossings = new LinkedHashMap<>();

    // Before the subscriber comes: it reads these from the log, judging paths as they were then.
    JsonObject inside = space.folder(null, "Inside");
    expected.add(space.head());
    JsonObject outside = space.folder(null, "Outside");
    JsonObject sub = space.folder(inside.getString("id"), "Sub");
    expected.add(space.head());
    JsonObject a = space.file("Inside/a.txt", "a");
    expected.add(space.head());
    JsonObject b = space.file("Outside/b.txt", "b");
    space.file("Inside/Sub/c.txt", "c");
    expected.add(space.head());
    // A folder named like the prefix's start, outside it: no match.
    space.folder(null, "Inside2");
    // a.txt leaves, and while it is outside its rename is not ours.
    a = space.patch(a, new JsonObject().put("parent_id", outside.getString("id")));
    expected.add(space.head());
    expectedCrossings.put(space.head(), "left");
    space.patch(a, new JsonObject().put("name", "a-renamed.txt"));

    long[] position = {0};
    List<JsonObject> got = new ArrayList<>();
    try (LiveClient client = live(space.token())) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("cursor", 0)
          .put("path_prefix", "/INSIDE/"));
      JsonObject subscribed = client.nextOfType("subscribed", 5000);
      assertThat(subscribed.getString("path_prefix")).isEqualTo("/INSIDE/");
      got.addAll(follow(client, space.id(), space.head(), position));

      // Live now: b.txt enters; a folder with a file in it enters; the file is then ours.
      space.patch(b, new JsonObject().put("parent_id", inside.getString("id")));
      expected.add(space.head());
      expectedCrossings.put(space.head(), "entered");
      JsonObject x = space.folder(outside.getString("id"), "X");
      JsonObject d = space.file("Outside/X/d.txt", "d");
      space.patch(x, new JsonObject().put("parent_id", sub.getString("id")));
      expected.add(space.head());
      expectedCrossings.put(space.head(), "entered");
      space.file("Inside/Sub/X/d.txt", "d, edited");
      expected.add(space.head());
      got.addAll(follow(client, space.id(), space.head(), position));
      assertThat(d.getString("id")).isEqualTo(got.get(got.size() - 1).getString("node_id"));
    }

    // Offline: the client stored its position. The subtree's own folder is renamed away (everything
    // leaves), and back.
    space.file("Outside/e.txt", "e");
    space.delete(b);
    expected.add(space.head());
    JsonObject renamed = space.patch(inside, new JsonObject().put("name", "Elsewhere"));
    expected.add(space.head());
    expectedCrossings.put(space.head(), "left");
    space.file("Elsewhere/f.txt", "not ours: the folder is no longer /inside");
    space.patch(renamed, new JsonObject().put("name", "inside"));
    expected.add(space.head());
    expectedCrossings.put(space.head(), "entered");
    space.file("inside/g.txt", "g");
    expected.add(space.head());
    space.file("Outside/h.txt", "h: the last change is not ours, a cursor frame tells");

    long cursor = position[0];
    try (LiveClient client = live(space.token())) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("cursor", cursor)
          .put("path_prefix", "/inside"));
      got.addAll(follow(client, space.id(), space.head(), position));
      assertThat(position[0]).as("the cursor reached the head though its last change was not sent").isEqualTo(space.head());
    }
    assertThat(seqs(got)).containsExactlyElementsOf(expected);
    assertThat(crossings(got)).containsExactlyEntriesOf(expectedCrossings);
  }

  @Test
  @DisplayName("a types subscriber gets exactly the changes of those node types, and cursor frames for the rest")
  void types() {
    Space space = newSpace("types");
    JsonObject docs = space.folder(null, "docs");
    space.file("docs/one.txt", "1");
    space.folder(docs.getString("id"), "more");
    space.file("docs/more/two.txt", "2");
    space.patch(docs, new JsonObject().put("name", "documents"));
    space.file("three.txt", "3");
    long head = space.head();
    List<Long> files = new ArrayList<>();
    List<Long> folders = new ArrayList<>();
    for (Object each : LiveFilterTest.files.changes(space.token(), space.id())) {
      JsonObject change = (JsonObject) each;
      (change.getJsonObject("node").getString("type").equals("file") ? files : folders).add(change.getLong("seq"));
    }
    try (LiveClient client = live(space.token())) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("types", new JsonArray().add("file")));
      long[] position = {0};
      assertThat(seqs(follow(client, space.id(), head, position))).containsExactlyElementsOf(files);
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id())
          .put("types", new JsonArray().add("folder").add("document")));
      long[] again = {0};
      assertThat(seqs(follow(client, space.id(), head, again))).containsExactlyElementsOf(folders);
    }
  }

  @Test
  @DisplayName("a snapshot is the space as of a cursor, then the changes after it: no gap and no duplicate while writers race it")
  void snapshotRace() {
    Space space = newSpace("snapshot");
    JsonObject top = space.folder(null, "top");
    List<JsonObject> made = new ArrayList<>();
    for (int i = 0; i < 230; i++) {
      made.add(space.file("top/f-" + i + ".txt", "content " + i));
    }
    // Trashed alone, and trashed with its folder: neither is in a snapshot.
    space.delete(made.get(0));
    JsonObject doomed = space.folder(top.getString("id"), "doomed");
    space.file("top/doomed/inner.txt", "gone with its folder");
    space.delete(doomed);

    AtomicBoolean stop = new AtomicBoolean();
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      for (int i = 0; !stop.get() && i < 200; i++) {
        space.file("top/race-" + i + ".txt", "race " + i);
        space.file("top/f-" + (1 + i % 200) + ".txt", "rewritten " + i);
      }
    });
    Map<String, JsonObject> state = new HashMap<>();
    try (LiveClient client = live(space.token())) {
      files.vertx.timer(150).await();
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("snapshot", true));
      JsonObject subscribed = client.nextOfType("subscribed", 5000);
      long cursor = subscribed.getLong("cursor");
      assertThat(subscribed.getBoolean("snapshot")).isTrue();
      int pages = 0;
      while (true) {
        JsonObject message = client.next(20_000);
        if ("snapshot".equals(message.getString("type"))) {
          pages++;
          assertThat(message.getLong("cursor")).isEqualTo(cursor);
          for (Object each : message.getJsonArray("nodes")) {
            JsonObject node = (JsonObject) each;
            assertThat(state.put(node.getString("id"), node)).as("a node once in a snapshot").isNull();
          }
        } else if ("snapshot_done".equals(message.getString("type"))) {
          assertThat(message.getLong("cursor")).isEqualTo(cursor);
          assertThat(message.getLong("count")).isEqualTo(state.size());
          break;
        } else {
          throw new AssertionError("before snapshot_done: " + message.encode());
        }
      }
      assertThat(pages).as("a space of more nodes than a page comes in pages").isGreaterThan(1);
      assertThat(state).doesNotContainKeys(made.get(0).getString("id"), doomed.getString("id"));
      assertThat(state.values()).noneMatch(node -> node.getString("name").equals("inner.txt"));
      files.vertx.timer(300).await();
      stop.set(true);
      writer.join();
      long head = space.head();
      assertThat(head).as("writes raced the snapshot").isGreaterThan(cursor);
      long[] position = {cursor};
      List<JsonObject> changes = follow(client, space.id(), head, position);
      assertThat(seqs(changes)).as("every change after the snapshot's cursor, once")
          .containsExactlyElementsOf(LongStream.rangeClosed(cursor + 1, head).boxed().toList());
      for (JsonObject change : changes) {
        JsonObject node = change.getJsonObject("node");
        if (change.getString("kind").equals("created")) {
          assertThat(state).as("a node created after the snapshot is not in it").doesNotContainKey(node.getString("id"));
        }
        if (node.getValue("deleted_at") == null) {
          state.put(node.getString("id"), node);
        } else {
          state.remove(node.getString("id"));
        }
      }
    }
    // Snapshot plus changes is the space as it is.
    Map<String, Long> live = new HashMap<>();
    for (Row row : files.db.preparedQuery("SELECT id::text, version FROM nodes WHERE space_id = $1::uuid AND deleted_at IS NULL")
        .execute(Tuple.of(space.id())).await()) {
      live.put(row.getString(0), row.getLong(1));
    }
    Map<String, Long> rebuilt = new HashMap<>();
    state.forEach((id, node) -> rebuilt.put(id, node.getLong("version")));
    assertThat(rebuilt).isEqualTo(live);
  }

  @Test
  @DisplayName("a snapshot with a path_prefix holds only that subtree, then only its changes")
  void snapshotOfSubtree() {
    Space space = newSpace("subtree");
    JsonObject photos = space.folder(null, "Photos");
    space.folder(photos.getString("id"), "2026");
    JsonObject a = space.file("Photos/2026/a.jpg", "a");
    JsonObject b = space.file("Photos/b.jpg", "b");
    space.file("Notes/c.txt", "c");
    try (LiveClient client = live(space.token())) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("snapshot", true)
          .put("path_prefix", "/photos/2026").put("types", new JsonArray().add("file")));
      long cursor = client.nextOfType("subscribed", 5000).getLong("cursor");
      JsonObject page = client.nextOfType("snapshot", 5000);
      assertThat(page.getJsonArray("nodes").stream().map(n -> ((JsonObject) n).getString("id")))
          .containsExactly(a.getString("id"));
      assertThat(client.nextOfType("snapshot_done", 5000).getLong("count")).isEqualTo(1);
      space.file("Photos/2026/a.jpg", "a2");
      long ours = space.head();
      space.file("Photos/b.jpg", "b2");
      long[] position = {cursor};
      List<JsonObject> changes = follow(client, space.id(), space.head(), position);
      assertThat(seqs(changes)).containsExactly(ours);
      assertThat(b.getString("id")).isNotEqualTo(changes.get(0).getString("node_id"));
    }
  }

  @Test
  @DisplayName("a filtered subscriber who is unshared gets the unshared change and access_revoked, whatever the filter")
  void unshared() {
    Space space = newSpace("unshared");
    JsonObject member = files.user("member");
    files.share(space.token(), space.id(), member.getString("id"), "viewer");
    try (LiveClient client = live(member.getString("token"))) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space.id()).put("path_prefix", "/nowhere")
          .put("types", new JsonArray().add("document")));
      client.nextOfType("subscribed", 5000);
      expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space.id() + "/members/" + member.getString("id"),
          space.token(), null), 204);
      List<JsonObject> messages = client.until(m -> "error".equals(m.getString("type")), 5000);
      assertThat(messages.get(0).getString("code")).isEqualTo("access_revoked");
      assertThat(messages.subList(1, messages.size())).anyMatch(m -> "unshared".equals(m.getString("kind")));
    }
  }

  @Test
  @DisplayName("refuses bad filters and more filtered subscriptions than allowed, with catalogue codes")
  void limits() {
    Space one = newSpace("limits-1");
    Space two = new Space(files.space(one.token(), "limits-2", null).getString("id"), one.token());
    Space three = new Space(files.space(one.token(), "limits-3", null).getString("id"), one.token());
    try (LiveClient client = live(one.token())) {
      JsonObject subscribe = new JsonObject().put("type", "subscribe").put("space", one.id());
      client.send(subscribe.copy().put("path_prefix", "/" + "x".repeat(70)));
      assertThat(client.nextOfType("error", 5000).getString("code")).isEqualTo("validation_failed");
      client.send(subscribe.copy().put("path_prefix", "relative/path"));
      assertThat(client.nextOfType("error", 5000).getString("code")).isEqualTo("validation_failed");
      // Segments are names as the documents query's path_prefix takes them.
      for (String notAPath : List.of("/a//b", "/a\\b")) {
        client.send(subscribe.copy().put("path_prefix", notAPath));
        assertThat(client.nextOfType("error", 5000).getString("code")).as(notAPath).isEqualTo("validation_failed");
      }
      client.send(subscribe.copy().put("types", new JsonArray().add("symlink")));
      assertThat(client.nextOfType("error", 5000).getString("message")).contains("folder", "file", "document");
      client.send(subscribe.copy().put("snapshot", true).put("cursor", 3));
      assertThat(client.nextOfType("error", 5000).getString("code")).isEqualTo("validation_failed");
      client.send(subscribe.copy().put("presence", new JsonObject().put("state", new JsonObject().put("editing", "x".repeat(80)))));
      assertThat(client.nextOfType("error", 5000).getString("code")).isEqualTo("payload_too_large");

      client.send(subscribe.copy().put("types", new JsonArray().add("document")));
      client.nextOfType("subscribed", 5000);
      client.send(subscribe.copy().put("space", two.id()).put("snapshot", true));
      client.nextOfType("subscribed", 5000);
      client.send(subscribe.copy().put("space", three.id()).put("path_prefix", "/a"));
      JsonObject refused = client.nextOfType("error", 5000);
      assertThat(refused.getString("code")).isEqualTo("validation_failed");
      assertThat(refused.getString("message")).contains("2 subscriptions");
      client.send(subscribe.copy().put("space", three.id()));
      assertThat(client.nextOfType("subscribed", 5000).getString("space")).as("unfiltered ones are not counted")
          .isEqualTo(three.id());
    }
  }
}
