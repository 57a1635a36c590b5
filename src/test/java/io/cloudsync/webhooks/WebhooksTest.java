package io.cloudsync.webhooks;

import static org.assertj.core.api.Assertions.assertThat;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Webhooks")
@ExtendWith(RealServers.class)
class WebhooksTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

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

  @Test
  @DisplayName("owners and editors manage endpoints; the secret is shown once; viewers get 403 and strangers 404")
  void managesEndpoints(Servers servers) {
    Node node = start(config(servers).put("webhooks.max_endpoints", 2));
    String owner = node.api.newUser("owner-" + UUID.randomUUID() + "@example.com");
    String space = node.space(owner);
    String hooks = "/api/v1/spaces/" + space + "/webhooks";

    JsonObject created = node.expect(node.send(HttpMethod.POST, hooks, owner,
        new JsonObject().put("url", receiver.url("/hook")).put("events", new JsonArray().add("created"))), 201);
    String secret = created.getString("secret");
    assertThat(secret).startsWith("whsec_");
    assertThat(Base64.getDecoder().decode(secret.substring(6))).hasSizeBetween(24, 32);
    assertThat(created.getBoolean("enabled")).isTrue();
    assertThat(created.getJsonArray("events")).containsExactly("created");
    String id = created.getString("id");

    JsonArray listed = node.expect(node.send(HttpMethod.GET, hooks, owner, null), 200).getJsonArray("webhooks");
    assertThat(listed).hasSize(1);
    assertThat(listed.getJsonObject(0).containsKey("secret")).isFalse();
    assertThat(node.expect(node.send(HttpMethod.GET, hooks + "/" + id, owner, null), 200).containsKey("secret")).isFalse();

    JsonObject patched = node.expect(node.send(HttpMethod.PATCH, hooks + "/" + id, owner,
        new JsonObject().put("enabled", false).put("events", new JsonArray())), 200);
    assertThat(patched.getBoolean("enabled")).isFalse();
    assertThat(patched.getJsonArray("events")).isEmpty();

    JsonObject rotated = node.expect(node.send(HttpMethod.POST, hooks + "/" + id + "/rotate-secret", owner, null), 200);
    assertThat(rotated.getString("secret")).startsWith("whsec_").isNotEqualTo(secret);
    assertThat(Instant.parse(rotated.getString("previous_secret_expires_at"))).isAfter(Instant.now().plusSeconds(3600));

    // Validation.
    assertThat(node.error(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", "ftp://example.com/")), 400))
        .isEqualTo("validation_failed");
    assertThat(node.error(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", receiver.url("/x"))
        .put("events", new JsonArray().add("exploded"))), 400)).isEqualTo("validation_failed");
    assertThat(node.error(node.send(HttpMethod.POST, hooks, owner,
        new JsonObject().put("url", "https://example.com/" + "a".repeat(2048))), 400)).isEqualTo("validation_failed");
    node.expect(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", receiver.url("/second"))), 201);
    assertThat(node.error(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", receiver.url("/third"))), 409))
        .isEqualTo("webhook_limit_reached");

    // Roles.
    String editorEmail = "editor-" + UUID.randomUUID() + "@example.com";
    String viewerEmail = "viewer-" + UUID.randomUUID() + "@example.com";
    String editor = node.api.newUser(editorEmail);
    String viewer = node.api.newUser(viewerEmail);
    String stranger = node.api.newUser("stranger-" + UUID.randomUUID() + "@example.com");
    node.share(owner, space, editorEmail, "editor");
    node.share(owner, space, viewerEmail, "viewer");
    node.expect(node.send(HttpMethod.GET, hooks, editor, null), 200);
    node.expect(node.send(HttpMethod.GET, hooks + "/" + id + "/deliveries", editor, null), 200);
    assertThat(node.error(node.send(HttpMethod.GET, hooks, viewer, null), 403)).isEqualTo("forbidden");
    assertThat(node.error(node.send(HttpMethod.POST, hooks, viewer, new JsonObject().put("url", receiver.url("/v"))), 403))
        .isEqualTo("forbidden");
    assertThat(node.error(node.send(HttpMethod.GET, hooks, stranger, null), 404)).isEqualTo("not_found");
    assertThat(node.error(node.send(HttpMethod.GET, hooks + "/" + id, stranger, null), 404)).isEqualTo("not_found");

    node.expect(node.send(HttpMethod.DELETE, hooks + "/" + id, editor, null), 204);
    assertThat(node.error(node.send(HttpMethod.GET, hooks + "/" + id, owner, null), 404)).isEqualTo("not_found");
  }

  @Test
  @DisplayName("refuses URLs that reach loopback or other internal addresses unless the allow-list names them")
  void ssrf(Servers servers) {
    Node node = start(config(servers).put("webhooks.allowlist", ""));
    String owner = node.api.newUser("ssrf-" + UUID.randomUUID() + "@example.com");
    String hooks = "/api/v1/spaces/" + node.space(owner) + "/webhooks";
    for (String url : List.of(receiver.url("/hook"), "http://[::ffff:127.0.0.1]:" + receiver.port() + "/",
        "http://2130706433:" + receiver.port() + "/", "http://0.0.0.0/", "http://localhost:" + receiver.port() + "/",
        "http://0x7f.1/", "http://0177.0.0.1/", "http://169.254.169.254/", "http://[::1]/", "http://10.0.0.1/")) {
      HttpResponse<Buffer> response = node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", url));
      assertThat(node.error(response, 400)).as(url).isEqualTo("url_not_allowed");
    }
  }

  @Test
  @DisplayName("delivers each wanted change once, signed per Standard Webhooks, with the change as GET /changes shows it")
  void deliversSigned(Servers servers) {
    Node node = start(config(servers));
    String owner = node.api.newUser("signed-" + UUID.randomUUID() + "@example.com");
    String space = node.space(owner);
    node.folder(owner, space, "before the endpoint");
    String hooks = "/api/v1/spaces/" + space + "/webhooks";
    JsonObject all = node.expect(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", receiver.url("/all"))), 201);
    node.expect(node.send(HttpMethod.POST, hooks, owner, new JsonObject().put("url", receiver.url("/renames"))
        .put("events", new JsonArray().add("renamed"))), 201);

    String folder = node.folder(owner, space, "after");
    node.expect(node.send(HttpMethod.PATCH, "/api/v1/spaces/" + space + "/nodes/" + folder, owner,
        new JsonObject().put("name", "renamed")), 200);

    await(() -> receiver.hits("/all").size() == 2 && receiver.hits("/renames").size() == 1);
    JsonArray changes = node.expect(node.send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=0", owner, null), 200)
        .getJsonArray("changes");
    List<Hit> hits = receiver.hits("/all");
    for (int i = 0; i < 2; i++) {
      Hit hit = hits.get(i);
      assertThat(verify(all.getString("secret"), hit)).as("signature verifies").isTrue();
      JsonObject body = new JsonObject(hit.body());
      JsonObject change = changes.getJsonObject(i + 1);
      assertThat(body.getJsonObject("data")).isEqualTo(change);
      assertThat(body.getString("type")).isEqualTo("node." + change.getString("kind"));
      assertThat(body.getString("timestamp")).isEqualTo(change.getString("at"));
      assertThat(hit.header("content-type")).startsWith("application/json");
    }
    assertThat(hits).extracting(h -> new JsonObject(h.body()).getJsonObject("data").getLong("seq")).containsExactly(2L, 3L);
    assertThat(new JsonObject(receiver.hits("/renames").get(0).body()).getString("type")).isEqualTo("node.renamed");

    JsonObject log = node.expect(node.send(HttpMethod.GET, hooks + "/" + all.getString("id") + "/deliveries", owner, null), 200);
    await(() -> node.expect(node.send(HttpMethod.GET, hooks + "/" + all.getString("id") + "/deliveries?status=succeeded",
        owner, null), 200).getJsonArray("deliveries").size() == 2);
    log = node.expect(node.send(HttpMethod.GET, hooks + "/" + all.getString("id") + "/deliveries?limit=1", owner, null), 200);
    JsonObject newest = log.getJsonArray("deliveries").getJsonObject(0);
    assertThat(newest.getLong("seq")).isEqualTo(3L);
    assertThat(newest.getString("webhook_id")).isEqualTo(hits.get(1).header("webhook-id"));
    assertThat(newest.getInteger("attempts")).isEqualTo(1);
    assertThat(newest.getInteger("last_status")).isEqualTo(200);
    assertThat(newest.getBoolean("dead")).isFalse();
    assertThat(log.getBoolean("has_more")).isTrue();
    JsonObject older = node.expect(node.send(HttpMethod.GET, hooks + "/" + all.getString("id") + "/deliveries?limit=1&cursor="
        + log.getLong("cursor"), owner, null), 200);
    assertThat(older.getJsonArray("deliveries").getJsonObject(0).getLong("seq")).isEqualTo(2L);

    // After a rotation both secrets sign, so receivers can switch over at their pace.
    JsonObject rotated = node.expect(node.send(HttpMethod.POST, hooks + "/" + all.getString("id") + "/rotate-secret", owner, null), 200);
    node.folder(owner, space, "after rotation");
    await(() -> receiver.hits("/all").size() == 3);
    Hit third = receiver.hits("/all").get(2);
    assertThat(third.header("webhook-signature").split(" ")).hasSize(2);
    assertThat(verify(rotated.getString("secret"), third)).isTrue();
    assertThat(verify(all.getString("secret"), third)).isTrue();
    assertThat(standardWebhooksVerifies(rotated.getString("secret"), third)).isTrue();
  }

  @Test
  @DisplayName("retries on the schedule with one webhook-id, ends dead after the last attempt, and a replay sends it again")
  void retryLadder(Servers servers) {
    Node node = start(config(servers));
    receiver.respond("/hook", (request, n) -> request.response().setStatusCode(n <= 4 ? 500 : 200).end());
    Endpoint endpoint = node.endpoint("/hook", receiver);
    node.folder(endpoint.token(), endpoint.space(), "retried");

    await(() -> node.delivery(endpoint).getString("status").equals("dead"));
    JsonObject dead = node.delivery(endpoint);
    assertThat(dead.getInteger("attempts")).isEqualTo(4);
    assertThat(dead.getInteger("last_status")).isEqualTo(500);
    assertThat(dead.getBoolean("dead")).isTrue();
    assertThat(dead.getString("next_attempt_at")).isNull();
    List<Hit> hits = receiver.hits("/hook");
    assertThat(hits).hasSize(4);
    assertThat(hits).extracting(h -> h.header("webhook-id")).containsOnly(dead.getString("webhook_id"));
    for (int i = 1; i < hits.size(); i++) {
      assertThat(Duration.between(hits.get(i - 1).at(), hits.get(i).at())).as("the schedule's 100 ms, jittered")
          .isGreaterThanOrEqualTo(Duration.ofMillis(85));
    }
    node.expect(node.send(HttpMethod.GET, endpoint.path() + "/deliveries?status=dead", endpoint.token(), null), 200);

    node.expect(node.send(HttpMethod.POST, endpoint.path() + "/deliveries/" + dead.getString("id") + "/replay",
        endpoint.token(), null), 202);
    await(() -> node.delivery(endpoint).getString("status").equals("succeeded"));
    assertThat(receiver.hits("/hook")).hasSize(5);
    assertThat(receiver.hits("/hook").get(4).header("webhook-id")).isEqualTo(dead.getString("webhook_id"));
  }

  @Test
  @DisplayName("410 Gone disables the endpoint and nothing more is sent to it")
  void goneDisables(Servers servers) {
    Node node = start(config(servers));
    receiver.respond("/gone", (request, n) -> request.response().setStatusCode(410).end());
    Endpoint endpoint = node.endpoint("/gone", receiver);
    node.folder(endpoint.token(), endpoint.space(), "one");
    node.folder(endpoint.token(), endpoint.space(), "two");

    await(() -> !node.expect(node.send(HttpMethod.GET, endpoint.path(), endpoint.token(), null), 200).getBoolean("enabled"));
    JsonObject disabled = node.expect(node.send(HttpMethod.GET, endpoint.path(), endpoint.token(), null), 200);
    assertThat(disabled.getString("disabled_reason")).contains("410");
    sleep(600);
    assertThat(receiver.hits("/gone")).hasSize(1);
  }

  @Test
  @DisplayName("an endpoint failing for longer than webhooks.disable_after is disabled, audited, and its owners mailed")
  void failingForDaysDisables(Servers servers) {
    GreenMail smtp = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.start();
    try {
      // Days compressed to a second: seven attempts 300 ms apart keep failing past it.
      Node node = start(config(servers).put("webhooks.retry_schedule", "0s,300ms,300ms,300ms,300ms,300ms,300ms,300ms")
          .put("webhooks.disable_after", "1s").put("webhooks.circuit_failures", 100)
          .put("mail.host", "127.0.0.1").put("mail.port", smtp.getSmtp().getPort()).put("mail.starttls", "disabled"));
      receiver.respond("/down", (request, n) -> request.response().setStatusCode(500).end());
      String ownerEmail = "owner-" + UUID.randomUUID() + "@example.com";
      String owner = node.api.newUser(ownerEmail); // the installation's first account: an admin too
      String space = node.space(owner);
      JsonObject created = node.expect(node.send(HttpMethod.POST, "/api/v1/spaces/" + space + "/webhooks", owner,
          new JsonObject().put("url", receiver.url("/down"))), 201);
      Endpoint endpoint = new Endpoint(owner, space, created.getString("id"), created.getString("secret"));
      node.folder(owner, space, "one");

      await(() -> !node.expect(node.send(HttpMethod.GET, endpoint.path(), owner, null), 200).getBoolean("enabled"));
      JsonObject disabled = node.expect(node.send(HttpMethod.GET, endpoint.path(), owner, null), 200);
      assertThat(disabled.getString("disabled_reason")).startsWith("every attempt failed since ");
      List<Hit> hits = receiver.hits("/down");
      assertThat(hits.size()).isGreaterThanOrEqualTo(3);
      // Not before it had failed for the whole second.
      assertThat(Duration.between(hits.get(0).at(), hits.get(hits.size() - 1).at())).isGreaterThanOrEqualTo(Duration.ofMillis(900));
      int sent = hits.size();
      sleep(800);
      assertThat(receiver.hits("/down")).hasSize(sent);

      JsonArray audit = node.expect(node.send(HttpMethod.GET, "/api/v1/admin/audit?kind=webhook.disabled", owner, null), 200)
          .getJsonArray("entries");
      assertThat(audit).hasSize(1);
      assertThat(audit.getJsonObject(0).getString("target")).isEqualTo(endpoint.id());
      assertThat(audit.getJsonObject(0).getString("actor")).isNull();
      assertThat(audit.getJsonObject(0).getJsonObject("details").getString("reason")).startsWith("every attempt failed");

      await(() -> smtp.getReceivedMessages().length == 1);
      jakarta.mail.internet.MimeMessage mail = smtp.getReceivedMessages()[0];
      assertThat(mail.getAllRecipients()[0].toString()).isEqualTo(ownerEmail);
      assertThat(mail.getSubject()).contains("was disabled");
      assertThat(String.valueOf(mail.getContent())).contains(receiver.url("/down")).contains("every attempt failed since");

      // Enabling it again starts afresh: a success later, nothing is disabled.
      receiver.respond("/down", (request, n) -> request.response().setStatusCode(204).end());
      node.expect(node.send(HttpMethod.PATCH, endpoint.path(), owner, new JsonObject().put("enabled", true)), 200);
      node.folder(owner, space, "two");
      await(() -> node.deliveries(endpoint, "succeeded").size() >= 1);
      assertThat(node.expect(node.send(HttpMethod.GET, endpoint.path(), owner, null), 200).getBoolean("enabled")).isTrue();
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      smtp.stop();
    }
  }

  @Test
  @DisplayName("429 with Retry-After waits as long as the receiver asked before trying again")
  void retryAfter(Servers servers) {
    Node node = start(config(servers));
    receiver.respond("/busy", (request, n) -> {
      if (n == 1) {
        request.response().setStatusCode(429).putHeader("Retry-After", "2").end();
      } else {
        request.response().setStatusCode(204).end();
      }
    });
    Endpoint endpoint = node.endpoint("/busy", receiver);
    node.folder(endpoint.token(), endpoint.space(), "later");

    await(() -> receiver.hits("/busy").size() == 2);
    List<Hit> hits = receiver.hits("/busy");
    assertThat(Duration.between(hits.get(0).at(), hits.get(1).at())).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    await(() -> node.delivery(endpoint).getString("status").equals("succeeded"));
  }

  @Test
  @DisplayName("a redirect is not followed and counts as a failure; so does a receiver that stalls past the timeout")
  void redirectAndStall(Servers servers) {
    Node node = start(config(servers).put("webhooks.timeout_ms", 500).put("webhooks.retry_schedule", "0s,100ms"));
    receiver.respond("/moved", (request, n) -> request.response().setStatusCode(302)
        .putHeader("Location", "/elsewhere").end());
    receiver.respond("/stall", (request, n) -> {
      if (n > 1) {
        request.response().setStatusCode(200).end();
      }
      // The first attempt gets no answer at all.
    });
    Endpoint moved = node.endpoint("/moved", receiver);
    Endpoint stall = node.endpoint("/stall", receiver, moved);
    node.folder(moved.token(), moved.space(), "go");

    await(() -> node.delivery(moved).getString("status").equals("dead"));
    assertThat(node.delivery(moved).getInteger("last_status")).isEqualTo(302);
    assertThat(node.delivery(moved).getString("last_error")).contains("redirect");
    assertThat(receiver.hits("/moved")).hasSize(2);
    assertThat(receiver.hits("/elsewhere")).isEmpty();

    await(() -> node.delivery(stall).getString("status").equals("succeeded"));
    assertThat(node.delivery(stall).getInteger("attempts")).isEqualTo(2);
    assertThat(receiver.hits("/stall")).hasSize(2);
  }

  @Test
  @DisplayName("a restart in the middle of the retries loses nothing: the next node sends the next attempt")
  void restartMidRetry(Servers servers) {
    JsonObject config = config(servers).put("webhooks.retry_schedule", "0s,3s,100ms");
    Node first = start(config);
    receiver.respond("/hook", (request, n) -> request.response().setStatusCode(n == 1 ? 503 : 200).end());
    Endpoint endpoint = first.endpoint("/hook", receiver);
    first.folder(endpoint.token(), endpoint.space(), "survives");
    await(() -> receiver.hits("/hook").size() == 1);
    first.close();

    Node second = start(config.copy().put("data_dir", TestCloudSync.tempDir().toString()));
    await(() -> second.delivery(endpoint).getString("status").equals("succeeded"));
    assertThat(receiver.hits("/hook")).hasSize(2);
    assertThat(receiver.hits("/hook")).extracting(h -> h.header("webhook-id")).containsOnly(
        second.delivery(endpoint).getString("webhook_id"));
  }

  @Test
  @DisplayName("checks the address again before each attempt: a node without the allow-list sends nothing to loopback")
  void connectTimeCheck(Servers servers) {
    JsonObject config = config(servers).put("webhooks.retry_schedule", "0s");
    Node allowed = start(config);
    Endpoint endpoint = allowed.endpoint("/hook", receiver);
    allowed.close();

    Node strict = start(config.copy().put("webhooks.allowlist", "").put("data_dir", TestCloudSync.tempDir().toString()));
    strict.folder(endpoint.token(), endpoint.space(), "not for loopback");
    await(() -> strict.delivery(endpoint).getString("status").equals("dead"));
    assertThat(strict.delivery(endpoint).getString("last_error")).contains("not allowed");
    assertThat(receiver.hits("/hook")).isEmpty();
  }

  @Test
  @DisplayName("two deployments on one database never both send one attempt")
  void twoNodesOneSender(Servers servers) {
    // The circuit stays shut: this receiver fails every first attempt, many in a row.
    JsonObject config = config(servers).put("webhooks.poll_interval_ms", 20).put("webhooks.retry_schedule", "0s,50ms,50ms")
        .put("webhooks.circuit_failures", 1000);
    Node first = start(config);
    Node second = start(config.copy().put("data_dir", TestCloudSync.tempDir().toString()));
    // Every delivery fails its first attempt and succeeds on the second.
    Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
    receiver.respond("/a", (request, n) -> request.response()
        .setStatusCode(attempts.computeIfAbsent(request.getHeader("webhook-id"), k -> new AtomicInteger()).incrementAndGet() == 1
            ? 500 : 200).end());
    receiver.respond("/b", (request, n) -> request.response()
        .setStatusCode(attempts.computeIfAbsent(request.getHeader("webhook-id"), k -> new AtomicInteger()).incrementAndGet() == 1
            ? 500 : 200).end());
    Endpoint a = first.endpoint("/a", receiver);
    Endpoint b = first.endpoint("/b", receiver, a);
    for (int i = 0; i < 15; i++) {
      (i % 2 == 0 ? first : second).folder(a.token(), a.space(), "folder " + i);
    }

    await(() -> first.deliveries(a, "succeeded").size() == 15 && first.deliveries(b, "succeeded").size() == 15);
    assertThat(attempts).hasSize(30);
    assertThat(attempts.values()).allSatisfy(count -> assertThat(count.get()).as("sends of one webhook-id").isEqualTo(2));
    assertThat(first.deliveries(a, "succeeded")).allSatisfy(d -> assertThat(((JsonObject) d).getInteger("attempts")).isEqualTo(2));
  }

  @Test
  @DisplayName("an endpoint failing in a row has its deliveries postponed while the others go on")
  void circuitBreaker(Servers servers) {
    Node node = start(config(servers).put("webhooks.circuit_failures", 2).put("webhooks.circuit_cooldown", 60)
        .put("webhooks.retry_schedule", "0s,50ms,50ms,50ms,50ms,50ms"));
    receiver.respond("/down", (request, n) -> request.response().setStatusCode(500).end());
    Endpoint down = node.endpoint("/down", receiver);
    Endpoint up = node.endpoint("/up", receiver, down);
    for (int i = 0; i < 3; i++) {
      node.folder(down.token(), down.space(), "f" + i);
    }
    await(() -> receiver.hits("/up").size() == 3);
    sleep(500);
    assertThat(receiver.hits("/down")).as("two failures open the circuit").hasSize(2);
    JsonArray pending = node.deliveries(down, "pending");
    assertThat(pending).hasSize(3);
    assertThat(pending).allSatisfy(d -> assertThat(Instant.parse(((JsonObject) d).getString("next_attempt_at")))
        .isAfter(Instant.now().plusSeconds(30)));
  }

  @Test
  @DisplayName("succeeded deliveries older than webhooks.log_retention are deleted; pending ones are kept")
  void logRetention(Servers servers) {
    // Thirty days compressed to a second; the failing delivery's next attempt is an hour away.
    Node node = start(config(servers).put("webhooks.log_retention", "1s").put("webhooks.retry_schedule", "0s,1h"));
    receiver.respond("/down", (request, n) -> request.response().setStatusCode(500).end());
    Endpoint ok = node.endpoint("/ok", receiver);
    Endpoint down = node.endpoint("/down", receiver, ok);
    node.folder(ok.token(), ok.space(), "kept a while");

    await(() -> node.deliveries(ok, "succeeded").size() == 1);
    await(() -> node.deliveries(down, null).size() == 1 && node.deliveries(down, null).getJsonObject(0).getInteger("attempts") == 1);
    await(() -> node.deliveries(ok, null).isEmpty());
    // Older than the retention by now, and still there: it is not done.
    sleep(1500);
    JsonArray pending = node.deliveries(down, null);
    assertThat(pending).hasSize(1);
    assertThat(pending.getJsonObject(0).getString("status")).isEqualTo("pending");
    assertThat(Instant.parse(pending.getJsonObject(0).getString("last_attempt_at")))
        .isBefore(Instant.now().minusSeconds(1));
    assertThat(receiver.hits("/ok")).hasSize(1);
  }

  // --- helpers ---------------------------------------------------------------------------------

  /** Standard Webhooks verification, written from the specification: any v1 signature may match. */
  static boolean verify(String secret, Hit hit) {
    try {
      String id = hit.header("webhook-id");
      long timestamp = Long.parseLong(hit.header("webhook-timestamp"));
      if (Math.abs(Instant.now().getEpochSecond() - timestamp) > 300) {
        return false;
      }
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(Base64.getDecoder().decode(secret.substring("whsec_".length())), "HmacSHA256"));
      String expected = Base64.getEncoder().encodeToString(
          mac.doFinal((id + "." + timestamp + "." + hit.body()).getBytes(StandardCharsets.UTF_8)));
      for (String part : hit.header("webhook-signature").split(" ")) {
        String[] versioned = part.split(",", 2);
        if (versioned.length == 2 && versioned[0].equals("v1")
            && java.security.MessageDigest.isEqual(versioned[1].getBytes(StandardCharsets.US_ASCII),
                expected.getBytes(StandardCharsets.US_ASCII))) {
          return true;
        }
      }
      return false;
    } catch (Exception e) {
      return false;
    }
  }

  /**
   * Whether the reference standardwebhooks library (npm, pinned in src/test/js) verifies the
   * delivery as it came; skips the calling test where node or the package cannot be had.
   */
  static boolean standardWebhooksVerifies(String secret, Hit hit) {
    java.nio.file.Path module = io.cloudsync.test.NodeModules.require().resolve("standardwebhooks");
    try {
      java.nio.file.Path script = java.nio.file.Files.createTempFile("verify", ".cjs");
      java.nio.file.Files.writeString(script, "const { Webhook } = require(process.argv[2]);\n"
          + "const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
          + "new Webhook(input.secret).verify(input.body, input.headers); console.log('verified');\n");
      Process process = new ProcessBuilder("node", script.toString(), module.toString())
          .redirectErrorStream(true).start();
      process.getOutputStream().write(new JsonObject().put("secret", secret).put("body", hit.body())
          .put("headers", new JsonObject().put("webhook-id", hit.header("webhook-id"))
              .put("webhook-timestamp", hit.header("webhook-timestamp"))
              .put("webhook-signature", hit.header("webhook-signature"))).encode().getBytes(StandardCharsets.UTF_8));
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      java.nio.file.Files.deleteIfExists(script);
      return process.waitFor() == 0 && output.contains("verified");
    } catch (Exception e) {
      throw new AssertionError("running the standardwebhooks check failed", e);
    }
  }

  static void await(BooleanSupplier condition) {
    Instant deadline = Instant.now().plus(WAIT);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("condition not met within " + WAIT);
      }
      sleep(50);
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  record Hit(String path, Map<String, String> headers, String body, Instant at) {
    String header(String name) {
      return headers.get(name.toLowerCase());
    }
  }

  /** A receiver on loopback: records every request; answers 200 unless a path is told otherwise. */
  static final class Receiver {
    private final HttpServer server;
    private final List<Hit> hits = new CopyOnWriteArrayList<>();
    private final Map<String, BiConsumer<HttpServerRequest, Integer>> responders = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> counts = new ConcurrentHashMap<>();

    Receiver(Vertx vertx) {
      server = vertx.createHttpServer().requestHandler(request -> request.body().onSuccess(body -> {
        Map<String, String> headers = request.headers().entries().stream()
            .collect(Collectors.toMap(e -> e.getKey().toLowerCase(), Map.Entry::getValue, (x, y) -> x + "," + y));
        hits.add(new Hit(request.path(), headers, body.toString(StandardCharsets.UTF_8), Instant.now()));
        int n = counts.computeIfAbsent(request.path(), k -> new AtomicInteger()).incrementAndGet();
        responders.getOrDefault(request.path(), (r, count) -> r.response().setStatusCode(200).end()).accept(request, n);
      })).listen(0, "127.0.0.1").await();
    }

    void respond(String path, BiConsumer<HttpServerRequest, Integer> responder) {
      responders.put(path, responder);
    }

    int port() {
      return server.actualPort();
    }

    String url(String path) {
      return "http://127.0.0.1:" + port() + path;
    }

    List<Hit> hits(String path) {
      return hits.stream().filter(h -> h.path().equals(path)).toList();
    }
  }

  record Endpoint(String token, String space, String id, String secret) {
    String path() {
      return "/api/v1/spaces/" + space + "/webhooks/" + id;
    }
  }

  static final class Node {
    private final Vertx vertx;
    private final CloudSyncHandle handle;
    final Api api;
    private boolean closed;

    private Node(Vertx vertx, CloudSyncHandle handle) {
      this.vertx = vertx;
      this.handle = handle;
      this.api = new Api(vertx, handle.httpPort());
    }

    static Node start(JsonObject config) {
      Vertx vertx = Vertx.vertx();
      return new Node(vertx, TestCloudSync.deploy(vertx, config));
    }

    HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body) {
      HttpRequest<Buffer> request = api.request(method, path, token);
      return body == null ? request.send().await() : request.sendJsonObject(body).await();
    }

    JsonObject expect(HttpResponse<Buffer> response, int status) {
      assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
      return response.body() == null || response.body().length() == 0 ? null : response.bodyAsJsonObject();
    }

    String error(HttpResponse<Buffer> response, int status) {
      return expect(response, status).getString("code");
    }

    String space(String token) {
      return expect(send(HttpMethod.POST, "/api/v1/spaces", token, new JsonObject().put("name", "Hooked")), 201)
          .getString("id");
    }

    String folder(String token, String space, String name) {
      return expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
          new JsonObject().put("name", name)), 201).getString("id");
    }

    void share(String token, String space, String email, String role) {
      expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/members", token,
          new JsonObject().put("email", email).put("role", role)), 200);
    }

    /** A new user, space and endpoint at the receiver's path. */
    Endpoint endpoint(String path, Receiver receiver) {
      String token = api.newUser("hook-" + UUID.randomUUID() + "@example.com");
      return endpointIn(token, space(token), path, receiver);
    }

    /** Another endpoint in the space of {@code beside}. */
    Endpoint endpoint(String path, Receiver receiver, Endpoint beside) {
      return endpointIn(beside.token(), beside.space(), path, receiver);
    }

    private Endpoint endpointIn(String token, String space, String path, Receiver receiver) {
      JsonObject created = expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/webhooks", token,
          new JsonObject().put("url", receiver.url(path))), 201);
      return new Endpoint(token, space, created.getString("id"), created.getString("secret"));
    }

    JsonArray deliveries(Endpoint endpoint, String status) {
      return expect(send(HttpMethod.GET, endpoint.path() + "/deliveries?limit=100" + (status == null ? "" : "&status=" + status),
          endpoint.token(), null), 200).getJsonArray("deliveries");
    }

    /** The endpoint's only delivery; waits for it to exist. */
    JsonObject delivery(Endpoint endpoint) {
      await(() -> !deliveries(endpoint, null).isEmpty());
      JsonArray all = deliveries(endpoint, null);
      assertThat(all).hasSize(1);
      return all.getJsonObject(0);
    }

    void close() {
      if (closed) {
        return;
      }
      closed = true;
      handle.close().await();
      vertx.close().await();
    }
  }
}
