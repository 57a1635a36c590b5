package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Accounts")
@ExtendWith(RealServers.class)
class AccountsTest {
  private static Vertx vertx;
  private static CloudSyncHandle handle;
  private static Api api;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers).put("auth.admin_emails", "boss@example.com"));
    api = new Api(vertx, handle.httpPort());
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
    assertThat(response.bodyAsJsonObject().getString("code")).isEqualTo(code);
  }

  @Test
  @DisplayName("the first account is admin, later ones are users unless listed in auth.admin_emails, and emails are normalized")
  void signupRolesAndNormalization() {
    JsonObject first = api.signup("  First@Example.COM ", Api.PASSWORD);
    assertThat(first.getString("email")).isEqualTo("first@example.com");
    assertThat(first.getString("role")).isEqualTo("admin");
    assertThat(first.getString("display_name")).isEqualTo("first");
    assertThat(first.fieldNames()).doesNotContain("password_hash", "mfa_secret");
    assertThat(api.signup("second@example.com", Api.PASSWORD).getString("role")).isEqualTo("user");
    assertThat(api.signup("boss@example.com", Api.PASSWORD).getString("role")).isEqualTo("admin");

    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "FIRST@example.com")
        .put("password", Api.PASSWORD)), 409, "email_taken");
  }

  @Test
  @DisplayName("refuses short, common and email-equal passwords with 400 weak_password, and bad input with clear codes")
  void weakPasswordsAndBadInput() {
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "w1@example.com").put("password", "short")),
        400, "weak_password");
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "w2@example.com").put("password", "QWERTYUIOP")),
        400, "weak_password");
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "w3@example.com").put("password", "1234567890")),
        400, "weak_password");
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "w4@example.com")
        .put("password", "W4@example.com")), 400, "weak_password");
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", "not-an-email").put("password", Api.PASSWORD)),
        400, "validation_failed");
    assertError(api.post("/api/v1/auth/signup", new JsonObject().put("email", 42).put("password", Api.PASSWORD)),
        400, "validation_failed");
    assertError(api.request(io.vertx.core.http.HttpMethod.POST, "/api/v1/auth/signup", null)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer("{\"email\":")).await(), 400, "invalid_json");
    assertError(api.request(io.vertx.core.http.HttpMethod.POST, "/api/v1/auth/signup", null)
        .putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer("[1,2]")).await(), 400, "invalid_json");
  }

  @Test
  @DisplayName("signs in with the right password, answers 401 invalid_credentials alike for a wrong password and an unknown email")
  void signIn() {
    api.signup("carol@example.com", Api.PASSWORD);
    JsonObject pair = api.signIn("Carol@Example.com", Api.PASSWORD);
    assertThat(pair.getString("token_type")).isEqualTo("Bearer");
    assertThat(pair.getInteger("expires_in")).isEqualTo(900);
    assertThat(pair.getString("refresh_token")).isNotBlank();

    HttpResponse<Buffer> me = api.get("/api/v1/me", pair.getString("access_token"));
    assertThat(me.statusCode()).isEqualTo(200);
    assertThat(me.bodyAsJsonObject().getString("email")).isEqualTo("carol@example.com");
    assertThat(me.bodyAsJsonObject().getBoolean("mfa_enabled")).isFalse();

    HttpResponse<Buffer> wrong = api.post("/api/v1/auth/token",
        new JsonObject().put("email", "carol@example.com").put("password", "not the password"));
    HttpResponse<Buffer> unknown = api.post("/api/v1/auth/token",
        new JsonObject().put("email", "nobody@example.com").put("password", Api.PASSWORD));
    assertError(wrong, 401, "invalid_credentials");
    assertError(unknown, 401, "invalid_credentials");
    assertThat(wrong.bodyAsJsonObject().getString("message")).isEqualTo(unknown.bodyAsJsonObject().getString("message"));
  }

  @Test
  @DisplayName("answers 401 unauthorized without a token and 401 invalid_token with a bad one")
  void protectedRoutes() {
    assertError(api.get("/api/v1/me", null), 401, "unauthorized");
    HttpResponse<Buffer> bad = api.get("/api/v1/me", "not.a.token");
    assertError(bad, 401, "invalid_token");
    assertThat(bad.getHeader("WWW-Authenticate")).contains("invalid_token");
  }

  @Test
  @DisplayName("slows down repeated failed sign-ins per account and address with 429 and Retry-After, sparing other accounts")
  void loginThrottle() {
    api.signup("dave@example.com", Api.PASSWORD);
    api.signup("erin@example.com", Api.PASSWORD);
    JsonObject wrong = new JsonObject().put("email", "dave@example.com").put("password", "wrong password!");
    for (int i = 0; i < LoginThrottle.PER_ACCOUNT_AND_ADDRESS; i++) {
      assertError(api.post("/api/v1/auth/token", wrong), 401, "invalid_credentials");
    }
    HttpResponse<Buffer> blocked = api.post("/api/v1/auth/token",
        new JsonObject().put("email", "dave@example.com").put("password", Api.PASSWORD));
    assertError(blocked, 429, "rate_limited");
    long retryAfter = Long.parseLong(blocked.getHeader("Retry-After"));
    assertThat(retryAfter).isBetween(1L, LoginThrottle.WINDOW_SECONDS);

    assertThat(api.signIn("erin@example.com", Api.PASSWORD).getString("access_token")).isNotBlank();
  }

  @Test
  @DisplayName("lets admins list, disable and enable users, and refuses non-admins with 403")
  void adminUsers() {
    String admin = api.signIn("boss@example.com", Api.PASSWORD).getString("access_token");
    String frank = api.newUser("frank@example.com");
    String frankId = api.get("/api/v1/me", frank).bodyAsJsonObject().getString("id");

    HttpResponse<Buffer> list = api.get("/api/v1/admin/users?limit=500", admin);
    assertThat(list.statusCode()).isEqualTo(200);
    assertThat(list.bodyAsJsonObject().getJsonArray("users").stream().map(u -> ((JsonObject) u).getString("email")))
        .contains("frank@example.com", "boss@example.com");
    assertError(api.get("/api/v1/admin/users", frank), 403, "forbidden");
    assertError(api.post("/api/v1/admin/users/" + frankId + "/disable", frank, null), 403, "forbidden");
    assertError(api.post("/api/v1/admin/users/00000000-0000-0000-0000-000000000000/disable", admin, null),
        404, "not_found");

    HttpResponse<Buffer> disabled = api.post("/api/v1/admin/users/" + frankId + "/disable", admin, null);
    assertThat(disabled.statusCode()).isEqualTo(200);
    assertThat(disabled.bodyAsJsonObject().getBoolean("disabled")).isTrue();
    assertError(api.get("/api/v1/me", frank), 401, "invalid_token");
    assertError(api.post("/api/v1/auth/token", new JsonObject().put("email", "frank@example.com")
        .put("password", Api.PASSWORD)), 403, "account_disabled");

    assertThat(api.post("/api/v1/admin/users/" + frankId + "/enable", admin, null).statusCode()).isEqualTo(200);
    assertThat(api.signIn("frank@example.com", Api.PASSWORD).getString("access_token")).isNotBlank();
  }
}
