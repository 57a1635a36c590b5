package io.cloudsync.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.auth.Totp;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Audit")
@ExtendWith(RealServers.class)
class AuditTest {
  private Vertx vertx;
  private CloudSyncHandle handle;
  private Api api;
  private String databaseUrl;

  @BeforeEach
  void start(Servers servers) {
    vertx = Vertx.vertx();
    JsonObject config = TestCloudSync.config(servers).put("webhooks.allowlist", "127.0.0.1");
    databaseUrl = config.getString("pg.url");
    handle = TestCloudSync.deploy(vertx, config);
    api = new Api(vertx, handle.httpPort());
  }

  @AfterEach
  void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body) {
    HttpRequest<Buffer> request = api.request(method, path, token);
    return body == null ? request.send().await() : request.sendJsonObject(body).await();
  }

  private JsonObject expect(HttpResponse<Buffer> response, int status) {
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
    return response.body() == null || response.body().length() == 0 ? null : response.bodyAsJsonObject();
  }

  private String error(HttpResponse<Buffer> response, int status) {
    return expect(response, status).getString("code");
  }

  private static String encoded(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8);
  }

  private List<JsonObject> entries(String path, String token) {
    JsonArray entries = expect(send(HttpMethod.GET, path, token, null), 200).getJsonArray("entries");
    List<JsonObject> out = new ArrayList<>();
    entries.forEach(e -> out.add((JsonObject) e));
    return out;
  }

  @Test
  @DisplayName("a space's audit is its change log, newest first, filtered by actor, kind and time, paged; members only")
  void spaceAudit() {
    String owner = api.newUser("owner-" + UUID.randomUUID() + "@example.com");
    String editorEmail = "editor-" + UUID.randomUUID() + "@example.com";
    String editor = api.newUser(editorEmail);
    String stranger = api.newUser("stranger-" + UUID.randomUUID() + "@example.com");
    String ownerId = expect(send(HttpMethod.GET, "/api/v1/me", owner, null), 200).getString("id");
    String editorId = expect(send(HttpMethod.GET, "/api/v1/me", editor, null), 200).getString("id");
    String space = expect(send(HttpMethod.POST, "/api/v1/spaces", owner, new JsonObject().put("name", "Audited")), 201)
        .getString("id");
    String nodes = "/api/v1/spaces/" + space + "/nodes";
    expect(send(HttpMethod.POST, nodes, owner, new JsonObject().put("name", "a")), 201);
    expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/members", owner,
        new JsonObject().put("email", editorEmail).put("role", "editor")), 200);
    Instant between = Instant.now();
    expect(send(HttpMethod.POST, nodes, editor, new JsonObject().put("name", "b")), 201);
    expect(send(HttpMethod.POST, nodes, editor, new JsonObject().put("name", "c")), 201);
    String audit = "/api/v1/spaces/" + space + "/audit";

    List<JsonObject> all = entries(audit, editor);
    assertThat(all).extracting(e -> e.getString("kind")).containsExactly("created", "created", "shared", "created");
    assertThat(all).extracting(e -> e.getLong("seq")).containsExactly(4L, 3L, 2L, 1L);

    assertThat(entries(audit + "?actor=" + editorId, owner)).extracting(e -> e.getLong("seq")).containsExactly(4L, 3L);
    assertThat(entries(audit + "?actor=" + ownerId + "&kind=created", owner)).extracting(e -> e.getLong("seq"))
        .containsExactly(1L);
    assertThat(entries(audit + "?from=" + encoded(between.toString()), owner)).extracting(e -> e.getLong("seq"))
        .containsExactly(4L, 3L);
    assertThat(entries(audit + "?to=" + encoded(between.toString()), owner)).extracting(e -> e.getLong("seq"))
        .containsExactly(2L, 1L);

    JsonObject first = expect(send(HttpMethod.GET, audit + "?limit=3", owner, null), 200);
    assertThat(first.getJsonArray("entries")).hasSize(3);
    assertThat(first.getBoolean("has_more")).isTrue();
    JsonObject second = expect(send(HttpMethod.GET, audit + "?limit=3&cursor=" + first.getLong("cursor"), owner, null), 200);
    assertThat(second.getJsonArray("entries").getJsonObject(0).getLong("seq")).isEqualTo(1L);
    assertThat(second.getBoolean("has_more")).isFalse();

    assertThat(error(send(HttpMethod.GET, audit, stranger, null), 404)).isEqualTo("not_found");
    assertThat(error(send(HttpMethod.GET, audit + "?kind=exploded", owner, null), 400)).isEqualTo("validation_failed");
    assertThat(error(send(HttpMethod.GET, audit + "?from=yesterday", owner, null), 400)).isEqualTo("validation_failed");
    assertThat(error(send(HttpMethod.GET, audit + "?limit=101", owner, null), 400)).isEqualTo("validation_failed");
    assertThat(error(send(HttpMethod.GET, audit + "?actor=someone", owner, null), 400)).isEqualTo("validation_failed");
  }

  @Test
  @DisplayName("the admin audit records sign-ins, failed sign-ins, MFA, revocations, shares and webhook changes; admins only")
  void adminAudit() {
    String adminEmail = "admin-" + UUID.randomUUID() + "@example.com";
    String admin = api.newUser(adminEmail); // the first account of the installation is an admin
    String userEmail = "user-" + UUID.randomUUID() + "@example.com";
    api.signup(userEmail, Api.PASSWORD);
    JsonObject pair = api.signIn(userEmail, Api.PASSWORD);
    String user = pair.getString("access_token");
    String userId = expect(send(HttpMethod.GET, "/api/v1/me", user, null), 200).getString("id");
    assertThat(api.post("/api/v1/auth/token", new JsonObject().put("email", userEmail).put("password", "wrong password!"))
        .statusCode()).isEqualTo(401);
    assertThat(api.post("/api/v1/auth/token", new JsonObject().put("email", "nobody@example.com").put("password", "x"))
        .statusCode()).isEqualTo(401);

    String secret = expect(send(HttpMethod.POST, "/api/v1/auth/mfa/setup", user, null), 200).getString("secret");
    expect(send(HttpMethod.POST, "/api/v1/auth/mfa/verify", user,
        new JsonObject().put("code", Totp.code(secret, Totp.step(System.currentTimeMillis() / 1000)))), 200);

    String space = expect(send(HttpMethod.POST, "/api/v1/spaces", user, new JsonObject().put("name", "Hooks")), 201)
        .getString("id");
    expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/members", user,
        new JsonObject().put("email", adminEmail).put("role", "viewer")), 200);
    String adminId = expect(send(HttpMethod.GET, "/api/v1/me", admin, null), 200).getString("id");
    expect(send(HttpMethod.DELETE, "/api/v1/spaces/" + space + "/members/" + adminId, user, null), 204);
    String hooks = "/api/v1/spaces/" + space + "/webhooks";
    String hook = expect(send(HttpMethod.POST, hooks, user, new JsonObject().put("url", "http://127.0.0.1:9/hook")), 201)
        .getString("id");
    expect(send(HttpMethod.PATCH, hooks + "/" + hook, user, new JsonObject().put("url", "http://127.0.0.1:9/other")), 200);
    expect(send(HttpMethod.PATCH, hooks + "/" + hook, user, new JsonObject().put("enabled", false)), 200);
    expect(send(HttpMethod.POST, hooks + "/" + hook + "/rotate-secret", user, null), 200);
    expect(send(HttpMethod.DELETE, hooks + "/" + hook, user, null), 204);
    expect(send(HttpMethod.POST, "/api/v1/auth/logout", user, null), 204);

    List<JsonObject> mine = entries("/api/v1/admin/audit?limit=100&actor=" + userId, admin);
    assertThat(mine).extracting(e -> e.getString("kind")).containsExactly(
        "auth.token_revoked", "webhook.deleted", "webhook.secret_rotated", "webhook.disabled", "webhook.updated",
        "webhook.created", "space.unshared", "space.shared", "auth.mfa_enabled", "auth.mfa_setup", "auth.login_failed",
        "auth.login");
    JsonObject login = mine.get(mine.size() - 1);
    assertThat(login.getString("ip")).isEqualTo("127.0.0.1");
    assertThat(login.getJsonObject("details").getString("method")).isEqualTo("password");
    assertThat(mine.get(mine.size() - 2).getJsonObject("details").getString("reason")).isEqualTo("password");
    assertThat(mine.get(0).getJsonObject("details").getString("reason")).isEqualTo("logout");
    assertThat(mine.get(0).getString("ip")).isEqualTo("127.0.0.1");
    assertThat(mine.get(6).getString("target")).isEqualTo(adminId);
    assertThat(mine.get(5).getString("space")).isEqualTo(space);
    assertThat(mine.get(5).getString("target")).isEqualTo(hook);

    List<JsonObject> unknown = entries("/api/v1/admin/audit?kind=auth.login_failed", admin);
    assertThat(unknown).anySatisfy(e -> {
      assertThat(e.getString("actor")).isNull();
      assertThat(e.getJsonObject("details").getString("email")).isEqualTo("nobody@example.com");
    });
    assertThat(entries("/api/v1/admin/audit?space=" + space + "&kind=webhook.created", admin)).hasSize(1);
    JsonObject page = expect(send(HttpMethod.GET, "/api/v1/admin/audit?limit=2&actor=" + userId, admin, null), 200);
    assertThat(page.getBoolean("has_more")).isTrue();
    List<JsonObject> next = entries("/api/v1/admin/audit?limit=2&actor=" + userId + "&cursor=" + page.getLong("cursor"), admin);
    assertThat(next).extracting(e -> e.getString("kind")).containsExactly("webhook.secret_rotated", "webhook.disabled");

    String other = api.newUser("other-" + UUID.randomUUID() + "@example.com");
    assertThat(error(send(HttpMethod.GET, "/api/v1/admin/audit", other, null), 403)).isEqualTo("forbidden");
    assertThat(error(send(HttpMethod.GET, "/api/v1/admin/audit", null, null), 401)).isEqualTo("unauthorized");
  }

  @Test
  @DisplayName("a throttled sign-in is audited once per account and address per throttle window, not per attempt")
  void throttledOnce() {
    String admin = api.newUser("admin-" + UUID.randomUUID() + "@example.com"); // the first account: an admin
    String email = "guessed-" + UUID.randomUUID() + "@example.com";
    api.signup(email, Api.PASSWORD);
    JsonObject wrong = new JsonObject().put("email", email).put("password", "wrong password!");
    for (int i = 0; i < 5; i++) { // LoginThrottle refuses the 6th attempt of an account and address
      assertThat(api.post("/api/v1/auth/token", wrong).statusCode()).isEqualTo(401);
    }
    for (int i = 0; i < 4; i++) {
      assertThat(api.post("/api/v1/auth/token", wrong).statusCode()).isEqualTo(429);
    }
    List<JsonObject> failed = entries("/api/v1/admin/audit?limit=100&kind=auth.login_failed", admin);
    assertThat(failed).filteredOn(e -> e.getJsonObject("details").getString("email").equals(email))
        .extracting(e -> e.getJsonObject("details").getString("reason"))
        .containsExactly("throttled", "password", "password", "password", "password", "password");
  }

  @Test
  @DisplayName("the database refuses to change or delete audit entries")
  void appendOnly() {
    api.newUser("someone-" + UUID.randomUUID() + "@example.com");
    Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(databaseUrl)).using(vertx).build();
    try {
      assertThat(pool.query("SELECT count(*) FROM audit_events").execute().await().iterator().next().getLong(0))
          .isPositive();
      assertThatThrownBy(() -> pool.query("UPDATE audit_events SET kind = 'rewritten'").execute().await())
          .hasMessageContaining("append-only");
      assertThatThrownBy(() -> pool.query("DELETE FROM audit_events").execute().await())
          .hasMessageContaining("append-only");
      assertThatThrownBy(() -> pool.query("TRUNCATE audit_events").execute().await())
          .hasMessageContaining("append-only");
      assertThat(pool.query("SELECT count(*) FROM audit_events WHERE kind = 'auth.login'").execute().await()
          .iterator().next().getLong(0)).isEqualTo(1);
    } finally {
      pool.close().await();
    }
  }
}
