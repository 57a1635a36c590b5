package io.cloudsync.files;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.auth.Access;
import io.cloudsync.bus.Addresses;
import io.cloudsync.db.Database;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Commits, chunk access, limits, the change log and trash retention")
@ExtendWith(RealServers.class)
class CommitsTest {
  private static final long QUOTA = 2000;
  private static final int FOLDER_LIMIT = 4;
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject()
        .put("files.user_quota", QUOTA)
        .put("files.folder_entry_limit", FOLDER_LIMIT)
        .put("files.max_file_size", 1500)
        .put("files.trash_retention_days", 0));
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  private static JsonObject commit(JsonObject request) {
    return files.bus(Addresses.METADATA_COMMIT, request);
  }

  private static String failure(JsonObject request) {
    return files.busFailure(Addresses.METADATA_COMMIT, request).code().code();
  }

  @Test
  @DisplayName("commits create a file, add versions to it, and make the folders of a path; each change is logged and published")
  void createUpdateAndPaths() throws Exception {
    JsonObject user = files.user("writer");
    String actor = user.getString("id");
    String space = files.space(user.getString("token"), "Work", null).getString("id");
    Promise<JsonObject> published = Promise.promise();
    MessageConsumer<JsonObject> live = files.vertx.eventBus().consumer(Addresses.SYNC_SPACE_PREFIX + space,
        message -> published.tryComplete(message.body()));
    live.completion().await();

    JsonObject created = commit(FilesFixture.commit(actor, space, "hello ", "world").put("parent_id", null).put("name", "a.txt"));
    assertThat(created.getLong("version")).isEqualTo(1);
    assertThat(created.getLong("size")).isEqualTo(11);
    JsonObject change = published.future().await(10, TimeUnit.SECONDS);
    assertThat(change.getString("kind")).isEqualTo("created");
    assertThat(change.getLong("seq")).isEqualTo(1);
    assertThat(change.getJsonObject("node").getString("id")).isEqualTo(created.getString("id"));
    live.unregister().await();

    JsonObject sameName = commit(FilesFixture.commit(actor, space, "second").put("name", "A.TXT"));
    assertThat(sameName.getString("id")).as("the live file of that name (any case) is replaced").isEqualTo(created.getString("id"));
    assertThat(sameName.getLong("version")).isEqualTo(2);
    JsonObject byId = commit(FilesFixture.commit(actor, space, "third").put("node_id", created.getString("id")).put("base_version", 2));
    assertThat(byId.getLong("version")).isEqualTo(3);
    assertThat(byId.getString("name")).isEqualTo("a.txt");

    JsonObject deep = commit(FilesFixture.commit(actor, space, "report").put("path", "docs/2024/report.pdf"));
    JsonObject again = commit(FilesFixture.commit(actor, space, "report 2").put("path", "Docs/2024/report.pdf"));
    assertThat(again.getString("id")).isEqualTo(deep.getString("id"));
    assertThat(again.getLong("version")).isEqualTo(2);
    assertThat(failure(FilesFixture.commit(actor, space, "x").put("path", "docs/../etc"))).isEqualTo("invalid_name");
    assertThat(failure(FilesFixture.commit(actor, space, "x").put("path", "a.txt/inside"))).isEqualTo("name_taken");
    assertThat(failure(FilesFixture.commit(actor, space, "x").put("name", "docs"))).as("a folder has that name").isEqualTo("name_taken");
    assertThat(failure(FilesFixture.commit(actor, space, "x").put("name", "b").put("size", 99))).isEqualTo("validation_failed");
    assertThat(failure(FilesFixture.commit(actor, space, "x".repeat(1600)).put("name", "big"))).isEqualTo("payload_too_large");

    JsonArray changes = files.changes(user.getString("token"), space);
    assertThat(changes).extracting(c -> ((JsonObject) c).getString("kind"))
        .containsExactly("created", "updated", "updated", "created", "created", "created", "updated");
    assertThat(changes.getJsonObject(3).getJsonObject("node").getString("name")).isEqualTo("docs");
    assertThat(changes.getJsonObject(4).getJsonObject("node").getString("name")).isEqualTo("2024");
    JsonObject page = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=2&limit=2",
        user.getString("token"), null), 200);
    assertThat(FilesFixture.seqs(page.getJsonArray("changes"))).containsExactly(3L, 4L);
    assertThat(page.getLong("cursor")).isEqualTo(4);
    assertThat(page.getBoolean("has_more")).isTrue();
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?limit=1001", user.getString("token"), null), 400);
  }

  @Test
  @DisplayName("a stale base version is a 409 under the manual policy and a logged conflict under last-writer-wins")
  void conflictPolicies() {
    JsonObject user = files.user("conflicts");
    String actor = user.getString("id");
    String manual = files.space(user.getString("token"), "Manual", "manual").getString("id");
    String lww = files.space(user.getString("token"), "LWW", "last_writer_wins").getString("id");

    JsonObject file = commit(FilesFixture.commit(actor, manual, "v1").put("name", "f"));
    commit(FilesFixture.commit(actor, manual, "v2").put("node_id", file.getString("id")).put("base_version", 1));
    var conflict = files.busFailure(Addresses.METADATA_COMMIT,
        FilesFixture.commit(actor, manual, "v2 from elsewhere").put("node_id", file.getString("id")).put("base_version", 1));
    assertThat(conflict.code().code()).isEqualTo("version_conflict");
    assertThat(conflict.code().httpStatus()).isEqualTo(409);
    assertThat(conflict.getMessage()).contains("current version is 2");
    assertThat(conflict.details().getJsonObject("current").getLong("version")).as("the node as it is now").isEqualTo(2);
    assertThat(conflict.details().getJsonObject("current").getString("id")).isEqualTo(file.getString("id"));
    assertThat(failure(FilesFixture.commit(actor, manual, "new").put("name", "f").put("base_version", 0)))
        .as("base 0 expects no file there").isEqualTo("version_conflict");

    JsonObject other = commit(FilesFixture.commit(actor, lww, "mine").put("name", "g"));
    commit(FilesFixture.commit(actor, lww, "theirs").put("node_id", other.getString("id")).put("base_version", 1));
    JsonObject winner = commit(FilesFixture.commit(actor, lww, "late").put("node_id", other.getString("id")).put("base_version", 1));
    assertThat(winner.getLong("version")).isEqualTo(3);
    assertThat(winner.getString("sha256")).isEqualTo(FilesFixture.sha256("late"));
    JsonArray versions = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + lww + "/nodes/" + other.getString("id")
        + "/versions", user.getString("token"), null), 200).getJsonArray("versions");
    assertThat(versions).extracting(v -> ((JsonObject) v).getString("sha256"))
        .as("the overwritten version stays").containsExactly(FilesFixture.sha256("late"), FilesFixture.sha256("theirs"),
            FilesFixture.sha256("mine"));
    JsonArray changes = files.changes(user.getString("token"), lww);
    assertThat(changes).extracting(c -> ((JsonObject) c).getString("kind")).containsExactly("created", "updated", "updated", "conflict");
    JsonObject logged = changes.getJsonObject(3).getJsonObject("node").getJsonObject("conflict");
    assertThat(logged.getLong("base_version")).isEqualTo(1);
    assertThat(logged.getLong("overwritten_version")).isEqualTo(2);
  }

  @Test
  @DisplayName("the space owner's quota counts every version; folders hold a limited number of entries")
  void limits() {
    JsonObject owner = files.user("quota");
    JsonObject editor = files.user("quota-editor");
    String space = files.space(owner.getString("token"), "Full", null).getString("id");
    files.share(owner.getString("token"), space, editor.getString("id"), "editor");

    String chunk = "q".repeat(900);
    JsonObject first = commit(FilesFixture.commit(owner.getString("id"), space, chunk).put("name", "one"));
    commit(FilesFixture.commit(editor.getString("id"), space, chunk + "!").put("node_id", first.getString("id")));
    var full = files.busFailure(Addresses.METADATA_COMMIT, FilesFixture.commit(editor.getString("id"), space, chunk)
        .put("name", "two"));
    assertThat(full.code().code()).as("an editor's write counts against the owner").isEqualTo("quota_exceeded");
    assertThat(full.code().httpStatus()).isEqualTo(507);
    expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes/" + first.getString("id") + "/copy",
        owner.getString("token"), new JsonObject()), 507);
    // Documents count too, every kept version: the owner has 1,801 of 2,000 bytes in use.
    String notes = "/api/v1/spaces/" + space + "/docs/notes.json";
    JsonObject doc = expect(files.api.request(HttpMethod.PUT, notes, owner.getString("token"))
        .putHeader("Content-Type", "application/json")
        .sendBuffer(io.vertx.core.buffer.Buffer.buffer(new JsonObject().put("n", "d".repeat(80)).encode())).await(), 201);
    assertThat(expect(files.api.request(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/"
            + doc.getString("id"), editor.getString("token"))
        .putHeader("Content-Type", "application/merge-patch+json")
        .sendBuffer(io.vertx.core.buffer.Buffer.buffer(new JsonObject().put("m", "e".repeat(80)).encode())).await(), 507)
        .getString("code")).as("a second version of the document would pass the quota").isEqualTo("quota_exceeded");
    // The editor's own space is theirs to fill.
    String editorSpace = files.space(editor.getString("token"), "Mine", null).getString("id");
    commit(FilesFixture.commit(editor.getString("id"), editorSpace, chunk).put("name", "two"));

    String roomy = files.space(owner.getString("token"), "Folders", null).getString("id");
    for (int i = 0; i < FOLDER_LIMIT; i++) {
      files.folder(owner.getString("token"), roomy, null, "f" + i);
    }
    assertThat(expect(files.send(HttpMethod.POST, "/api/v1/spaces/" + roomy + "/nodes", owner.getString("token"),
        new JsonObject().put("name", "one too many")), 507).getString("code")).isEqualTo("folder_full");
    assertThat(failure(FilesFixture.commit(owner.getString("id"), roomy, "x").put("name", "file"))).isEqualTo("folder_full");
  }

  @Test
  @DisplayName("an entry goes only into a live folder, under a free name, with room left; replacing one needs no room")
  void placement() {
    JsonObject owner = files.user("placer");
    String token = owner.getString("token");
    String actor = owner.getString("id");
    String space = files.space(token, "Placement", null).getString("id");
    String nodes = "/api/v1/spaces/" + space + "/nodes";
    String full = files.folder(token, space, null, "full").getString("id");
    String roomy = files.folder(token, space, null, "roomy").getString("id");
    files.folder(token, space, full, "sub");
    files.folder(token, space, full, "other");
    files.commitFile(actor, space, full, "taken.txt", FilesFixture.unique("t"));
    expect(putDocument(token, space, "full/doc.json", "{}"), 201);
    files.commitFile(actor, space, roomy, "taken.txt", FilesFixture.unique("r"));
    String loose = files.commitFile(actor, space, null, "loose.txt", FilesFixture.unique("l")).getString("id");
    String gone = files.folder(token, space, null, "gone").getString("id");
    expect(files.send(HttpMethod.DELETE, nodes + "/" + gone, token, null), 204);
    long before = files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space);
    String unknown = UUID.randomUUID().toString();

    record Case(String what, Supplier<JsonObject> outcome, String code, String message) {
    }
    List<Case> cases = List.of(
        new Case("folder in an unknown folder", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "x").put("parent_id", unknown)), "not_found", "No such folder"),
        new Case("folder in a folder that is no id", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "x").put("parent_id", "nope")), "not_found", "No such folder"),
        new Case("folder in a file", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "x").put("parent_id", loose)), "not_found", "No such folder"),
        new Case("folder in a trashed folder", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "x").put("parent_id", gone)), "not_found", "No such folder"),
        new Case("folder of a taken name in a full folder", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "TAKEN.txt").put("parent_id", full)), "name_taken",
            "A file named 'taken.txt' exists here"),
        new Case("folder in a full folder", () -> http(HttpMethod.POST, nodes, token,
            new JsonObject().put("name", "new").put("parent_id", full)), "folder_full", null),
        new Case("move into an unknown folder", () -> http(HttpMethod.PATCH, nodes + "/" + loose, token,
            new JsonObject().put("parent_id", unknown)), "not_found", "No such folder"),
        new Case("move into a full folder", () -> http(HttpMethod.PATCH, nodes + "/" + loose, token,
            new JsonObject().put("parent_id", full)), "folder_full", null),
        new Case("move to a taken name in a full folder", () -> http(HttpMethod.PATCH, nodes + "/" + loose, token,
            new JsonObject().put("parent_id", full).put("name", "taken.txt")), "folder_full", null),
        new Case("move to a taken name", () -> http(HttpMethod.PATCH, nodes + "/" + loose, token,
            new JsonObject().put("parent_id", roomy).put("name", "TAKEN.TXT")), "name_taken",
            "A file named 'taken.txt' exists there"),
        new Case("commit into an unknown folder", () -> bus(FilesFixture.commit(actor, space, "x")
            .put("parent_id", unknown).put("name", "x")), "not_found", "No such folder"),
        new Case("commit over a folder in a full folder", () -> bus(FilesFixture.commit(actor, space, "x")
            .put("parent_id", full).put("name", "SUB")), "name_taken", "A folder named 'sub' exists here"),
        new Case("commit of a new file into a full folder", () -> bus(FilesFixture.commit(actor, space, "x")
            .put("parent_id", full).put("name", "new.txt")), "folder_full", null),
        new Case("commit by path into a full folder", () -> bus(FilesFixture.commit(actor, space, "x")
            .put("path", "full/new.txt")), "folder_full", null),
        new Case("new document in a full folder", () -> answer(putDocument(token, space, "full/new.json", "{}")),
            "folder_full", null),
        new Case("document over a file", () -> answer(putDocument(token, space, "full/taken.txt", "{}")),
            "name_taken", "A file named 'taken.txt' exists here"));
    for (Case each : cases) {
      JsonObject outcome = each.outcome().get();
      assertThat(outcome.getString("code")).as(each.what()).isEqualTo(each.code());
      if (each.message() != null) {
        assertThat(outcome.getString("message")).as(each.what()).isEqualTo(each.message());
      }
    }
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isEqualTo(before);

    // Replacing what is there adds no entry, so a full folder takes it.
    assertThat(commit(FilesFixture.commit(actor, space, FilesFixture.unique("v2")).put("parent_id", full)
        .put("name", "taken.txt")).getLong("version")).isEqualTo(2);
    assertThat(commit(FilesFixture.commit(actor, space, FilesFixture.unique("v3")).put("path", "full/taken.txt"))
        .getLong("version")).isEqualTo(3);
    expect(putDocument(token, space, "full/doc.json", "{\"a\":1}"), 200);
    // And the top level has room.
    expect(files.send(HttpMethod.POST, nodes, token, new JsonObject().put("name", "fine")), 201);
  }

  private static HttpResponse<Buffer> putDocument(String token, String space, String path, String body) {
    return files.api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/docs/" + path, token)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(body)).await();
  }

  /** The error body of a refused HTTP call, or {"code": "ok"}. */
  private static JsonObject http(HttpMethod method, String path, String token, JsonObject body) {
    return answer(files.send(method, path, token, body));
  }

  private static JsonObject answer(HttpResponse<Buffer> response) {
    return response.statusCode() < 300 ? new JsonObject().put("code", "ok") : response.bodyAsJsonObject();
  }

  /** A refused commit as the HTTP error body shows it: code and message. */
  private static JsonObject bus(JsonObject request) {
    var failure = files.busFailure(Addresses.METADATA_COMMIT, request);
    return new JsonObject().put("code", failure.code().code()).put("message", failure.getMessage());
  }

  @Test
  @DisplayName("delta-sync commits may reference only chunks the actor uploaded or can already read")
  void chunkAccess() {
    JsonObject alice = files.user("alice");
    JsonObject mallory = files.user("mallory");
    String aliceSpace = files.space(alice.getString("token"), "Alice", null).getString("id");
    String mallorySpace = files.space(mallory.getString("token"), "Mallory", null).getString("id");
    String secret = FilesFixture.unique("alice's secret");
    commit(FilesFixture.commit(alice.getString("id"), aliceSpace, secret).put("name", "secret.txt"));
    String hash = FilesFixture.sha256(secret);

    JsonObject missing = files.bus(Addresses.METADATA_MISSING_CHUNKS,
        new JsonObject().put("actor", mallory.getString("id")).put("hashes", new JsonArray().add(hash)));
    assertThat(missing.getJsonArray("missing").getList()).as("knowing a hash grants nothing").containsExactly(hash);
    assertThat(files.bus(Addresses.METADATA_MISSING_CHUNKS, new JsonObject().put("actor", alice.getString("id"))
        .put("hashes", new JsonArray().add(hash))).getJsonArray("missing")).isEmpty();

    var refused = files.busFailure(Addresses.METADATA_COMMIT, FilesFixture.commit(mallory.getString("id"), mallorySpace, secret)
        .put("name", "stolen.txt").put("check_chunk_access", true));
    assertThat(refused.code().code()).isEqualTo("forbidden");
    assertThat(refused.getMessage()).doesNotContain(hash).doesNotContain(aliceSpace);

    files.bus(Addresses.METADATA_GRANT_CHUNKS, new JsonObject().put("actor", mallory.getString("id"))
        .put("hashes", new JsonArray().add(hash)));
    JsonObject uploaded = commit(FilesFixture.commit(mallory.getString("id"), mallorySpace, secret)
        .put("name", "uploaded.txt").put("check_chunk_access", true));
    assertThat(uploaded.getString("sha256")).isEqualTo(hash);

    String fresh = FilesFixture.unique("fresh");
    assertThat(failure(FilesFixture.commit(alice.getString("id"), aliceSpace, secret, fresh).put("name", "both")
        .put("check_chunk_access", true))).isEqualTo("forbidden");
    files.bus(Addresses.METADATA_GRANT_CHUNKS, new JsonObject().put("actor", alice.getString("id"))
        .put("hashes", new JsonArray().add(FilesFixture.sha256(fresh))));
    commit(FilesFixture.commit(alice.getString("id"), aliceSpace, secret, fresh).put("name", "both").put("check_chunk_access", true));
    assertThat(failure(FilesFixture.commit(alice.getString("id"), aliceSpace, "x").put("name", "n")
        .put("chunks", new JsonArray().add("not-a-hash")))).isEqualTo("validation_failed");
  }

  @Test
  @DisplayName("a commit from someone who may not write is refused for that, before anything its chunks would earn")
  void refusedWriters() {
    JsonObject owner = files.user("owner");
    JsonObject viewer = files.user("viewer");
    JsonObject stranger = files.user("stranger");
    String space = files.space(owner.getString("token"), "Guarded", null).getString("id");
    files.share(owner.getString("token"), space, viewer.getString("id"), "viewer");
    String unknown = FilesFixture.unique("nobody uploaded this");

    for (boolean checkChunks : new boolean[] {false, true}) {
      var notFound = files.busFailure(Addresses.METADATA_COMMIT, FilesFixture.commit(stranger.getString("id"), space, unknown)
          .put("name", "x.txt").put("check_chunk_access", checkChunks));
      assertThat(notFound.code().code()).isEqualTo("not_found");
      assertThat(notFound.getMessage()).isEqualTo("No such space");
      var forbidden = files.busFailure(Addresses.METADATA_COMMIT, FilesFixture.commit(viewer.getString("id"), space, unknown)
          .put("name", "x.txt").put("check_chunk_access", checkChunks));
      assertThat(forbidden.code().code()).isEqualTo("forbidden");
      assertThat(forbidden.getMessage()).isEqualTo("Your role in this space (viewer) does not allow this");
    }
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isZero();
  }

  @Test
  @DisplayName("the change log is gap-free across every kind of operation, and a rolled-back one leaves no hole")
  void gapFreeLog() {
    JsonObject user = files.user("log");
    String token = user.getString("token");
    String actor = user.getString("id");
    JsonObject friend = files.user("friend");
    String space = files.space(token, "Log", null).getString("id");
    String nodes = "/api/v1/spaces/" + space + "/nodes/";

    JsonObject folder = files.folder(token, space, null, "folder");
    JsonObject file = commit(FilesFixture.commit(actor, space, FilesFixture.unique("c")).put("name", "file"));
    // Fails after making the folders of its path: quota. Those folders and their changes roll back.
    assertThat(failure(FilesFixture.commit(actor, space, "z".repeat(1400), "z".repeat(700)).put("path", "new/deeper/big")))
        .isEqualTo("payload_too_large");
    String bigChunk = "y".repeat(1400);
    commit(FilesFixture.commit(actor, space, bigChunk).put("name", "big"));
    assertThat(failure(FilesFixture.commit(actor, space, bigChunk + "+").put("path", "new/deeper/big"))).isEqualTo("quota_exceeded");
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid AND name = 'new'", space)).isZero();
    expect(files.send(HttpMethod.PATCH, nodes + folder.getString("id"), token, new JsonObject().put("name", "file")), 409);

    expect(files.send(HttpMethod.PATCH, nodes + file.getString("id"), token, new JsonObject().put("name", "renamed")), 200);
    expect(files.send(HttpMethod.PATCH, nodes + file.getString("id"), token, new JsonObject().put("parent_id", folder.getString("id"))), 200);
    expect(files.send(HttpMethod.DELETE, nodes + file.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.POST, nodes + file.getString("id") + "/restore", token, new JsonObject()), 200);
    files.share(token, space, friend.getString("id"), "viewer");
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/members/" + friend.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.DELETE, nodes + file.getString("id") + "?purge=true", token, null), 204);

    JsonArray changes = files.changes(token, space);
    assertThat(changes).extracting(c -> ((JsonObject) c).getString("kind")).containsExactly(
        "created", "created", "created", "renamed", "moved", "deleted", "restored", "shared", "unshared", "purged");
    assertThat(FilesFixture.seqs(changes)).isEqualTo(LongStream.rangeClosed(1, 10).boxed().toList());
    assertThat(changes.getJsonObject(9).getString("node_id")).isEqualTo(file.getString("id"));
    assertThat(changes.getJsonObject(0).getString("actor")).isEqualTo(actor);
  }

  @Test
  @DisplayName("the retention job purges expired trash and collects the chunks no version references any more")
  void retention() {
    JsonObject user = files.user("retention");
    String token = user.getString("token");
    String actor = user.getString("id");
    String space = files.space(token, "Retention", null).getString("id");
    String only = FilesFixture.unique("only here");
    String kept = FilesFixture.unique("kept");
    JsonObject doomed = commit(FilesFixture.commit(actor, space, only, kept).put("name", "doomed"));
    commit(FilesFixture.commit(actor, space, kept).put("name", "survivor"));
    JsonObject folder = files.folder(token, space, null, "folder");
    commit(FilesFixture.commit(actor, space, FilesFixture.unique("inside")).put("parent_id", folder.getString("id")).put("name", "in"));

    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + doomed.getString("id"), token, null), 204);
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + folder.getString("id"), token, null), 204);
    assertThat(files.count("SELECT count(*) FROM chunks WHERE hash = $1", FilesFixture.sha256(only))).isEqualTo(1);

    JsonObject run = files.bus(Addresses.METADATA_PURGE_EXPIRED, new JsonObject());
    assertThat(run.getInteger("purged")).isGreaterThanOrEqualTo(2);
    assertThat(run.getInteger("chunks_deleted")).isGreaterThanOrEqualTo(2);
    assertThat(files.count("SELECT count(*) FROM chunks WHERE hash = $1", FilesFixture.sha256(only))).isZero();
    assertThat(files.count("SELECT count(*) FROM chunks WHERE hash = $1", FilesFixture.sha256(kept)))
        .as("still referenced by the survivor").isEqualTo(1);
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isEqualTo(1);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + doomed.getString("id"), token, null), 404);
    JsonArray changes = files.changes(token, space);
    assertThat(changes).extracting(c -> ((JsonObject) c).getString("kind")).endsWith("purged", "purged");
    assertThat(changes.getJsonObject(changes.size() - 1).getString("actor")).as("the job, not a user").isNull();
    assertThat(List.of(files.bus(Addresses.METADATA_PURGE_EXPIRED, new JsonObject()).getInteger("purged"))).containsExactly(0);
  }

  @Test
  @DisplayName("collected chunks are deleted from the store through the deleter the verticle is given")
  void deleterReceivesCollectedChunks() {
    JsonObject user = files.user("deleter");
    String space = files.space(user.getString("token"), "Deleter", null).getString("id");
    String text = FilesFixture.unique("to the store's bin");
    JsonObject file = commit(FilesFixture.commit(user.getString("id"), space, text).put("name", "bin"));
    expect(files.send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/nodes/" + file.getString("id"), user.getString("token"),
        null), 204);

    List<String> deleted = new java.util.concurrent.CopyOnWriteArrayList<>();
    Trash trash = new Trash(files.db, new ChangeLog(files.vertx, files.db), 0, hash -> {
      deleted.add(hash);
      return io.vertx.core.Future.succeededFuture();
    });
    trash.purgeExpired().await();
    assertThat(deleted).contains(FilesFixture.sha256(text));
    assertThat(files.count("SELECT count(*) FROM chunks WHERE hash = $1", FilesFixture.sha256(text))).isZero();
  }

  @Test
  @DisplayName("refuses a commit whose reused chunks were collected during the upload, and accepts them while stored")
  void reusedChunksMustStillExist() {
    JsonObject user = files.user("reuse");
    String space = files.space(user.getString("token"), "Reuse", null).getString("id");
    String stored = "bytes the store still holds";
    io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer> put = files.api.request(
            io.vertx.core.http.HttpMethod.PUT, "/api/v1/chunks/" + FilesFixture.sha256(stored), user.getString("token"))
        .sendBuffer(io.vertx.core.buffer.Buffer.buffer(stored)).await();
    assertThat(put.statusCode()).isEqualTo(201);

    JsonObject kept = FilesFixture.commit(user.getString("id"), space, stored).put("name", "kept.txt")
        .put("reused", new io.vertx.core.json.JsonArray().add(FilesFixture.sha256(stored)));
    assertThat(files.bus(Addresses.METADATA_COMMIT, kept).getString("name")).isEqualTo("kept.txt");

    String collected = "bytes the collector already removed";
    JsonObject gone = FilesFixture.commit(user.getString("id"), space, collected).put("name", "gone.txt")
        .put("reused", new io.vertx.core.json.JsonArray().add(FilesFixture.sha256(collected)));
    assertThat(files.busFailure(Addresses.METADATA_COMMIT, gone).code())
        .isEqualTo(io.cloudsync.errors.ErrorCode.CONFLICT);
  }

  @Test
  @DisplayName("a write on a space may use cached plans, while the pool's other work plans each run for its parameters")
  void writesUseCachedPlans() {
    JsonObject user = files.user("planner");
    String space = files.space(user.getString("token"), "Plans", null).getString("id");
    Pool pool = Database.pool(files.vertx, PgConnectOptions.fromUri(files.dbUrl), 1, "commits-test");
    try {
      ChangeLog log = new ChangeLog(files.vertx, pool);
      String inWrite = log.write(space, user.getString("id"), Access.Action.WRITE,
          (tx, locked) -> tx.conn().query("SHOW plan_cache_mode").execute()
              .map(rows -> rows.iterator().next().getString(0))).await();
      assertThat(inWrite).isEqualTo("auto");
      // The pool has one connection: the write's setting ended with its transaction.
      assertThat(pool.query("SHOW plan_cache_mode").execute().await().iterator().next().getString(0))
          .isEqualTo("force_custom_plan");
    } finally {
      pool.close().await();
    }
  }
}
