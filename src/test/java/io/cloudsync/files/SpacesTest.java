package io.cloudsync.files;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Spaces and sharing over HTTP")
@ExtendWith(RealServers.class)
class SpacesTest {
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject());
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  @Test
  @DisplayName("a user creates, lists, reads, renames and deletes their space")
  void crud() {
    String token = files.user("crud").getString("token");
    JsonObject space = files.space(token, "Holiday photos", null);
    assertThat(space.getString("role")).isEqualTo("owner");
    assertThat(space.getString("conflict_policy")).isEqualTo("manual");
    String path = "/api/v1/spaces/" + space.getString("id");

    JsonArray mine = expect(files.send(HttpMethod.GET, "/api/v1/spaces", token, null), 200).getJsonArray("spaces");
    assertThat(mine).extracting(s -> ((JsonObject) s).getString("id")).containsExactly(space.getString("id"));
    assertThat(expect(files.send(HttpMethod.GET, path, token, null), 200).getString("name")).isEqualTo("Holiday photos");
    assertThat(space.getLong("head")).as("a new space has no changes yet").isZero();
    files.folder(token, space.getString("id"), null, "Rome");
    files.folder(token, space.getString("id"), null, "Oslo");
    long head = expect(files.send(HttpMethod.GET, path, token, null), 200).getLong("head");
    assertThat(head).isEqualTo(expect(files.send(HttpMethod.GET, path + "/changes?cursor=0", token, null), 200)
        .getLong("cursor")).isEqualTo(2);

    JsonObject renamed = expect(files.send(HttpMethod.PATCH, path, token,
        new JsonObject().put("name", "Trips").put("conflict_policy", "last_writer_wins")), 200);
    assertThat(renamed.getString("name")).isEqualTo("Trips");
    assertThat(renamed.getString("conflict_policy")).isEqualTo("last_writer_wins");
    assertThat(expect(files.send(HttpMethod.PATCH, path, token, new JsonObject().put("conflict_policy", "whatever")), 400)
        .getString("code")).isEqualTo("validation_failed");
    assertThat(expect(files.send(HttpMethod.POST, "/api/v1/spaces", token, new JsonObject().put("name", " ")), 400)
        .getString("code")).isEqualTo("invalid_name");

    expect(files.send(HttpMethod.DELETE, path, token, null), 204);
    assertThat(expect(files.send(HttpMethod.GET, path, token, null), 404).getString("code")).isEqualTo("not_found");
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces", token, null), 200).getJsonArray("spaces")).isEmpty();
  }

  @Test
  @DisplayName("the owner shares by id and by email, changes roles, unshares; members may leave; the last owner stays")
  void sharing() {
    JsonObject owner = files.user("owner");
    JsonObject editor = files.user("editor");
    JsonObject viewer = files.user("viewer");
    String space = files.space(owner.getString("token"), "Team", null).getString("id");
    String members = "/api/v1/spaces/" + space + "/members";

    files.share(owner.getString("token"), space, editor.getString("id"), "editor");
    JsonObject byEmail = expect(files.send(HttpMethod.POST, members, owner.getString("token"),
        new JsonObject().put("email", viewer.getString("email").toUpperCase()).put("role", "viewer")), 200);
    assertThat(byEmail.getString("user_id")).isEqualTo(viewer.getString("id"));

    JsonArray list = expect(files.send(HttpMethod.GET, members, viewer.getString("token"), null), 200).getJsonArray("members");
    assertThat(list).extracting(m -> ((JsonObject) m).getString("role")).containsExactly("owner", "editor", "viewer");
    assertThat(expect(files.send(HttpMethod.GET, "/api/v1/spaces", editor.getString("token"), null), 200)
        .getJsonArray("spaces").getJsonObject(0).getString("role")).isEqualTo("editor");

    // Unknown users and roles, and sharing by someone who is not an owner.
    assertThat(expect(files.send(HttpMethod.PUT, members + "/" + java.util.UUID.randomUUID(), owner.getString("token"),
        new JsonObject().put("role", "viewer")), 404).getString("code")).isEqualTo("not_found");
    expect(files.send(HttpMethod.POST, members, owner.getString("token"),
        new JsonObject().put("email", "nobody-here@example.com").put("role", "viewer")), 404);
    expect(files.send(HttpMethod.PUT, members + "/" + editor.getString("id"), owner.getString("token"),
        new JsonObject().put("role", "admin")), 400);
    expect(files.send(HttpMethod.PUT, members + "/" + viewer.getString("id"), editor.getString("token"),
        new JsonObject().put("role", "editor")), 403);

    // The last owner can neither be demoted nor leave; with a second owner they can.
    assertThat(expect(files.send(HttpMethod.PUT, members + "/" + owner.getString("id"), owner.getString("token"),
        new JsonObject().put("role", "editor")), 409).getString("code")).isEqualTo("conflict");
    expect(files.send(HttpMethod.DELETE, members + "/" + owner.getString("id"), owner.getString("token"), null), 409);

    expect(files.send(HttpMethod.DELETE, members + "/" + viewer.getString("id"), viewer.getString("token"), null), 204);
    expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space, viewer.getString("token"), null), 404);
    expect(files.send(HttpMethod.DELETE, members + "/" + viewer.getString("id"), owner.getString("token"), null), 404);

    files.share(owner.getString("token"), space, editor.getString("id"), "owner");
    expect(files.send(HttpMethod.DELETE, members + "/" + owner.getString("id"), owner.getString("token"), null), 204);
    JsonObject after = expect(files.send(HttpMethod.GET, "/api/v1/spaces/" + space, editor.getString("token"), null), 200);
    assertThat(after.getString("owner_id")).as("the remaining owner becomes the owner of record").isEqualTo(editor.getString("id"));

    JsonArray changes = files.changes(editor.getString("token"), space);
    assertThat(changes).extracting(c -> ((JsonObject) c).getString("kind"))
        .containsExactly("shared", "shared", "unshared", "shared", "unshared");
    assertThat(changes.getJsonObject(0).getJsonObject("member").getString("user_id")).isEqualTo(editor.getString("id"));
    assertThat(FilesFixture.seqs(changes)).containsExactly(1L, 2L, 3L, 4L, 5L);
  }

  @Test
  @DisplayName("someone who is not a member gets 404 on every space endpoint, and a viewer 403 on every write")
  void strangersAndViewers() {
    JsonObject owner = files.user("owner");
    JsonObject viewer = files.user("viewer");
    String stranger = files.user("stranger").getString("token");
    String space = files.space(owner.getString("token"), "Private", null).getString("id");
    files.share(owner.getString("token"), space, viewer.getString("id"), "viewer");
    String folder = files.folder(owner.getString("token"), space, null, "Docs").getString("id");
    String s = "/api/v1/spaces/" + space;
    String n = s + "/nodes/" + folder;
    JsonObject empty = new JsonObject();

    record Call(HttpMethod method, String path, JsonObject body, boolean write) {
    }
    List<Call> calls = List.of(
        new Call(HttpMethod.GET, s, null, false),
        new Call(HttpMethod.PATCH, s, new JsonObject().put("name", "x"), true),
        new Call(HttpMethod.DELETE, s, null, true),
        new Call(HttpMethod.GET, s + "/members", null, false),
        new Call(HttpMethod.POST, s + "/members", new JsonObject().put("email", "a@example.com").put("role", "viewer"), true),
        new Call(HttpMethod.PUT, s + "/members/" + owner.getString("id"), new JsonObject().put("role", "viewer"), true),
        new Call(HttpMethod.DELETE, s + "/members/" + owner.getString("id"), null, true),
        new Call(HttpMethod.GET, s + "/changes", null, false),
        new Call(HttpMethod.GET, s + "/nodes", null, false),
        new Call(HttpMethod.POST, s + "/nodes", new JsonObject().put("name", "new"), true),
        new Call(HttpMethod.GET, n, null, false),
        new Call(HttpMethod.PATCH, n, new JsonObject().put("name", "renamed"), true),
        new Call(HttpMethod.DELETE, n, null, true),
        new Call(HttpMethod.POST, n + "/restore", empty, true),
        new Call(HttpMethod.POST, n + "/copy", empty, true),
        new Call(HttpMethod.GET, n + "/versions", null, false),
        new Call(HttpMethod.POST, n + "/versions/1/restore", empty, true),
        new Call(HttpMethod.GET, s + "/trash", null, false),
        new Call(HttpMethod.GET, "/api/v1/search?q=Docs&space=" + space, null, false));
    for (Call call : calls) {
      JsonObject answer = expect(files.send(call.method(), call.path(), stranger, call.body()), 404);
      assertThat(answer.getString("code")).as(call.method() + " " + call.path()).isEqualTo("not_found");
      assertThat(answer.getString("message")).as(call.method() + " " + call.path()).isEqualTo("No such space");
      if (call.write()) {
        JsonObject refused = expect(files.send(call.method(), call.path(), viewer.getString("token"), call.body()), 403);
        assertThat(refused.getString("code")).as("viewer " + call.method() + " " + call.path()).isEqualTo("forbidden");
        assertThat(refused.getString("message")).as("viewer " + call.method() + " " + call.path())
            .isEqualTo("Your role in this space (viewer) does not allow this");
      } else {
        expect(files.send(call.method(), call.path(), viewer.getString("token"), call.body()), 200);
      }
    }
    assertThat(expect(files.send(HttpMethod.GET, s, null, null), 401).getString("code")).isEqualTo("unauthorized");
    // Nothing changed on the way: the folder still exists under its name.
    assertThat(expect(files.send(HttpMethod.GET, n, owner.getString("token"), null), 200).getString("name")).isEqualTo("Docs");
  }

  @Test
  @DisplayName("a write that waits for the space while its author is removed is refused; a stranger's does not wait")
  void removedWhileWaiting() throws Exception {
    JsonObject owner = files.user("owner");
    JsonObject editor = files.user("editor");
    String space = files.space(owner.getString("token"), "Race", null).getString("id");
    files.share(owner.getString("token"), space, editor.getString("id"), "editor");
    long changes = files.changes(owner.getString("token"), space).size();

    // Another writer holds the space and removes the editor, as an unshare does.
    SqlConnection holder = files.db.getConnection().await();
    Transaction unshare = holder.begin().await();
    Tuple ids = Tuple.of(space, editor.getString("id"));
    holder.preparedQuery("SELECT 1 FROM spaces WHERE id = $1::uuid FOR UPDATE").execute(Tuple.of(space)).await();
    holder.preparedQuery("DELETE FROM space_members WHERE space_id = $1::uuid AND user_id = $2::uuid").execute(ids).await();
    holder.preparedQuery("UPDATE spaces SET next_seq = next_seq WHERE id = $1::uuid").execute(Tuple.of(space)).await();

    Future<HttpResponse<Buffer>> write = files.api.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes",
        editor.getString("token")).sendJsonObject(new JsonObject().put("name", "late"));
    awaitLockWaiter(space);
    String stranger = files.user("stranger").getString("token");
    HttpResponse<Buffer> strangers = files.api.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", stranger)
        .sendJsonObject(new JsonObject().put("name", "nosy")).await(5, TimeUnit.SECONDS);
    assertThat(expect(strangers, 404).getString("message")).isEqualTo("No such space");
    unshare.commit().await();
    holder.close().await();

    JsonObject refused = expect(write.await(), 404);
    assertThat(refused.getString("message")).isEqualTo("No such space");
    assertThat(files.count("SELECT count(*) FROM nodes WHERE space_id = $1::uuid", space)).isZero();
    assertThat(files.changes(owner.getString("token"), space)).hasSize((int) changes);
  }

  /** Waits until a session waits for a row lock, which here is the write waiting for the space. */
  private static void awaitLockWaiter(String space) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (files.count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND wait_event_type = 'Lock' AND query LIKE '%FROM spaces%FOR UPDATE%'") == 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("the write never waited for space " + space);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
