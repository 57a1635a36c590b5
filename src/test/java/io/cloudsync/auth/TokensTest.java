package io.cloudsync.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Access tokens")
@ExtendWith(RealServers.class)
class TokensTest {
  private static Vertx vertx;
  private static CloudSyncHandle handle;
  private static Api api;
  private static Pool db;
  private static String dbUrl;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    JsonObject config = TestCloudSync.config(servers);
    dbUrl = config.getString("pg.url");
    handle = TestCloudSync.deploy(vertx, config);
    api = new Api(vertx, handle.httpPort());
    db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(dbUrl)).using(vertx).build();
    api.signup("admin@example.com", Api.PASSWORD);
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private static JWKSet jwks() throws Exception {
    return JWKSet.parse(api.get("/.well-known/jwks.json", null).bodyAsString());
  }

  private static ECKey activePrivateKey() {
    String pem = db.query("SELECT private_pem FROM signing_keys WHERE retired_at IS NULL").execute().await()
        .iterator().next().getString(0);
    try {
      return ECKey.parse(EcKeys.fromPem(pem).privateJwk().encode());
    } catch (java.text.ParseException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int statusWith(String token) {
    return api.get("/api/v1/me", token).statusCode();
  }

  private static String codeWith(String token) {
    return api.get("/api/v1/me", token).bodyAsJsonObject().getString("code");
  }

  /** A token signed with the server's own key, with claims as a valid token has them but for the change. */
  private static String forged(ECKey key, String kid, Consumer<JWTClaimsSet.Builder> change) throws Exception {
    String userId = api.get("/api/v1/me", api.signIn("admin@example.com", Api.PASSWORD).getString("access_token"))
        .bodyAsJsonObject().getString("id");
    long now = System.currentTimeMillis() / 1000;
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .issuer("cloudsync").audience("cloudsync-api").subject(userId)
        .jwtID(UUID.randomUUID().toString()).claim("sid", UUID.randomUUID().toString())
        .claim("token_use", "access").claim("role", "admin").claim("email", "admin@example.com")
        .issueTime(new Date(now * 1000)).notBeforeTime(new Date(now * 1000)).expirationTime(new Date((now + 600) * 1000));
    change.accept(claims);
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).type(JOSEObjectType.JWT).build(),
        claims.build());
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  @Test
  @DisplayName("verify with another JOSE library against the JWKS endpoint and carry iss, aud, sub, exp, iat, jti and kid")
  void verifyWithNimbus() throws Exception {
    String token = api.signIn("admin@example.com", Api.PASSWORD).getString("access_token");
    SignedJWT jwt = SignedJWT.parse(token);
    assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    ECKey key = (ECKey) jwks().getKeyByKeyId(jwt.getHeader().getKeyID());
    assertThat(key).isNotNull();
    assertThat(key.isPrivate()).isFalse();
    assertThat(jwt.verify(new ECDSAVerifier(key))).isTrue();

    JWTClaimsSet claims = jwt.getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo("cloudsync");
    assertThat(claims.getAudience()).containsExactly("cloudsync-api");
    assertThat(claims.getSubject()).isEqualTo(api.get("/api/v1/me", token).bodyAsJsonObject().getString("id"));
    assertThat(claims.getJWTID()).isNotBlank();
    assertThat((claims.getExpirationTime().getTime() - claims.getIssueTime().getTime()) / 1000).isEqualTo(900);
  }

  @Test
  @DisplayName("accept a correctly signed token and refuse every forgery and misuse with 401 invalid_token")
  void refuseBadTokens(Servers servers) throws Exception {
    ECKey key = activePrivateKey();
    String kid = key.getKeyID();
    long now = System.currentTimeMillis() / 1000;

    assertThat(statusWith(forged(key, kid, c -> { }))).as("the forging path itself is sound").isEqualTo(200);

    List<String> bad = new java.util.ArrayList<>();
    bad.add("not-a-jwt");
    bad.add(forged(key, kid, c -> c.expirationTime(new Date((now - 120) * 1000))));
    bad.add(forged(key, kid, c -> c.notBeforeTime(new Date((now + 300) * 1000))));
    bad.add(forged(key, kid, c -> c.issuer("https://evil.example.com")));
    bad.add(forged(key, kid, c -> c.audience("another-api")));
    bad.add(forged(key, kid, c -> c.claim("token_use", "id")));
    bad.add(forged(key, kid, c -> c.claim("sid", null)));
    bad.add(forged(new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_256).generate(), kid, c -> { }));

    bad.add(new PlainJWT(SignedJWT.parse(forged(key, kid, c -> { })).getJWTClaimsSet()).serialize());
    SignedJWT hs256 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).build(),
        SignedJWT.parse(forged(key, kid, c -> { })).getJWTClaimsSet());
    hs256.sign(new MACSigner(key.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8)));
    bad.add(hs256.serialize());

    String valid = api.signIn("admin@example.com", Api.PASSWORD).getString("access_token");
    // Checked once, so its signature is remembered: the same payload with another signature is still refused.
    assertThat(statusWith(valid)).isEqualTo(200);
    String[] parts = valid.split("\\.");
    bad.add(parts[0] + "." + parts[1] + "." + parts[2].substring(0, parts[2].length() - 4) + "AAAA");
    bad.add(api.signIn("admin@example.com", Api.PASSWORD).getString("refresh_token"));
    bad.add(servers.oidc().issueToken("default", "someone", "cloudsync-api", java.util.Map.of()).serialize());

    for (String token : bad) {
      assertThat(statusWith(token)).as(token).isEqualTo(401);
      assertThat(codeWith(token)).as(token).isEqualTo("invalid_token");
    }
  }

  @Test
  @DisplayName("after a key rotation sign with the new key while tokens of the old one keep working")
  void rotation() throws Exception {
    String admin = api.signIn("admin@example.com", Api.PASSWORD).getString("access_token");
    String oldKid = SignedJWT.parse(admin).getHeader().getKeyID();

    JsonObject rotated = api.post("/api/v1/admin/keys/rotate", admin, null).bodyAsJsonObject();
    String newKid = rotated.getString("kid");
    assertThat(newKid).isNotEqualTo(oldKid);
    assertThat(jwks().getKeys()).extracting(k -> k.getKeyID()).contains(oldKid, newKid);
    JsonObject audited = api.get("/api/v1/admin/audit?kind=admin.keys_rotated", admin).bodyAsJsonObject()
        .getJsonArray("entries").getJsonObject(0);
    assertThat(audited.getString("target")).isEqualTo(newKid);

    assertThat(statusWith(admin)).isEqualTo(200);
    String fresh = api.signIn("admin@example.com", Api.PASSWORD).getString("access_token");
    assertThat(SignedJWT.parse(fresh).getHeader().getKeyID()).isEqualTo(newKid);
    assertThat(statusWith(fresh)).isEqualTo(200);

    String user = api.newUser("plain-user@example.com");
    assertThat(api.post("/api/v1/admin/keys/rotate", user, null).statusCode()).isEqualTo(403);
  }

  @Test
  @DisplayName("sign with a key configured as a PEM file, and keep the previous file's tokens valid after it is replaced")
  void configuredKeys(Servers servers) throws Exception {
    EcKeys.SigningKey first = EcKeys.generate();
    EcKeys.SigningKey second = EcKeys.generate();
    Path firstFile = Files.createTempFile("key1", ".pem");
    Path secondFile = Files.createTempFile("key2", ".pem");
    Files.writeString(firstFile, first.privatePem());
    Files.writeString(secondFile, second.privatePem());
    JsonObject config = TestCloudSync.config(servers);
    Vertx vertx = Vertx.vertx();

    CloudSyncHandle one = TestCloudSync.deploy(vertx, config.copy().put("auth.signing_key", firstFile.toString()));
    Api oneApi = new Api(vertx, one.httpPort());
    String early = oneApi.newUser("keys@example.com");
    assertThat(SignedJWT.parse(early).getHeader().getKeyID()).isEqualTo(first.kid());
    one.close().await();

    CloudSyncHandle two = TestCloudSync.deploy(vertx, config.copy().put("auth.signing_key", secondFile.toString()));
    try {
      Api twoApi = new Api(vertx, two.httpPort());
      assertThat(twoApi.get("/api/v1/me", early).statusCode()).isEqualTo(200);
      String late = twoApi.signIn("keys@example.com", Api.PASSWORD).getString("access_token");
      assertThat(SignedJWT.parse(late).getHeader().getKeyID()).isEqualTo(second.kid());
      assertThat(JWKSet.parse(twoApi.get("/.well-known/jwks.json", null).bodyAsString()).getKeys())
          .extracting(k -> k.getKeyID()).contains(first.kid(), second.kid());
    } finally {
      two.close().await();
      vertx.close().await();
    }
  }
}
