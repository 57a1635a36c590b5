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

@DisplayName("TOTP multi-factor sign-in")
@ExtendWith(RealServers.class)
class MfaTest {
  private static Vertx vertx;
  private static CloudSyncHandle handle;
  private static Api api;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers));
    api = new Api(vertx, handle.httpPort());
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> signIn(String email, String totp) {
    JsonObject body = new JsonObject().put("email", email).put("password", Api.PASSWORD);
    if (totp != null) {
      body.put("totp", totp);
    }
    return api.post("/api/v1/auth/token", body);
  }

  @Test
  @DisplayName("is set up with a secret and otpauth URI, then needed at sign-in; a code works once and recovery codes once each")
  void fullCycle() {
    String token = api.newUser("mfa@example.com");
    JsonObject setup = api.post("/api/v1/auth/mfa/setup", token, null).bodyAsJsonObject();
    String secret = setup.getString("secret");
    assertThat(secret).matches("[A-Z2-7]{32}");
    assertThat(setup.getString("otpauth_uri")).startsWith("otpauth://totp/CloudSync%3Amfa%40example.com?secret=" + secret);

    long step = Totp.step(System.currentTimeMillis() / 1000);
    HttpResponse<Buffer> wrongFirst = api.post("/api/v1/auth/mfa/verify", token,
        new JsonObject().put("code", Totp.code(secret, step + 5)));
    assertThat(wrongFirst.statusCode()).isEqualTo(401);
    assertThat(wrongFirst.bodyAsJsonObject().getString("code")).isEqualTo("invalid_mfa_code");

    HttpResponse<Buffer> verified = api.post("/api/v1/auth/mfa/verify", token, new JsonObject().put("code", Totp.code(secret, step)));
    assertThat(verified.statusCode()).isEqualTo(200);
    assertThat(verified.bodyAsJsonObject().getJsonArray("recovery_codes")).hasSize(10);
    String recovery = verified.bodyAsJsonObject().getJsonArray("recovery_codes").getString(0);
    assertThat(api.get("/api/v1/me", token).bodyAsJsonObject().getBoolean("mfa_enabled")).isTrue();

    HttpResponse<Buffer> without = signIn("mfa@example.com", null);
    assertThat(without.statusCode()).isEqualTo(401);
    assertThat(without.bodyAsJsonObject().getString("code")).isEqualTo("mfa_required");

    assertThat(signIn("mfa@example.com", Totp.code(secret, step)).statusCode())
        .as("the code used to turn MFA on is spent").isEqualTo(401);
    String next = Totp.code(secret, step + 1);
    assertThat(signIn("mfa@example.com", next).statusCode()).isEqualTo(200);
    HttpResponse<Buffer> replay = signIn("mfa@example.com", next);
    assertThat(replay.statusCode()).isEqualTo(401);
    assertThat(replay.bodyAsJsonObject().getString("code")).isEqualTo("invalid_mfa_code");

    assertThat(signIn("mfa@example.com", recovery.toUpperCase()).statusCode()).isEqualTo(200);
    assertThat(signIn("mfa@example.com", recovery).statusCode()).isEqualTo(401);

    assertThat(api.post("/api/v1/auth/mfa/setup", token, null).statusCode()).as("already on").isEqualTo(409);
  }
}
