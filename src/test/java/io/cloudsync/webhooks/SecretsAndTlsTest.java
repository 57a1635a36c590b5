package io.cloudsync.webhooks;

import static io.cloudsync.webhooks.WebhooksTest.await;
import static io.cloudsync.webhooks.WebhooksTest.verify;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.storage.MasterKeys;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.cloudsync.webhooks.WebhooksTest.Endpoint;
import io.cloudsync.webhooks.WebhooksTest.Hit;
import io.cloudsync.webhooks.WebhooksTest.Node;
import io.cloudsync.webhooks.WebhooksTest.Receiver;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PfxOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Webhook secrets at rest, and https receivers")
@ExtendWith(RealServers.class)
class SecretsAndTlsTest {
  private Vertx receiverVertx;
  private Receiver receiver;
  private final List<Node> nodes = new ArrayList<>();

  @BeforeEach
  void startReceiver() {
    receiverVertx = Vertx.vertx();
    receiver = new Receiver(receiverVertx);
  }

  @AfterEach
  void stop() {
    for (Node node : nodes) {
      node.close();
    }
    receiverVertx.close().await();
  }

  private JsonObject config(Servers servers) {
    return TestCloudSync.config(servers)
        .put("webhooks.allowlist", "127.0.0.1")
        .put("webhooks.poll_interval_ms", 50)
        .put("webhooks.retry_schedule", "0s,100ms,100ms,100ms");
  }

  private Node start(JsonObject config) {
    Node node = Node.start(config);
    nodes.add(node);
    return node;
  }

  private Row stored(Pool pool, String endpointId) {
    return pool.preparedQuery("SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1::uuid")
        .execute(Tuple.of(endpointId)).await().iterator().next();
  }

