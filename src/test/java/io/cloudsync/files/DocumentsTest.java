package io.cloudsync.files;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.bus.Addresses;
import io.cloudsync.sync.LiveClient;
import io.cloudsync.sync.SockJsClient;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("JSON documents over HTTP")
@ExtendWith(RealServers.class)
class DocumentsTest {
  /** Small limits, so the tests reach them with small bodies. */
  private static final int MAX_SIZE = 4096;
  private static final int INLINE_MAX = 512;
  private static FilesFixture files;
  private static JsonObject owner;
  private static String token;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject().put("docs.max_size", MAX_SIZE)
        .put("docs.change_inline_max", INLINE_MAX).put("docs.max_versions", 5));
    owner = files.user("docs");
    token = owner.getString("token");
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  private static String newSpace(String policy) {
    return files.space(token, "Docs " + FilesFixture.unique("s"), policy).getString("id");
  }

  static HttpResponse<Buffer> put(String token, String space, String path, String body, String ifMatch) {
    HttpRequest<Buffer> request = files.api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/docs/" + path, token)
        .putHeader("Content-Type", "application/json");
    if (ifMatch != null) {
      request.putHeader("If-Match", ifMatch);
    }
    return request.sendBuffer(Buffer.buffer(body)).await();
  }

  static Future<HttpResponse<Buffer>> patchAsync(String token, String space, String node, String body, String ifMatch) {
    HttpRequest<Buffer> request = files.api.request(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + node, token)
        .putHeader("Content-Type", "application/merge-patch+json");
    if (ifMatch != null) {
      request.putHeader("If-Match", ifMatch);
    }
    return request.sendBuffer(Buffer.buffer(body));
  }

  static HttpResponse<Buffer> patch(String token, String space, String node, String body, String ifMatch) {
    return patchAsync(token, space, node, body, ifMatch).await();
  }

  private static JsonObject create(String space, String path, JsonObject content) {
    return expect(put(token, space, path, content.encode(), null), 201);
  }

  private static JsonObject document(String space, String node) {
    return expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/document", token, null), 200);
  }

  private static List<JsonObject> changesOf(String space, String node) {
    List<JsonObject> out = new ArrayList<>();
    for (Object each : files.changes(token, space)) {
      JsonObject change = (JsonObject) each;
      if (node.equals(change.getString("node_id"))) {
        out.add(change);
      }
    }
    return out;
  }

  private static String code(HttpResponse<Buffer> response) {
    return response.bodyAsJsonObject().getString("code");
  }

  @Test
  @DisplayName("PUT creates a document with its folders, GET answers it with its version as ETag, If-Match replaces it")
  void putAndGet() {
    String space = newSpace(null);
    JsonObject content = new JsonObject().put("title", "Groceries").put("items", new JsonArray().add("milk"));
    HttpResponse<Buffer> created = put(token, space, "lists/2026/groceries.json", content.encode(), null);
    JsonObject node = expect(created, 201);
    assertThat(node.getString("type")).isEqualTo("document");
    assertThat(node.getLong("version")).isEqualTo(1);
    assertThat(node.getLong("size")).isEqualTo(content.toBuffer().length());
    assertThat(node.getJsonObject("content")).isEqualTo(content);
    assertThat(created.getHeader("ETag")).isEqualTo("\"1\"");

    HttpResponse<Buffer> read = files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/lists/2026/groceries.json",
        token, null);
    assertThat(expect(read, 200)).isEqualTo(content);
    assertThat(read.getHeader("ETag")).isEqualTo("\"1\"");
    assertThat(read.getHeader("CloudSync-Node")).isEqualTo(node.getString("id"));
    HttpResponse<Buffer> unchanged = files.api.request(HttpMethod.GET, "/api/v1/spaces/" + space
        + "/docs/lists/2026/groceries.json", token).putHeader("If-None-Match", "\"1\"").send().await();
    assertThat(unchanged.statusCode()).isEqualTo(304);

    JsonObject replacement = new JsonObject().put("title", "Groceries").put("items", new JsonArray().add("milk").add("eggs"));
    HttpResponse<Buffer> replaced = put(token, space, "lists/2026/groceries.json", replacement.encode(), "\"1\"");
    assertThat(expect(replaced, 200).getLong("version")).isEqualTo(2);
    assertThat(document(space, node.getString("id"))).isEqualTo(replacement);
    assertThat(code(put(token, space, "lists/2026/groceries.json", replacement.encode(), "\"9\""))).isEqualTo("precondition_failed");
    assertThat(code(put(token, space, "lists/2026/new.json", "{}", "\"3\""))).isEqualTo("precondition_failed");

    // The folders were made on the way, and the document lists with them.
    JsonObject folder = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes", token, null), 200);
    assertThat(folder.getJsonArray("nodes").getJsonObject(0).getString("name")).isEqualTo("lists");
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node.getString("id"), token, null), 200)
        .getString("type")).isEqualTo("document");
    // A file cannot be overwritten by a document of the same name, nor the other way round.
    files.commitFile(owner.getString("id"), space, null, "notes.txt", FilesFixture.unique("n"));
    assertThat(code(put(token, space, "notes.txt", "{}", null))).isEqualTo("name_taken");
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/nothing.json", token, null), 404);
  }

  @ParameterizedTest(name = "refuses the document body [{0}] with 400")
  @ValueSource(strings = {"[1,2]", "\"text\"", "42", "null", "{\"unclosed\": ", "not json"})
  void refusesNonObjects(String body) {
    String space = newSpace(null);
    HttpResponse<Buffer> response = put(token, space, "doc.json", body, null);
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(code(response)).isIn("document_not_object", "invalid_json");
    assertThat(code(response)).isEqualTo(body.startsWith("{") || body.startsWith("not") ? "invalid_json" : "document_not_object");
  }

  @Test
  @DisplayName("refuses oversize documents and patches with 413, malformed patches and bad paths with 400, and patches of folders with 415")
  void limits() {
    String space = newSpace(null);
    String big = new JsonObject().put("text", "x".repeat(MAX_SIZE)).encode();
    HttpResponse<Buffer> tooBigBody = put(token, space, "big.json", big, null);
    assertThat(tooBigBody.statusCode()).isEqualTo(413);
    assertThat(code(tooBigBody)).isEqualTo("payload_too_large");
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isZero();

    String node = create(space, "small.json", new JsonObject().put("text", "y".repeat(MAX_SIZE / 2))).getString("id");
    HttpResponse<Buffer> grown = patch(token, space, node, new JsonObject().put("more", "z".repeat(MAX_SIZE / 2)).encode(), null);
    assertThat(grown.statusCode()).isEqualTo(413);
    assertThat(code(grown)).isEqualTo("document_too_large");
    assertThat(code(patch(token, space, node, "[{\"op\":\"add\"}]", null))).isEqualTo("invalid_patch");
    assertThat(code(patch(token, space, node, "\"replace me\"", null))).isEqualTo("invalid_patch");
    assertThat(code(patch(token, space, node, "{\"broken\": ", null))).isEqualTo("invalid_json");
    assertThat(document(space, node).getString("text")).hasSize(MAX_SIZE / 2);
    for (String path : List.of("notes/%2e%2e/x.json", "a%2Fb.json", "notes//x.json", "notes/")) {
      HttpResponse<Buffer> refused = put(token, space, path, "{}", null);
      assertThat(refused.statusCode()).as(path).isEqualTo(400);
      assertThat(code(refused)).as(path).isEqualTo("invalid_name");
    }

    String folder = files.folder(token, space, null, "folder").getString("id");
    HttpResponse<Buffer> folderPatch = patch(token, space, folder, "{\"a\":1}", null);
    assertThat(folderPatch.statusCode()).isEqualTo(415);
    // Plain JSON on the same route still renames.
    expect(files.send(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + node, token,
        new JsonObject().put("name", "renamed.json")), 200);
    assertThat(document(space, node).getString("text")).hasSize(MAX_SIZE / 2);
  }

  @Test
  @DisplayName("a merge patch follows RFC 7396: members set, nested objects merged, null removes, arrays replaced")
  void mergePatch() {
    String space = newSpace(null);
    JsonObject original = new JsonObject("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\",\"familyName\":\"Doe\"},"
        + "\"tags\":[\"example\",\"sample\"],\"content\":\"This will be unchanged\"}");
    String node = create(space, "rfc.json", original).getString("id");
    HttpResponse<Buffer> patched = patch(token, space, node, "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
        + "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}", "\"1\"");
    JsonObject answer = expect(patched, 200);
    JsonObject expected = new JsonObject("{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},\"tags\":[\"example\"],"
        + "\"content\":\"This will be unchanged\",\"phoneNumber\":\"+01-123-456-7890\"}");
    assertThat(answer.getJsonObject("content")).isEqualTo(expected);
    assertThat(patched.getHeader("ETag")).isEqualTo("\"2\"");
    assertThat(document(space, node)).isEqualTo(expected);
  }

  @Test
  @DisplayName("two patches from one base touching different fields both apply, under either policy, even sent at once")
  void differentFieldsMerge() {
    for (String policy : List.of("manual", "last_writer_wins")) {
      String space = newSpace(policy);
      String node = create(space, "settings.json", new JsonObject().put("theme", "light").put("font", "serif")
          .put("layout", new JsonObject().put("sidebar", true).put("width", 200))).getString("id");
      List<HttpResponse<Buffer>> answers = Future.all(List.of(
          patchAsync(token, space, node, "{\"theme\":\"dark\",\"layout\":{\"width\":300}}", "\"1\""),
          patchAsync(token, space, node, "{\"font\":\"mono\",\"layout\":{\"sidebar\":false}}", "\"1\"")))
          .await().list();
      answers.forEach(answer -> expect(answer, 200));
      assertThat(document(space, node)).as(policy).isEqualTo(new JsonObject().put("theme", "dark").put("font", "mono")
          .put("layout", new JsonObject().put("sidebar", false).put("width", 300)));
      assertThat(changesOf(space, node)).extracting(c -> c.getString("kind")).containsExactly("created", "updated", "updated");
    }
  }

  @Test
  @DisplayName("under manual, a patch touching a field changed since its base gets 409 with the current document")
  void manualSameField() {
    String space = newSpace("manual");
    String node = create(space, "task.json", new JsonObject().put("status", "open").put("owner", "ann")).getString("id");
    List<HttpResponse<Buffer>> answers = Future.all(List.of(
        patchAsync(token, space, node, "{\"status\":\"done\"}", "\"1\""),
        patchAsync(token, space, node, "{\"status\":\"blocked\"}", "\"1\""))).await().list();
    List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).sorted().toList();
    assertThat(statuses).containsExactly(200, 409);
    HttpResponse<Buffer> refused = answers.stream().filter(a -> a.statusCode() == 409).findFirst().orElseThrow();
    HttpResponse<Buffer> applied = answers.stream().filter(a -> a.statusCode() == 200).findFirst().orElseThrow();
    JsonObject error = refused.bodyAsJsonObject();
    assertThat(error.getString("code")).isEqualTo("version_conflict");
    assertThat(error.getJsonArray("conflicting_fields")).containsExactly("/status");
    JsonObject winner = applied.bodyAsJsonObject().getJsonObject("content");
    assertThat(error.getJsonObject("current").getJsonObject("content")).isEqualTo(winner);
    assertThat(error.getJsonObject("current").getLong("version")).isEqualTo(2);
    assertThat(document(space, node)).isEqualTo(winner);

    // A stale PUT that only touches other fields merges; one that touches the changed field is refused.
    expect(put(token, space, "task.json", new JsonObject().put("status", "open").put("owner", "bob").encode(), "\"1\""), 200);
    assertThat(document(space, node)).isEqualTo(winner.copy().put("owner", "bob"));
    assertThat(code(put(token, space, "task.json", new JsonObject().put("status", "x").put("owner", "ann").encode(), "\"1\"")))
        .isEqualTo("version_conflict");
    // Nested: a change below a field conflicts with a patch replacing the field.
    long version = expect(patch(token, space, node, "{\"meta\":{\"a\":1,\"b\":1}}", null), 200).getLong("version");
    expect(patch(token, space, node, "{\"meta\":{\"a\":2}}", "\"" + version + "\""), 200);
    expect(patch(token, space, node, "{\"meta\":{\"b\":2}}", "\"" + version + "\""), 200);
    assertThat(code(patch(token, space, node, "{\"meta\":null}", "\"" + version + "\""))).isEqualTo("version_conflict");
  }

  @Test
  @DisplayName("under last_writer_wins, a field both touched takes the later write and the other value is kept in the conflict change")
  void lastWriterWinsSameField() {
    String space = newSpace("last_writer_wins");
    String node = create(space, "task.json", new JsonObject().put("status", "open").put("owner", "ann")).getString("id");
    expect(patch(token, space, node, "{\"status\":\"done\",\"owner\":\"cy\"}", "\"1\""), 200);
    JsonObject later = expect(patch(token, space, node, "{\"status\":\"blocked\"}", "\"1\""), 200);
    assertThat(later.getJsonObject("content")).isEqualTo(new JsonObject().put("status", "blocked").put("owner", "cy"));

    List<JsonObject> changes = changesOf(space, node);
    assertThat(changes).extracting(c -> c.getString("kind")).containsExactly("created", "updated", "updated", "conflict");
    JsonObject conflict = changes.get(3).getJsonObject("node").getJsonObject("conflict");
    assertThat(conflict.getLong("base_version")).isEqualTo(1);
    assertThat(conflict.getLong("overwritten_version")).isEqualTo(2);
    assertThat(conflict.getJsonArray("fields")).containsExactly("/status");
    assertThat(conflict.getJsonArray("overwritten")).containsExactly(new JsonObject().put("path", "/status").put("value", "done"));
    // The overwritten document stays as a version too.
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/document?version=2",
        token, null), 200).getString("status")).isEqualTo("done");
  }

  @Test
  @DisplayName("each change carries the patch and its base version, so replaying the log rebuilds the document; big ones say to re-read")
  void changesCarryPatches() {
    String space = newSpace(null);
    JsonObject start = new JsonObject().put("count", 0).put("body", "b".repeat(INLINE_MAX));
    String node = create(space, "long.json", start).getString("id");
    for (int i = 1; i <= 3; i++) {
      expect(patch(token, space, node, new JsonObject().put("count", i).put("note" + i, "n").encode(), null), 200);
    }
    expect(patch(token, space, node, "{\"note1\":null}", null), 200);
    JsonObject replaced = new JsonObject().put("count", 9).put("body", "b".repeat(INLINE_MAX)).put("note2", "n").put("note3", "n")
        .put("extra", true);
    expect(put(token, space, "long.json", replaced.encode(), null), 200);

    List<JsonObject> changes = changesOf(space, node);
    assertThat(changes).hasSize(6);
    // The document is longer than change_inline_max: created says to re-read it, the patches travel.
    assertThat(changes.get(0).getJsonObject("doc").getBoolean("omitted")).isTrue();
    JsonObject document = start.copy();
    long version = 1;
    for (JsonObject change : changes.subList(1, changes.size())) {
      JsonObject doc = change.getJsonObject("doc");
      assertThat(doc.getLong("base_version")).isEqualTo(version);
      assertThat(doc.containsKey("patch")).as(change.encode()).isTrue();
      assertThat(doc.getJsonObject("patch").encode()).doesNotContain("bbbb");
      assertThat(change.getJsonObject("node").containsKey("doc")).isFalse();
      document = (JsonObject) MergePatch.apply(document, doc.getJsonObject("patch"));
      version = change.getLong("version");
    }
    assertThat(document).isEqualTo(replaced).isEqualTo(document(space, node));

    String small = create(space, "small.json", new JsonObject().put("a", 1)).getString("id");
    JsonObject created = changesOf(space, small).get(0);
    assertThat(created.getJsonObject("doc").getJsonObject("content")).isEqualTo(new JsonObject().put("a", 1));
    // A member set to null cannot be said by a merge patch: the entry carries the whole document.
    expect(put(token, space, "small.json", "{\"a\":1,\"z\":null}", null), 200);
    JsonObject nulled = changesOf(space, small).get(1).getJsonObject("doc");
    assertThat(nulled.containsKey("patch")).isFalse();
    assertThat(nulled.getJsonObject("content")).isEqualTo(new JsonObject().put("a", 1).putNull("z"));
  }

  @Test
  @DisplayName("a live subscriber receives document changes with their patches and can follow without a re-read")
  void liveSubscriber() {
    String space = newSpace(null);
    try (LiveClient client = LiveClient.connect(files.vertx, files.api.port(), token)) {
      client.subscribe(space, 0);
      client.nextOfType("subscribed", 5000);
      String node = create(space, "live.json", new JsonObject().put("a", 1)).getString("id");
      expect(patch(token, space, node, "{\"b\":2}", "\"1\""), 200);
      expect(patch(token, space, node, "{\"a\":null,\"c\":{\"d\":3}}", "\"2\""), 200);
      JsonObject mirror = null;
      for (int i = 0; i < 3; i++) {
        JsonObject change = client.nextOfType("change", 5000);
        assertThat(change.getString("node_id")).isEqualTo(node);
        JsonObject doc = change.getJsonObject("doc");
        mirror = doc.containsKey("content") ? doc.getJsonObject("content")
            : (JsonObject) MergePatch.apply(mirror, doc.getJsonObject("patch"));
      }
      assertThat(mirror).isEqualTo(new JsonObject().put("b", 2).put("c", new JsonObject().put("d", 3)))
          .isEqualTo(document(space, node));
    }
  }

  @Test
  @DisplayName("a snapshot carries each document's content as of its cursor, so a subscriber needs no second request")
  void snapshotCarriesContent() {
    String space = newSpace(null);
    String node = create(space, "notes/todo.json", new JsonObject().put("a", 1)).getString("id");
    expect(patch(token, space, node, "{\"b\":2}", "\"1\""), 200);
    expect(files.send(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + node, token,
        new JsonObject().put("name", "done.json")), 200);
    try (LiveClient client = LiveClient.connect(files.vertx, files.api.port(), token)) {
      client.send(new JsonObject().put("type", "subscribe").put("space", space).put("snapshot", true)
          .put("types", new io.vertx.core.json.JsonArray().add("document")));
      client.nextOfType("subscribed", 5000);
      JsonObject page = client.nextOfType("snapshot", 5000);
      assertThat(page.getJsonArray("nodes")).hasSize(1);
      JsonObject snapshot = page.getJsonArray("nodes").getJsonObject(0);
      assertThat(snapshot.getString("name")).isEqualTo("done.json");
      assertThat(snapshot.getLong("version")).as("renamed after the patch").isEqualTo(3);
      assertThat(snapshot.getJsonObject("doc")).isEqualTo(new JsonObject()
          .put("content", new JsonObject().put("a", 1).put("b", 2)));
      client.nextOfType("snapshot_done", 5000);
    }
  }

  @Test
  @DisplayName("a SockJS bridge subscriber receives the same document entries, patch included")
  void bridgeSubscriber() {
    String space = newSpace(null);
    String address = Addresses.SYNC_SPACE_PREFIX + space;
    try (SockJsClient client = SockJsClient.connect(files.vertx, files.api.port(), SockJsClient.Transport.WEBSOCKET)) {
      client.listen(address, token,
          () -> files.folder(token, space, null, "probe " + UUID.randomUUID()).getString("name"));
      String node = create(space, "bridged.json", new JsonObject().put("a", 1)).getString("id");
      expect(patch(token, space, node, "{\"b\":{\"c\":true}}", "\"1\""), 200);
      List<JsonObject> docs = new ArrayList<>();
      while (docs.size() < 2) {
        JsonObject message = client.inbox().next(5000);
        if (message.getValue("body") instanceof JsonObject body && body.containsKey("seq")) {
          docs.add(body.getJsonObject("doc"));
        }
      }
      assertThat(docs.get(0).getJsonObject("content")).isEqualTo(new JsonObject().put("a", 1));
      assertThat(docs.get(1)).isEqualTo(new JsonObject().put("base_version", 1)
          .put("patch", new JsonObject().put("b", new JsonObject().put("c", true))));
    }
  }

  @Test
  @DisplayName("documents have versions to list, read and restore, are copied, and go to the trash and back like files")
  void versionsAndTrash() {
    String space = newSpace(null);
    String node = create(space, "v.json", new JsonObject().put("n", 1)).getString("id");
    for (int i = 2; i <= 7; i++) {
      expect(patch(token, space, node, new JsonObject().put("n", i).encode(), null), 200);
    }
    JsonArray versions = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/versions",
        token, null), 200).getJsonArray("versions");
    // docs.max_versions is 5 here: the newest five are kept.
    assertThat(versions.stream().map(v -> ((JsonObject) v).getLong("version")).toList()).containsExactly(7L, 6L, 5L, 4L, 3L);
    assertThat(versions.getJsonObject(0).getBoolean("current")).isTrue();
    // Version 1 is no longer kept: a patch from it touches the whole document as far as anyone can tell.
    HttpResponse<Buffer> fromGone = patch(token, space, node, "{\"other\":1}", "\"1\"");
    assertThat(code(fromGone)).isEqualTo("version_conflict");
    assertThat(fromGone.bodyAsJsonObject().getJsonArray("conflicting_fields")).containsExactly("/other");
    expect(patch(token, space, node, "{\"other\":1}", "\"3\""), 200);
    expect(patch(token, space, node, "{\"other\":null}", "\"8\""), 200);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/document?version=1", token, null), 404);
    JsonObject restored = expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes/" + node
        + "/versions/5/restore", token, null), 200);
    assertThat(restored.getLong("version")).isEqualTo(10);
    assertThat(document(space, node)).isEqualTo(new JsonObject().put("n", 5));

    JsonObject copy = expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes/" + node + "/copy", token,
        new JsonObject()), 201);
    assertThat(copy.getString("name")).isEqualTo("v (copy).json");
    assertThat(copy.getString("type")).isEqualTo("document");
    assertThat(copy.getLong("version")).isEqualTo(1);
    assertThat(document(space, copy.getString("id"))).isEqualTo(new JsonObject().put("n", 5));

    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + node, token, null), 204);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/v.json", token, null), 404);
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/trash", token, null), 200)
        .getJsonArray("nodes").getJsonObject(0).getString("type")).isEqualTo("document");
    assertThat(code(patch(token, space, node, "{\"n\":0}", null))).isEqualTo("not_found");
    expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes/" + node + "/restore", token, null), 200);
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/v.json", token, null), 200))
        .isEqualTo(new JsonObject().put("n", 5));
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + node + "?purge=true", token, null), 204);
    assertThat(files.count("SELECT count(*) FROM document_versions WHERE node_id = $1::uuid", node)).isZero();
    assertThat(files.count("SELECT count(*) FROM documents WHERE node_id = $1::uuid", node)).isZero();
    assertThat(changesOf(space, node)).extracting(c -> c.getString("kind"))
        .endsWith("updated", "deleted", "restored", "purged");
  }

  @Test
  @DisplayName("members read and write by role; others cannot see documents exist")
  void access() {
    String space = newSpace(null);
    String node = create(space, "shared.json", new JsonObject().put("a", 1)).getString("id");
    JsonObject viewer = files.user("viewer");
    JsonObject stranger = files.user("stranger");
    files.share(token, space, viewer.getString("id"), "viewer");
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/shared.json", viewer.getString("token"), null), 200);
    assertThat(patch(viewer.getString("token"), space, node, "{\"a\":2}", null).statusCode()).isEqualTo(403);
    assertThat(put(viewer.getString("token"), space, "shared.json", "{}", null).statusCode()).isEqualTo(403);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs/shared.json", stranger.getString("token"), null), 404);
    assertThat(patch(stranger.getString("token"), space, node, "{\"a\":2}", null).statusCode()).isEqualTo(404);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?where=a=1", stranger.getString("token"), null), 404);
    assertThat(document(space, node)).isEqualTo(new JsonObject().put("a", 1));
  }

  @Test
  @DisplayName("the query finds live documents by top-level equality within a folder's subtree, page by page")
  void query() {
    String space = newSpace(null);
    for (int i = 0; i < 7; i++) {
      create(space, "tasks/" + (i % 2 == 0 ? "even" : "odd") + "/t" + i + ".json", new JsonObject().put("status", i < 5 ? "open" : "done")
          .put("priority", i % 3).put("flag", i == 4).put("label", String.valueOf(i % 3)));
    }
    create(space, "other/t.json", new JsonObject().put("status", "open"));
    String trashed = create(space, "tasks/gone.json", new JsonObject().put("status", "open")).getString("id");
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + trashed, token, null), 204);

    assertThat(names(space, "path_prefix=tasks&where=status=open")).containsExactlyInAnyOrder("t0.json", "t1.json",
        "t2.json", "t3.json", "t4.json");
    assertThat(names(space, "where=status=open")).hasSize(6);
    assertThat(names(space, "path_prefix=/tasks/even/&where=status=open")).containsExactlyInAnyOrder("t0.json", "t2.json", "t4.json");
    assertThat(names(space, "where=priority=0&where=status=open")).containsExactlyInAnyOrder("t0.json", "t3.json");
    // A bare number is a number; quoted it is a string.
    assertThat(names(space, "where=label=0")).isEmpty();
    assertThat(names(space, "where=label=" + URLEncoder.encode("\"0\"", StandardCharsets.UTF_8))).hasSize(3);
    assertThat(names(space, "where=flag=true")).containsExactly("t4.json");

    List<String> paged = new ArrayList<>();
    String cursor = null;
    int pages = 0;
    do {
      JsonObject page = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?where=status=open&limit=2"
          + (cursor == null ? "" : "&cursor=" + cursor), token, null), 200);
      page.getJsonArray("documents").forEach(d -> paged.add(((JsonObject) d).getString("name")));
      assertThat(page.getJsonArray("documents").getJsonObject(0).getJsonObject("content").getString("status")).isEqualTo("open");
      cursor = page.getString("cursor");
      pages++;
    } while (cursor != null);
    assertThat(paged).hasSize(6).doesNotHaveDuplicates();
    assertThat(pages).isEqualTo(3);

    assertThat(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?where=status", token, null).statusCode()).isEqualTo(400);
    assertThat(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?path_prefix=nowhere", token, null).statusCode())
        .isEqualTo(404);
    assertThat(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?limit=201", token, null).statusCode()).isEqualTo(400);
  }

  @Test
  @DisplayName("a path_prefix over a subtree too big to read folder by folder still finds exactly the matches there")
  void queryBigSubtree() {
    String space = newSpace(null);
    String big = files.folder(token, space, null, "big").getString("id");
    String inner = files.folder(token, space, big, "inner").getString("id");
    create(space, "elsewhere.json", new JsonObject().put("kind", "rare"));
    // More documents than the query reads by folder (20,000), loaded straight into the tables.
    files.db.preparedQuery("WITH made AS (INSERT INTO nodes (space_id, parent_id, name, type, size) "
            + "SELECT $1::uuid, CASE WHEN n % 2 = 0 THEN $2::uuid ELSE $3::uuid END, 'd' || n || '.json', 'document', 20 "
            + "FROM generate_series(1, 20100) n RETURNING id, name) "
            + "INSERT INTO documents (node_id, space_id, content) SELECT id, $1::uuid, jsonb_build_object('kind', "
            + "CASE WHEN name IN ('d7.json', 'd20000.json', 'd20099.json') THEN 'rare' ELSE 'common' END) FROM made")
        .execute(io.vertx.sqlclient.Tuple.of(space, big, inner)).await();
    files.db.query("ANALYZE documents").execute().await();
    assertThat(names(space, "path_prefix=big&where=kind=rare")).containsExactlyInAnyOrder("d7.json", "d20000.json", "d20099.json");
    assertThat(names(space, "path_prefix=big/inner&where=kind=rare")).containsExactlyInAnyOrder("d7.json", "d20099.json");
    assertThat(names(space, "where=kind=rare")).hasSize(4);
    assertThat(names(space, "path_prefix=big&where=kind=common&limit=200")).hasSize(200);
  }

  private static List<String> names(String space, String query) {
    JsonObject page = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/docs?" + query, token, null), 200);
    return page.getJsonArray("documents").stream().map(d -> ((JsonObject) d).getString("name")).toList();
  }
}
