package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Sign-in sessions")
@ExtendWith(RealServers.class)
class SessionsTest {
  private static Vertx vertx;
  private static CloudSyncHandle handle;
  private static Api api;
  private static Pool db;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    JsonObject config = TestCloudSync.config(servers);
    handle = TestCloudSync.deploy(vertx, config);
    api = new Api(vertx, handle.httpPort());
    db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(config.getString("pg.url"))).using(vertx).build();
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> refresh(String token) {
    return api.post("/api/v1/auth/refresh", new JsonObject().put("refresh_token", token));
  }

  @Test
  @DisplayName("rotate the refresh token on every use: the new pair works and the old refresh token is dead")
  void rotation() {
    api.signup("rot@example.com", Api.PASSWORD);
    JsonObject first = api.signIn("rot@example.com", Api.PASSWORD);
    HttpResponse<Buffer> second = refresh(first.getString("refresh_token"));
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(second.getHeader("Cache-Control")).isEqualTo("no-store");
    JsonObject pair = second.bodyAsJsonObject();
    assertThat(pair.getString("refresh_token")).isNotEqualTo(first.getString("refresh_token"));
    assertThat(api.get("/api/v1/me", pair.getString("access_token")).statusCode()).isEqualTo(200);

    HttpResponse<Buffer> again = refresh(first.getString("refresh_token"));
    assertThat(again.statusCode()).isEqualTo(401);
    assertThat(again.bodyAsJsonObject().getString("code")).isEqualTo("invalid_token");
    assertThat(refresh("made-up-token").statusCode()).isEqualTo(401);
    assertThat(api.post("/api/v1/auth/refresh", new JsonObject()).statusCode()).isEqualTo(401);
  }

  @Test
  @DisplayName("revoke the whole family when a rotated refresh token comes back later: the thief and the owner are both out")
  void reuseRevokesFamily() {
    api.signup("reuse@example.com", Api.PASSWORD);
    JsonObject first = api.signIn("reuse@example.com", Api.PASSWORD);
    JsonObject second = refresh(first.getString("refresh_token")).bodyAsJsonObject();
    // As if the stolen token came back a minute after the owner had rotated it.
    db.preparedQuery("UPDATE refresh_tokens SET used_at = now() - interval '1 minute' WHERE used_at IS NOT NULL")
        .execute().await();

    HttpResponse<Buffer> stolen = refresh(first.getString("refresh_token"));
    assertThat(stolen.statusCode()).isEqualTo(401);
    assertThat(stolen.bodyAsJsonObject().getString("message")).contains("revoked");

    assertThat(refresh(second.getString("refresh_token")).statusCode()).isEqualTo(401);
    assertThat(api.get("/api/v1/me", second.getString("access_token")).statusCode()).isEqualTo(401);
    assertThat(api.signIn("reuse@example.com", Api.PASSWORD).getString("access_token")).isNotBlank();
  }

  @Test
  @DisplayName("let exactly one of two concurrent refreshes win without revoking the sign-in")
  void concurrentRefresh() {
    api.signup("race@example.com", Api.PASSWORD);
    String token = api.signIn("race@example.com", Api.PASSWORD).getString("refresh_token");
    JsonObject body = new JsonObject().put("refresh_token", token);
    List<HttpResponse<Buffer>> answers = Future.all(
            api.request(HttpMethod.POST, "/api/v1/auth/refresh", null).sendJsonObject(body),
            api.request(HttpMethod.POST, "/api/v1/auth/refresh", null).sendJsonObject(body))
        .await().list();
    List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).sorted().toList();
    assertThat(statuses).containsExactly(200, 401);

    JsonObject winner = answers.stream().filter(a -> a.statusCode() == 200).findFirst().orElseThrow().bodyAsJsonObject();
    assertThat(api.get("/api/v1/me", winner.getString("access_token")).statusCode()).isEqualTo(200);
    assertThat(refresh(winner.getString("refresh_token")).statusCode()).isEqualTo(200);
  }

  @Test
  @DisplayName("log out: the access token and its refresh family stop working at once, other sign-ins do not")
  void logout() {
    api.signup("bye@example.com", Api.PASSWORD);
    JsonObject session = api.signIn("bye@example.com", Api.PASSWORD);
    JsonObject other = api.signIn("bye@example.com", Api.PASSWORD);

    assertThat(api.post("/api/v1/auth/logout", session.getString("access_token"), null).statusCode()).isEqualTo(204);

    assertThat(api.get("/api/v1/me", session.getString("access_token")).statusCode()).isEqualTo(401);
    assertThat(refresh(session.getString("refresh_token")).statusCode()).isEqualTo(401);
    assertThat(api.get("/api/v1/me", other.getString("access_token")).statusCode()).isEqualTo(200);
    assertThat(api.post("/api/v1/auth/logout", null, null).statusCode()).isEqualTo(401);
  }

  @Test
  @DisplayName("store refresh tokens only as hashes")
  void hashedAtRest() {
    api.signup("hash@example.com", Api.PASSWORD);
    String token = api.signIn("hash@example.com", Api.PASSWORD).getString("refresh_token");
    long plain = db.preparedQuery("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1")
        .execute(Tuple.of(token)).await().iterator().next().getLong(0);
    long hashed = db.preparedQuery("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1")
        .execute(Tuple.of(Secrets.sha256Hex(token))).await().iterator().next().getLong(0);
    assertThat(plain).isZero();
    assertThat(hashed).isEqualTo(1);
  }
}
