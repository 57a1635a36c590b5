package io.cloudsync.files;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.bus.Addresses;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.Tuple;
import java.text.Normalizer;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Folders and nodes over HTTP")
@ExtendWith(RealServers.class)
class NodesTest {
  private static FilesFixture files;
  private static JsonObject owner;
  private static String token;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject());
    owner = files.user("nodes");
    token = owner.getString("token");
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  private static String newSpace() {
    return files.space(token, "Nodes " + FilesFixture.unique("s"), null).getString("id");
  }

  private static JsonObject list(String space, String parent, String extra) {
    return expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes?limit=2" + (parent == null ? ""
        : "&parent=" + parent) + (extra == null ? "" : extra), token, null), 200);
  }

  private static List<String> names(JsonArray nodes) {
    return nodes.stream().map(n -> ((JsonObject) n).getString("name")).toList();
  }

  @Test
  @DisplayName("folders list folders first, then by name, page by page")
  void listing() {
    String space = newSpace();
    String docs = files.folder(token, space, null, "docs").getString("id");
    files.folder(token, space, null, "Archive");
    files.commitFile(owner.getString("id"), space, null, "a-file.txt", FilesFixture.unique("a"));
    files.commitFile(owner.getString("id"), space, null, "B-file.txt", FilesFixture.unique("b"));
    files.folder(token, space, docs, "inner");

    List<String> seen = new ArrayList<>();
    JsonObject page = list(space, null, null);
    seen.addAll(names(page.getJsonArray("nodes")));
    while (page.getBoolean("has_more")) {
      page = list(space, null, "&cursor=" + page.getString("cursor"));
      seen.addAll(names(page.getJsonArray("nodes")));
    }
    assertThat(seen).containsExactly("Archive", "docs", "a-file.txt", "B-file.txt");
    assertThat(names(list(space, docs, null).getJsonArray("nodes"))).containsExactly("inner");
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes?parent=" + java.util.UUID.randomUUID(), token, null), 404);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes?cursor=garbage", token, null), 400);
  }

  @ParameterizedTest(name = "refuses the name [{0}]")
  @ValueSource(strings = {"..", ".", "a/b", "a\\b", "nul\u0000here", "tab\there", "   ", "", "bell\u0007"})
  @DisplayName("refuses names no client file system could hold")
  void invalidNames(String name) {
    String space = newSpace();
    JsonObject answer = expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
        new JsonObject().put("name", name)), 400);
    assertThat(answer.getString("code")).isEqualTo("invalid_name");
    assertThat(list(space, null, null).getJsonArray("nodes")).isEmpty();
  }

  @Test
  @DisplayName("names are at most 255 UTF-8 bytes, stored as NFC, and unique per folder without regard to case")
  void names() {
    String space = newSpace();
    String nodes = "/api/v1/spaces/" + space + "/nodes";
    files.folder(token, space, null, "é".repeat(127) + "x");
    assertThat(expect(files.send(HttpMethod.POST, nodes, token, new JsonObject().put("name", "é".repeat(128))), 400)
        .getString("code")).isEqualTo("invalid_name");

    String decomposed = Normalizer.normalize("Café", Normalizer.Form.NFD);
    assertThat(decomposed).hasSize(5);
    JsonObject cafe = files.folder(token, space, null, decomposed);
    assertThat(cafe.getString("name")).isEqualTo("Café").hasSize(4);
    assertThat(expect(files.send(HttpMethod.POST, nodes, token, new JsonObject().put("name", "Café")), 409)
        .getString("code")).isEqualTo("name_taken");
    assertThat(expect(files.send(HttpMethod.POST, nodes, token, new JsonObject().put("name", "CAFÉ")), 409)
        .getString("code")).isEqualTo("name_taken");
    // The same name in another folder is fine, and a node may change the case of its own name.
    files.folder(token, space, cafe.getString("id"), "café");
    JsonObject recased = expect(files.send(HttpMethod.PATCH, nodes + "/" + cafe.getString("id"), token,
        new JsonObject().put("name", "CAFÉ")), 200);
    assertThat(recased.getString("name")).isEqualTo("CAFÉ");
  }

  @Test
  @DisplayName("rename and move check If-Match, answer the new ETag, and refuse moving a folder into itself")
  void renameAndMove() {
    String space = newSpace();
    String base = "/api/v1/spaces/" + space + "/nodes/";
    JsonObject a = files.folder(token, space, null, "a");
    JsonObject b = files.folder(token, space, a.getString("id"), "b");
    JsonObject c = files.folder(token, space, null, "c");

    HttpResponse<Buffer> got = files.send(HttpMethod.GET, base + a.getString("id"), token, null);
    assertThat(got.getHeader("ETag")).isEqualTo("\"1\"");

    HttpResponse<Buffer> renamed = files.send(HttpMethod.PATCH, base + a.getString("id"), token,
        new JsonObject().put("name", "alpha"), "\"1\"");
    assertThat(expect(renamed, 200).getLong("version")).isEqualTo(2);
    assertThat(renamed.getHeader("ETag")).isEqualTo("\"2\"");
    JsonObject stale = expect(files.send(HttpMethod.PATCH, base + a.getString("id"), token,
        new JsonObject().put("name", "beta"), "\"1\""), 412);
    assertThat(stale.getString("code")).isEqualTo("precondition_failed");
    assertThat(stale.getJsonObject("current").getString("name")).as("the node as it is now").isEqualTo("alpha");
    assertThat(stale.getJsonObject("current").getLong("version")).isEqualTo(2);

    JsonObject moved = expect(files.send(HttpMethod.PATCH, base + c.getString("id"), token,
        new JsonObject().put("parent_id", b.getString("id")), "\"1\""), 200);
    assertThat(moved.getString("parent_id")).isEqualTo(b.getString("id"));
    expect(files.send(HttpMethod.PATCH, base + a.getString("id"), token, new JsonObject().put("parent_id", c.getString("id"))), 409);
    expect(files.send(HttpMethod.PATCH, base + a.getString("id"), token, new JsonObject().put("parent_id", a.getString("id"))), 409);
    JsonObject top = expect(files.send(HttpMethod.PATCH, base + c.getString("id"), token,
        new JsonObject().putNull("parent_id")), 200);
    assertThat(top.getString("parent_id")).isNull();
    assertThat(expect(files.send(HttpMethod.PATCH, base + c.getString("id"), token,
        new JsonObject().put("name", "alpha")), 409).getString("code")).isEqualTo("name_taken");

    JsonArray changes = files.changes(token, space);
    assertThat(changes).extracting(ch -> ((JsonObject) ch).getString("kind"))
        .containsExactly("created", "created", "created", "renamed", "moved", "moved");
  }

  @Test
  @DisplayName("a deleted folder goes to the trash with its subtree and comes back whole; purge removes it for good")
  void trashRestorePurge() {
    String space = newSpace();
    String base = "/api/v1/spaces/" + space + "/nodes/";
    JsonObject docs = files.folder(token, space, null, "docs");
    JsonObject inner = files.folder(token, space, docs.getString("id"), "inner");
    JsonObject file = files.commitFile(owner.getString("id"), space, inner.getString("id"), "f.txt", FilesFixture.unique("f"));

    expect(files.send(HttpMethod.DELETE, base + docs.getString("id"), token, null, "\"7\""), 412);
    expect(files.send(HttpMethod.DELETE, base + docs.getString("id"), token, null, "\"1\""), 204);
    assertThat(list(space, null, null).getJsonArray("nodes")).isEmpty();
    assertThat(expect(files.send(HttpMethod.GET, base + file.getString("id"), token, null), 200).getString("deleted_at")).isNotNull();
    JsonArray trash = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/trash", token, null), 200).getJsonArray("nodes");
    assertThat(names(trash)).containsExactly("docs");
    assertThat(trash.getJsonObject(0).getString("purge_at")).isNotNull();

    // While it is away another "docs" appears; the restored one takes a new name.
    files.folder(token, space, null, "docs");
    JsonObject restored = expect(files.send(HttpMethod.POST, base + docs.getString("id") + "/restore", token, new JsonObject()), 200);
    assertThat(restored.getString("name")).isEqualTo("docs (restored)");
    assertThat(names(list(space, inner.getString("id"), null).getJsonArray("nodes"))).containsExactly("f.txt");
    assertThat(expect(files.send(HttpMethod.GET, base + file.getString("id"), token, null), 200).getString("deleted_at")).isNull();
    expect(files.send(HttpMethod.POST, base + docs.getString("id") + "/restore", token, new JsonObject()), 409);

    // A file whose folder is gone returns to the top level.
    expect(files.send(HttpMethod.DELETE, base + file.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.DELETE, base + docs.getString("id") + "?purge=true", token, null), 204);
    expect(files.send(HttpMethod.GET, base + docs.getString("id"), token, null), 404);
    expect(files.send(HttpMethod.GET, base + inner.getString("id"), token, null), 404);
    assertThat(files.count("SELECT count(*) FROM nodes WHERE id = $1::uuid", file.getString("id"))).isZero();

    JsonObject loose = files.commitFile(owner.getString("id"), space, null, "loose.txt", FilesFixture.unique("l"));
    JsonObject sub = files.folder(token, space, null, "sub");
    JsonObject moved = expect(files.send(HttpMethod.PATCH, base + loose.getString("id"), token,
        new JsonObject().put("parent_id", sub.getString("id"))), 200);
    expect(files.send(HttpMethod.DELETE, base + moved.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.DELETE, base + sub.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.DELETE, base + sub.getString("id") + "?purge=true", token, null), 204);
    assertThat(files.count("SELECT count(*) FROM nodes WHERE id = $1::uuid", loose.getString("id")))
        .as("a node trashed on its own inside a purged folder is purged with it").isZero();

    JsonObject alone = files.folder(token, space, null, "alone");
    JsonObject child = files.folder(token, space, alone.getString("id"), "child");
    expect(files.send(HttpMethod.DELETE, base + alone.getString("id"), token, null), 204);
    JsonObject back = expect(files.send(HttpMethod.POST, base + child.getString("id") + "/restore", token, new JsonObject()), 200);
    assertThat(back.getString("parent_id")).as("its folder stays in the trash, so it comes back at the top").isNull();

    JsonArray kinds = files.changes(token, space);
    assertThat(kinds).extracting(ch -> ((JsonObject) ch).getString("kind")).contains("deleted", "restored", "purged");
    assertThat(FilesFixture.seqs(kinds)).isEqualTo(java.util.stream.LongStream.rangeClosed(1, kinds.size()).boxed().toList());
  }

  @Test
  @DisplayName("a copy shares the chunks of the original; versions list and an old version restores as the newest")
  void copyAndVersions() {
    String space = newSpace();
    String base = "/api/v1/spaces/" + space + "/nodes/";
    String v1 = FilesFixture.unique("one");
    String v2 = FilesFixture.unique("two");
    JsonObject file = files.commitFile(owner.getString("id"), space, null, "report.pdf", v1);
    files.bus(Addresses.METADATA_COMMIT, FilesFixture.commit(owner.getString("id"), space, v2)
        .put("node_id", file.getString("id")).put("base_version", 1));
    long chunksBefore = files.count("SELECT count(*) FROM chunks");

    JsonObject copy = expect(files.send(HttpMethod.POST, base + file.getString("id") + "/copy", token, new JsonObject()), 201);
    assertThat(copy.getString("name")).isEqualTo("report (copy).pdf");
    assertThat(copy.getString("sha256")).isEqualTo(FilesFixture.sha256(v2));
    JsonObject manifest = files.bus(Addresses.METADATA_CONTENT, new JsonObject().put("actor", owner.getString("id"))
        .put("space", space).put("node", copy.getString("id")));
    assertThat(manifest.getJsonArray("chunks").getList()).containsExactly(FilesFixture.sha256(v2));
    assertThat(files.count("SELECT count(*) FROM chunks")).isEqualTo(chunksBefore);
    JsonObject folder = files.folder(token, space, null, "folder");
    JsonObject named = expect(files.send(HttpMethod.POST, base + file.getString("id") + "/copy", token,
        new JsonObject().put("parent_id", folder.getString("id")).put("name", "mine.pdf")), 201);
    assertThat(named.getString("parent_id")).isEqualTo(folder.getString("id"));
    expect(files.send(HttpMethod.POST, base + file.getString("id") + "/copy", token,
        new JsonObject().put("parent_id", folder.getString("id")).put("name", "MINE.pdf")), 409);

    JsonArray versions = expect(files.send(HttpMethod.GET, base + file.getString("id") + "/versions", token, null), 200)
        .getJsonArray("versions");
    assertThat(versions).extracting(v -> ((JsonObject) v).getLong("version")).containsExactly(2L, 1L);
    assertThat(versions.getJsonObject(0).getBoolean("current")).isTrue();

    expect(files.send(HttpMethod.POST, base + file.getString("id") + "/versions/1/restore", token, new JsonObject(), "\"1\""), 412);
    expect(files.send(HttpMethod.POST, base + file.getString("id") + "/versions/9/restore", token, new JsonObject()), 404);
    JsonObject restored = expect(files.send(HttpMethod.POST, base + file.getString("id") + "/versions/1/restore", token,
        new JsonObject(), "\"2\""), 200);
    assertThat(restored.getLong("version")).isEqualTo(3);
    assertThat(restored.getString("sha256")).isEqualTo(FilesFixture.sha256(v1));
    JsonObject current = files.bus(Addresses.METADATA_CONTENT, new JsonObject().put("actor", owner.getString("id"))
        .put("space", space).put("node", file.getString("id")));
    assertThat(current.getLong("version")).isEqualTo(3);
    assertThat(current.getJsonArray("chunks").getList()).containsExactly(FilesFixture.sha256(v1));
    JsonObject old = files.bus(Addresses.METADATA_CONTENT, new JsonObject().put("actor", owner.getString("id"))
        .put("space", space).put("node", file.getString("id")).put("version", 2));
    assertThat(old.getString("sha256")).isEqualTo(FilesFixture.sha256(v2));
    assertThat(files.busFailure(Addresses.METADATA_CONTENT, new JsonObject().put("actor", owner.getString("id"))
        .put("space", space).put("node", folder.getString("id"))).code().code()).isEqualTo("not_found");
    assertThat(files.busFailure(Addresses.METADATA_CONTENT, new JsonObject().put("actor", owner.getString("id"))
        .put("space", space).put("node", file.getString("id")).put("version", 7)).code().code()).isEqualTo("not_found");
  }

  @Test
  @DisplayName("search finds names by substring in the spaces the caller can read, and nowhere else")
  void search() {
    JsonObject other = files.user("other");
    String mine = newSpace();
    String theirs = files.space(other.getString("token"), "Theirs", null).getString("id");
    String shared = files.space(other.getString("token"), "Shared", null).getString("id");
    files.share(other.getString("token"), shared, owner.getString("id"), "viewer");
    String word = "zebra" + System.nanoTime();
    files.folder(token, mine, null, "My " + word + " notes");
    files.folder(other.getString("token"), theirs, null, "Secret " + word);
    files.folder(other.getString("token"), shared, null, word.toUpperCase() + " shared");
    JsonObject gone = files.folder(token, mine, null, "trashed " + word);
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + mine + "/nodes/" + gone.getString("id"), token, null), 204);

    JsonObject found = expect(files.send(HttpMethod.GET, "/api/v1/search?q=" + word.substring(1), token, null), 200);
    assertThat(names(found.getJsonArray("nodes"))).containsExactlyInAnyOrder("My " + word + " notes", word.toUpperCase() + " shared");
    JsonObject inOne = expect(files.send(HttpMethod.GET, "/api/v1/search?q=" + word + "&space=" + mine, token, null), 200);
    assertThat(names(inOne.getJsonArray("nodes"))).containsExactly("My " + word + " notes");
    expect(files.send(HttpMethod.GET, "/api/v1/search?q=" + word + "&space=" + theirs, token, null), 404);
    expect(files.send(HttpMethod.GET, "/api/v1/search?q=", token, null), 400);
    JsonObject page = expect(files.send(HttpMethod.GET, "/api/v1/search?q=" + word + "&limit=1", token, null), 200);
    assertThat(page.getJsonArray("nodes")).hasSize(1);
    assertThat(page.getBoolean("has_more")).isTrue();
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/search?q=%25", token, null), 200).getJsonArray("nodes"))
        .as("a % is a character, not a wildcard").isEmpty();
  }

  @Test
  @DisplayName("a query too short for trigrams matches names that start with it, paged in name order across spaces")
  void searchByPrefix() {
    String searcher = files.user("prefix").getString("token");
    String a = files.space(searcher, "A", null).getString("id");
    String b = files.space(searcher, "B", null).getString("id");
    files.folder(searcher, a, null, "qa-1");
    files.folder(searcher, b, null, "QA-2");
    files.folder(searcher, a, null, "qa-3");
    files.folder(searcher, b, null, "qa-4");
    files.folder(searcher, a, null, "my qa");
    files.folder(searcher, b, null, "qb");

    JsonObject first = expect(files.send(HttpMethod.GET, "/api/v1/search?q=qa&limit=3", searcher, null), 200);
    assertThat(names(first.getJsonArray("nodes"))).containsExactly("qa-1", "QA-2", "qa-3");
    assertThat(first.getBoolean("has_more")).isTrue();
    JsonObject second = expect(files.send(HttpMethod.GET, "/api/v1/search?q=QA&limit=3&offset=3", searcher, null), 200);
    assertThat(names(second.getJsonArray("nodes"))).containsExactly("qa-4");
    assertThat(second.getBoolean("has_more")).isFalse();
    assertThat(names(expect(files.send(HttpMethod.GET, "/api/v1/search?q=q", searcher, null), 200).getJsonArray("nodes")))
        .containsExactly("qa-1", "QA-2", "qa-3", "qa-4", "qb");
    assertThat(names(expect(files.send(HttpMethod.GET, "/api/v1/search?q=qa&space=" + b, searcher, null), 200)
        .getJsonArray("nodes"))).containsExactly("QA-2", "qa-4");
    assertThat(names(expect(files.send(HttpMethod.GET, "/api/v1/search?q=y%20", searcher, null), 200)
        .getJsonArray("nodes"))).as("the query is stripped, then matched from the start").isEmpty();
    expect(files.send(HttpMethod.GET, "/api/v1/search?q=qa&offset=10001", searcher, null), 400);
  }

  @Test
  @DisplayName("prefix bounds follow code point order, stepping over the surrogate range")
  void prefixBounds() {
    assertThat(Nodes.nextPrefix("ab")).isEqualTo("ac");
    assertThat(Nodes.nextPrefix("a\ud7ff")).isEqualTo("a\ue000");
    assertThat(Nodes.nextPrefix("a" + Character.toString(Character.MAX_CODE_POINT))).isEqualTo("b");
    assertThat(Nodes.nextPrefix(Character.toString(Character.MAX_CODE_POINT))).isNull();
    assertThat(Nodes.hasTrigram("a-bc")).isFalse();
    assertThat(Nodes.hasTrigram("x abc")).isTrue();
    assertThat(Nodes.hasTrigram("日本語")).isTrue();
  }

  @Test
  @DisplayName("a new folder reads the same in its answer, as a node and in its change")
  void folderAsLogged() {
    String space = newSpace();
    String nodes = "/api/v1/spaces/" + space + "/nodes";
    JsonObject parent = files.folder(token, space, null, "outer");
    JsonObject made = files.folder(token, space, parent.getString("id"), "inner");
    JsonObject read = expect(files.send(HttpMethod.GET, nodes + "/" + made.getString("id"), token, null), 200);
    JsonArray changes = files.changes(token, space);
    JsonObject change = changes.getJsonObject(changes.size() - 1);
    assertThat(change.getString("kind")).isEqualTo("created");
    assertThat(change.getString("node_id")).isEqualTo(made.getString("id"));
    for (String field : made.fieldNames()) {
      assertThat(read.getValue(field)).as(field).isEqualTo(made.getValue(field));
    }
    assertThat(change.getJsonObject("node")).isEqualTo(made);
    assertThat(made.getString("parent_id")).isEqualTo(parent.getString("id"));
    assertThat(made.getLong("version")).isEqualTo(1L);
    assertThat(made.getString("created_by")).isEqualTo(owner.getString("id"));
    assertThat(made.getString("created_at")).isEqualTo(made.getString("modified_at"));
    assertThat(Instant.parse(made.getString("created_at"))).isEqualTo(Instant.parse(change.getString("at")));
  }

  @Test
  @DisplayName("a folder is made only by a member who may write; a refused one leaves no node and no change")
  void folderAccess() {
    String space = newSpace();
    String nodes = "/api/v1/spaces/" + space + "/nodes";
    JsonObject viewer = files.user("viewer");
    JsonObject stranger = files.user("stranger");
    files.share(token, space, viewer.getString("id"), "viewer");
    long changes = files.changes(token, space).size();

    assertThat(expect(files.send(HttpMethod.POST, nodes, viewer.getString("token"), new JsonObject().put("name", "v")),
        403).getString("code")).isEqualTo("forbidden");
    assertThat(expect(files.send(HttpMethod.POST, nodes, stranger.getString("token"), new JsonObject().put("name", "s")),
        404).getString("message")).isEqualTo("No such space");
    assertThat(expect(files.send(HttpMethod.POST, nodes, stranger.getString("token"), new JsonObject().put("name", "s")
        .put("parent_id", "nope")), 404).getString("message")).isEqualTo("No such space");
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isZero();
    assertThat(files.changes(token, space)).hasSize((int) changes);

    files.share(token, space, viewer.getString("id"), "editor");
    JsonObject made = expect(files.send(HttpMethod.POST, nodes, viewer.getString("token"),
        new JsonObject().put("name", "v")), 201);
    assertThat(made.getString("created_by")).isEqualTo(viewer.getString("id"));
    JsonArray after = files.changes(token, space);
    assertThat(after.getJsonObject(after.size() - 1).getString("node_id")).isEqualTo(made.getString("id"));
  }

  @Test
  @DisplayName("times rendered by the database read as the server renders them")
  void instantsInSql() {
    String[] times = {"2026-11-23T13:24:52Z", "2026-11-23T13:24:52.500Z", "2026-11-23T13:24:52.120Z",
        "2026-11-23T13:24:52.123400Z", "2026-11-23T13:24:52.000001Z", "2026-11-23T13:24:52.010Z",
        "1999-12-31T23:59:59.999999Z", "2026-03-29T01:30:00.100Z"};
    for (String time : times) {
      OffsetDateTime at = OffsetDateTime.parse(time).withOffsetSameInstant(java.time.ZoneOffset.ofHours(5));
      String rendered = files.db.preparedQuery("SELECT " + Tree.instantSql("$1::timestamptz"))
          .execute(Tuple.of(at)).await().iterator().next().getString(0);
      assertThat(rendered).as(time).isEqualTo(Tree.instant(at)).isEqualTo(Instant.parse(time).toString());
    }
    OffsetDateTime none = null;
    assertThat(files.db.preparedQuery("SELECT " + Tree.instantSql("$1::timestamptz")).execute(Tuple.of(none)).await()
        .iterator().next().getString(0)).isNull();
  }
}