  private static Pool pool(Vertx vertx, JsonObject config) {
    return PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(config.getString("pg.url"))).using(vertx).build();
  }

  @Test
  @DisplayName("secrets are stored encrypted; deliveries verify, and both secrets sign during a rotation's overlap")
  void encryptedAtRest(Servers servers) {
    JsonObject config = config(servers);
    Node node = start(config);
    Endpoint endpoint = node.endpoint("/sealed", receiver);
    Pool pool = pool(receiverVertx, config);
    try {
      String stored = stored(pool, endpoint.id()).getString("secret");
      assertThat(stored).startsWith("enc1:").doesNotContain(endpoint.secret().substring("whsec_".length()));

      node.folder(endpoint.token(), endpoint.space(), "one");
      await(() -> receiver.hits("/sealed").size() == 1);
      assertThat(verify(endpoint.secret(), receiver.hits("/sealed").get(0))).isTrue();

      String rotated = node.expect(node.send(HttpMethod.POST, endpoint.path() + "/rotate-secret", endpoint.token(), null), 200)
          .getString("secret");
      Row after = stored(pool, endpoint.id());
      assertThat(after.getString("secret")).startsWith("enc1:").doesNotContain(rotated.substring("whsec_".length()));
      assertThat(after.getString("previous_secret")).isEqualTo(stored);

      node.folder(endpoint.token(), endpoint.space(), "two");
      await(() -> receiver.hits("/sealed").size() == 2);
      Hit second = receiver.hits("/sealed").get(1);
      assertThat(second.header("webhook-signature").split(" ")).hasSize(2);
      assertThat(verify(rotated, second)).isTrue();
      assertThat(verify(endpoint.secret(), second)).isTrue();
      assertThat(WebhooksTest.standardWebhooksVerifies(rotated, second)).isTrue();
      assertThat(verify("whsec_" + Base64.getEncoder().encodeToString(new byte[24]), second)).isFalse();
    } finally {
      pool.close().await();
    }
  }

  @Test
  @DisplayName("plaintext secrets from before are encrypted at start-up, and a master-key rotation keeps every secret signing")
  void migratesAndRotatesMasterKey(Servers servers) {
    String k1 = Base64.getEncoder().encodeToString(MasterKeys.generate());
    String k2 = Base64.getEncoder().encodeToString(MasterKeys.generate());
    JsonObject first = config(servers).put("storage.master_key", k1).put("storage.master_key_id", "k1");
    Node node = start(first);
    Endpoint legacy = node.endpoint("/legacy", receiver);
    Endpoint sealed = node.endpoint("/sealed", receiver, legacy);
    node.close();
    Pool pool = pool(receiverVertx, first);
    try {
      // As a row written before secrets were encrypted looks.
      pool.preparedQuery("UPDATE webhook_endpoints SET secret = $2 WHERE id = $1::uuid")
          .execute(Tuple.of(legacy.id(), legacy.secret())).await();
      assertThat(stored(pool, sealed.id()).getString("secret")).startsWith("enc1:k1:");

      JsonObject second = first.copy().put("storage.master_key", k2).put("storage.master_key_id", "k2")
          .put("storage.previous_master_keys", "k1:" + k1);
      Node restarted = start(second);
      assertThat(stored(pool, legacy.id()).getString("secret")).startsWith("enc1:k2:");
      assertThat(stored(pool, sealed.id()).getString("secret")).startsWith("enc1:k2:");

      restarted.folder(legacy.token(), legacy.space(), "after the restart");
      await(() -> receiver.hits("/legacy").size() == 1 && receiver.hits("/sealed").size() == 1);
      assertThat(verify(legacy.secret(), receiver.hits("/legacy").get(0))).isTrue();
      assertThat(verify(sealed.secret(), receiver.hits("/sealed").get(0))).isTrue();
    } finally {
      pool.close().await();
    }
  }

  @Test
  @DisplayName("delivers to an https receiver whose self-signed certificate webhooks.trusted_ca names, and not without it")
  void tlsReceiver(Servers servers) throws Exception {
    Path dir = TestCloudSync.tempDir();
    Path keystore = dir.resolve("receiver.p12");
    Path pem = dir.resolve("receiver.pem");
    keytool("-genkeypair", "-alias", "receiver", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
        "-ext", "san=ip:127.0.0.1", "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-keypass", "changeit");
    keytool("-exportcert", "-rfc", "-alias", "receiver", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", "changeit", "-file", pem.toString());

    List<Hit> hits = new CopyOnWriteArrayList<>();
    HttpServer https = receiverVertx.createHttpServer(new HttpServerOptions().setSsl(true)
            .setKeyCertOptions(new PfxOptions().setPath(keystore.toString()).setPassword("changeit")))
        .requestHandler(request -> request.body().onSuccess(body -> {
          Map<String, String> headers = request.headers().entries().stream()
              .collect(Collectors.toMap(e -> e.getKey().toLowerCase(), Map.Entry::getValue, (x, y) -> x + "," + y));
          hits.add(new Hit(request.path(), headers, body.toString(StandardCharsets.UTF_8), Instant.now()));
          request.response().setStatusCode(204).end();
        }))
        .listen(0, "127.0.0.1").await();
    String url = "https://127.0.0.1:" + https.actualPort() + "/secure";
    JsonObject untrusting = config(servers).put("webhooks.retry_schedule", "0s,1s,1s,1s,1s,1s,1s,1s,1s,1s");

    Node node = start(untrusting);
    String token = node.api.newUser("tls-" + java.util.UUID.randomUUID() + "@example.com");
    String space = node.space(token);
    JsonObject created = node.expect(node.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/webhooks", token,
        new JsonObject().put("url", url)), 201);
    Endpoint endpoint = new Endpoint(token, space, created.getString("id"), created.getString("secret"));
    node.folder(token, space, "over tls");
    await(() -> {
      JsonArray all = node.deliveries(endpoint, null);
      return !all.isEmpty() && all.getJsonObject(0).getString("last_error") != null;
    });
    String refused = node.deliveries(endpoint, null).getJsonObject(0).getString("last_error");
    assertThat(refused.toLowerCase()).containsAnyOf("certificate", "ssl", "pkix", "handshake");
    assertThat(hits).isEmpty();
    node.close();

    Node trusting = start(untrusting.copy().put("webhooks.trusted_ca", pem.toString()));
    await(() -> hits.size() == 1);
    assertThat(verify(endpoint.secret(), hits.get(0))).isTrue();
    await(() -> trusting.deliveries(endpoint, "succeeded").size() == 1);
    https.close().await();
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new AssertionError("keytool failed: " + output);
    }
  }
}
