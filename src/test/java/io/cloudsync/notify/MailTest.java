package io.cloudsync.notify;

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
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("E-mail notifications")
@ExtendWith(RealServers.class)
class MailTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  private GreenMail smtp;
  private Vertx vertx;
  private CloudSyncHandle handle;
  private Api api;

  @BeforeEach
  void startSmtp() {
    smtp = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.start();
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() {
    if (handle != null) {
      handle.close().await();
    }
    vertx.close().await();
    smtp.stop();
  }

  private JsonObject config(Servers servers) {
    return TestCloudSync.config(servers)
        .put("mail.host", "127.0.0.1")
        .put("mail.port", smtp.getSmtp().getPort())
        .put("mail.starttls", "disabled")
        .put("mail.from", "CloudSync <cloudsync@example.com>")
        .put("webhooks.poll_interval_ms", 50);
  }

  private void deploy(JsonObject config) {
    handle = TestCloudSync.deploy(vertx, config);
    api = new Api(vertx, handle.httpPort());
  }

  private void restart(JsonObject config) {
    handle.close().await();
    deploy(config);
  }

  private HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body) {
    HttpRequest<Buffer> request = api.request(method, path, token);
    return body == null ? request.send().await() : request.sendJsonObject(body).await();
  }

  private JsonObject expect(HttpResponse<Buffer> response, int status) {
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
    return response.body() == null || response.body().length() == 0 ? null : response.bodyAsJsonObject();
  }

  private String space(String token, String name) {
    return expect(send(HttpMethod.POST, "/api/v1/spaces", token, new JsonObject().put("name", name)), 201).getString("id");
  }

  private void share(String token, String space, String email) {
    expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/members", token,
        new JsonObject().put("email", email).put("role", "editor")), 200);
  }

  private void upload(String token, String space, String path) {
    HttpResponse<Buffer> response = api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/" + path, token)
        .sendBuffer(Buffer.buffer("content of " + path)).await();
    assertThat(response.statusCode()).as(response.bodyAsString()).isIn(200, 201);
  }

  private List<MimeMessage> mailTo(String address) {
    return Arrays.stream(smtp.getReceivedMessages()).filter(m -> {
      try {
        return Arrays.stream(m.getRecipients(Message.RecipientType.TO)).anyMatch(a -> a.toString().equals(address));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }).toList();
  }

  private static String text(MimeMessage message) {
    try {
      return String.valueOf(message.getContent());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String subject(MimeMessage message) {
    try {
      return message.getSubject();
    } catch (Exception e) {
      throw new AssertionError(e);
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

  @Test
  @DisplayName("a member is mailed when a space is shared with them; the one who shared is not")
  void sharedMail(Servers servers) throws Exception {
    deploy(config(servers));
    String ownerEmail = "owner-" + UUID.randomUUID() + "@example.com";
    String memberEmail = "member-" + UUID.randomUUID() + "@example.com";
    String owner = api.newUser(ownerEmail);
    api.newUser(memberEmail);
    String space = space(owner, "Holiday photos");
    share(owner, space, memberEmail);

    await(() -> mailTo(memberEmail).size() == 1);
    MimeMessage mail = mailTo(memberEmail).get(0);
    assertThat(subject(mail)).contains("shared \"Holiday photos\" with you");
    assertThat(text(mail)).contains("as editor").contains(space);
    assertThat(mail.getFrom()[0].toString()).contains("cloudsync@example.com");
    sleep(500);
    assertThat(mailTo(ownerEmail)).isEmpty();
    assertThat(mailTo(memberEmail)).hasSize(1);
  }

  @Test
  @DisplayName("members who opt in get new files batched: one mail per space per interval, listing the files")
  void newFilesBatched(Servers servers) {
    deploy(config(servers).put("notifications.batch_interval", "1500ms"));
    String owner = api.newUser("owner-" + UUID.randomUUID() + "@example.com");
    String readerEmail = "reader-" + UUID.randomUUID() + "@example.com";
    String quietEmail = "quiet-" + UUID.randomUUID() + "@example.com";
    String reader = api.newUser(readerEmail);
    api.newUser(quietEmail);
    JsonObject before = expect(send(HttpMethod.GET, "/api/v1/me/notifications", reader, null), 200);
    assertThat(before.getBoolean("new_files")).isFalse();
    assertThat(before.getBoolean("mail_enabled")).isTrue();
    JsonObject set = expect(send(HttpMethod.PUT, "/api/v1/me/notifications", reader,
        new JsonObject().put("new_files", true)), 200);
    assertThat(set.getBoolean("new_files")).isTrue();
    assertThat(expect(send(HttpMethod.PUT, "/api/v1/me/notifications", reader,
        new JsonObject().put("new_files", "yes")), 400).getString("code")).isEqualTo("validation_failed");

    String space = space(owner, "Reports");
    share(owner, space, readerEmail);
    share(owner, space, quietEmail);
    await(() -> mailTo(readerEmail).size() == 1 && mailTo(quietEmail).size() == 1); // the share notices
    Instant firstFile = Instant.now();
    upload(owner, space, "q1.pdf");
    upload(owner, space, "q2.pdf");
    upload(owner, space, "q3.pdf");
    // The reader's own upload is not told to the reader.
    upload(reader, space, "mine.txt");

    await(() -> mailTo(readerEmail).size() == 2);
    Instant firstDigest = Instant.now();
    MimeMessage digest = mailTo(readerEmail).get(1);
    assertThat(subject(digest)).isEqualTo("3 new files in \"Reports\"");
    assertThat(text(digest)).contains("q1.pdf", "q2.pdf", "q3.pdf").doesNotContain("mine.txt");
    assertThat(Duration.between(firstFile, firstDigest)).isGreaterThanOrEqualTo(Duration.ofMillis(1500));

    upload(owner, space, "q4.pdf");
    await(() -> mailTo(readerEmail).size() == 3);
    assertThat(subject(mailTo(readerEmail).get(2))).isEqualTo("A new file in \"Reports\"");
    assertThat(text(mailTo(readerEmail).get(2))).contains("q4.pdf");
    // Members who did not opt in got only the share notice.
    assertThat(mailTo(quietEmail)).hasSize(1);
  }

  @Test
  @DisplayName("pending notifications are in PostgreSQL: a restart before they are due loses none")
  void survivesRestart(Servers servers) {
    JsonObject config = config(servers).put("notifications.batch_interval", "3s");
    deploy(config);
    String owner = api.newUser("owner-" + UUID.randomUUID() + "@example.com");
    String readerEmail = "reader-" + UUID.randomUUID() + "@example.com";
    String reader = api.newUser(readerEmail);
    expect(send(HttpMethod.PUT, "/api/v1/me/notifications", reader, new JsonObject().put("new_files", true)), 200);
    String space = space(owner, "Restarted");
    share(owner, space, readerEmail);
    upload(owner, space, "before-restart.txt");
    Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(config.getString("pg.url"))).using(vertx).build();
    try {
      await(() -> pool.query("SELECT count(*) FROM notification_digests").execute().await().iterator().next().getLong(0) == 1);
    } finally {
      pool.close().await();
    }
    restart(config);

    await(() -> mailTo(readerEmail).size() == 2);
    assertThat(text(mailTo(readerEmail).get(1))).contains("before-restart.txt");
    sleep(500);
    assertThat(mailTo(readerEmail)).hasSize(2);
  }

  @Test
  @DisplayName("two nodes on one database send each mail once")
  void twoNodesSendEachOnce(Servers servers) {
    JsonObject config = config(servers).put("webhooks.poll_interval_ms", 20);
    deploy(config);
    Vertx otherVertx = Vertx.vertx();
    CloudSyncHandle other = TestCloudSync.deploy(otherVertx, config.copy().put("data_dir", TestCloudSync.tempDir().toString()));
    try {
      Api otherApi = new Api(otherVertx, other.httpPort());
      String owner = api.newUser("owner-" + UUID.randomUUID() + "@example.com");
      String space = space(owner, "Team");
      List<String> members = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) {
        String email = "member" + i + "-" + UUID.randomUUID() + "@example.com";
        (i % 2 == 0 ? api : otherApi).signup(email, Api.PASSWORD);
        members.add(email);
      }
      for (int i = 0; i < members.size(); i++) {
        Api via = i % 2 == 0 ? api : otherApi;
        HttpResponse<Buffer> shared = via.request(HttpMethod.POST, "/api/v1/spaces/" + space + "/members", owner)
            .sendJsonObject(new JsonObject().put("email", members.get(i)).put("role", "viewer")).await();
        assertThat(shared.statusCode()).as(shared.bodyAsString()).isEqualTo(200);
      }
      await(() -> smtp.getReceivedMessages().length >= members.size());
      sleep(800);
      assertThat(smtp.getReceivedMessages()).hasSize(members.size());
      for (String member : members) {
        assertThat(mailTo(member)).as(member).hasSize(1);
      }
    } finally {
      other.close().await();
      otherVertx.close().await();
    }
  }

  @Test
  @DisplayName("without mail.host nothing is queued, and the preference says mail is off")
  void offWithoutHost(Servers servers) {
    JsonObject config = TestCloudSync.config(servers).put("webhooks.poll_interval_ms", 50);
    deploy(config);
    String owner = api.newUser("owner-" + UUID.randomUUID() + "@example.com");
    String memberEmail = "member-" + UUID.randomUUID() + "@example.com";
    String member = api.newUser(memberEmail);
    assertThat(expect(send(HttpMethod.PUT, "/api/v1/me/notifications", member, new JsonObject().put("new_files", true)), 200)
        .getBoolean("mail_enabled")).isFalse();
    String space = space(owner, "Quiet");
    share(owner, space, memberEmail);
    upload(owner, space, "a.txt");
    sleep(500);
    Pool pool = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(config.getString("pg.url"))).using(vertx).build();
    try {
      assertThat(pool.query("SELECT (SELECT count(*) FROM mail_outbox) + (SELECT count(*) FROM notification_digests)")
          .execute().await().iterator().next().getLong(0)).isZero();
    } finally {
      pool.close().await();
    }
    assertThat(smtp.getReceivedMessages()).isEmpty();
  }
}
