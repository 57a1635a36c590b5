package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.cloudsync.observability.RequestIds;
import io.cloudsync.sync.LiveClient;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.cloudsync.verticles.MetadataVerticle;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

@DisplayName("The gateway")
@ExtendWith(RealServers.class)
class GatewayTest {
  private static Vertx vertx;
  private static WebClient client;
  private static CloudSyncHandle handle;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    client = WebClient.create(vertx);
    handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers)
        .put("http.body_limit.json", 1024)
        .put("http.cors.origins", "https://app.example.com"));
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> send(HttpMethod method, String path) {
    return client.request(method, handle.httpPort(), "127.0.0.1", path).send().await();
  }

  private static void assertSecurityHeaders(HttpResponse<Buffer> response) {
    assertThat(response.getHeader("X-Content-Type-Options")).isEqualTo("nosniff");
    assertThat(response.getHeader("X-Frame-Options")).isEqualTo("DENY");
    assertThat(response.getHeader("Content-Security-Policy")).contains("default-src 'self'").contains("frame-ancestors 'none'");
    assertThat(response.getHeader("Referrer-Policy")).isEqualTo("no-referrer");
    assertThat(response.getHeader("X-Request-Id")).isNotBlank();
  }

  private static void assertError(HttpResponse<Buffer> response, int status, String code) {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(response.getHeader("Content-Type")).startsWith("application/json");
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getInteger("status")).isEqualTo(status);
    assertThat(body.getString("code")).isEqualTo(code);
    assertThat(body.getString("message")).isNotBlank();
  }

  @Test
  @DisplayName("puts the security headers on successes and errors alike")
  void securityHeaders() {
    assertSecurityHeaders(send(HttpMethod.GET, "/health/live"));
    assertSecurityHeaders(send(HttpMethod.GET, "/no/such/thing"));
    assertThat(send(HttpMethod.GET, "/health/live").getHeader("Strict-Transport-Security")).isNull();
  }

  @Test
  @DisplayName("answers an unknown path with 404, a wrong method with 405, both as catalogue JSON")
  void notFoundAndMethodNotAllowed() {
    assertError(send(HttpMethod.GET, "/api/v1/nothing-here"), 404, "not_found");
    assertError(send(HttpMethod.DELETE, "/health/live"), 405, "method_not_allowed");
  }

  @Test
  @DisplayName("refuses a JSON body over the configured limit with 413 payload_too_large")
  void bodyLimit() {
    HttpResponse<Buffer> response = client.post(handle.httpPort(), "127.0.0.1", "/api/v1/info")
        .putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer("{\"x\":\"" + "a".repeat(4096) + "\"}")).await();
    assertError(response, 413, "payload_too_large");
  }

  @Test
  @DisplayName("echoes a plain X-Request-Id, replaces a hostile one, and logs the id on the node that did the work")
  void requestIds() {
    List<String> seen = new CopyOnWriteArrayList<>();
    Logger logger = (Logger) LoggerFactory.getLogger(MetadataVerticle.class);
    AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        seen.add(RequestIds.current() + " " + event.getFormattedMessage());
      }
    };
    capture.start();
    Level before = logger.getLevel();
    logger.setLevel(Level.DEBUG);
    logger.addAppender(capture);
    try {
      HttpResponse<Buffer> mine = client.get(handle.httpPort(), "127.0.0.1", "/api/v1/info")
          .putHeader("X-Request-Id", "trace-123.abc").send().await();
      assertThat(mine.statusCode()).isEqualTo(200);
      assertThat(mine.getHeader("X-Request-Id")).isEqualTo("trace-123.abc");
      assertThat(seen).anyMatch(line -> line.startsWith("trace-123.abc "));

      HttpResponse<Buffer> hostile = client.get(handle.httpPort(), "127.0.0.1", "/api/v1/info")
          .putHeader("X-Request-Id", "<script>\"x\"").send().await();
      assertThat(hostile.getHeader("X-Request-Id")).isNotEqualTo("<script>\"x\"").matches("[0-9a-f-]{36}");

      String generated = send(HttpMethod.GET, "/health/live").getHeader("X-Request-Id");
      assertThat(generated).isNotEqualTo(send(HttpMethod.GET, "/health/live").getHeader("X-Request-Id"));
    } finally {
      logger.detachAppender(capture);
      logger.setLevel(before);
    }
  }

  @Test
  @DisplayName("writes an access-log line for a sync WebSocket's upgrade, which Vert.x never ends as a response")
  void syncUpgradeLogged() {
    List<String> seen = new CopyOnWriteArrayList<>();
    Logger logger = (Logger) LoggerFactory.getLogger("io.cloudsync.access");
    AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        seen.add(event.getFormattedMessage());
      }
    };
    capture.start();
    Level before = logger.getLevel();
    logger.setLevel(Level.INFO);
    logger.addAppender(capture);
    try (LiveClient live = LiveClient.connect(vertx, handle.httpPort(), null)) {
      live.send(new JsonObject().put("type", "ping"));
      assertThat(live.nextOfType("pong", 5000)).isNotNull();
      assertThat(seen).anyMatch(line -> line.startsWith("GET /api/v1/sync 101 "));
    } finally {
      logger.detachAppender(capture);
      logger.setLevel(before);
    }
  }

  @Test
  @DisplayName("lets allow-listed origins call cross-site and refuses the others")
  void cors() {
    HttpResponse<Buffer> allowed = client.request(HttpMethod.OPTIONS, handle.httpPort(), "127.0.0.1", "/api/v1/info")
        .putHeader("Origin", "https://app.example.com")
        .putHeader("Access-Control-Request-Method", "GET").send().await();
    assertThat(allowed.statusCode()).isBetween(200, 204);
    assertThat(allowed.getHeader("Access-Control-Allow-Origin")).isEqualTo("https://app.example.com");

    HttpResponse<Buffer> simple = client.get(handle.httpPort(), "127.0.0.1", "/health/live")
        .putHeader("Origin", "https://app.example.com").send().await();
    assertThat(simple.getHeader("Access-Control-Expose-Headers")).contains("X-Request-Id");

    HttpResponse<Buffer> other = client.get(handle.httpPort(), "127.0.0.1", "/api/v1/info")
        .putHeader("Origin", "https://evil.example.net").send().await();
    assertThat(other.getHeader("Access-Control-Allow-Origin")).isNull();
    assertThat(other.statusCode()).isEqualTo(403);

    // Browsers send Origin on same-origin POSTs and WebSocket handshakes too; the server's own pages are no CORS.
    HttpResponse<Buffer> own = client.get(handle.httpPort(), "127.0.0.1", "/api/v1/info")
        .putHeader("Origin", "http://127.0.0.1:" + handle.httpPort()).send().await();
    assertThat(own.statusCode()).isEqualTo(200);
    assertThat(own.getHeader("Access-Control-Allow-Origin")).isNull();
  }

  @Test
  @DisplayName("serves TLS 1.2+ from PEM files and then sends HSTS")
  void tls(Servers servers) {
    SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
    Vertx vertx = Vertx.vertx();
    CloudSyncHandle secure = TestCloudSync.deploy(vertx, TestCloudSync.config(servers)
        .put("http.tls.cert", certificate.certificatePath())
        .put("http.tls.key", certificate.privateKeyPath()));
    try {
      WebClient tlsClient = WebClient.create(vertx, new WebClientOptions().setSsl(true).setTrustAll(true)
          .setVerifyHost(false));
      HttpResponse<Buffer> response = tlsClient.get(secure.httpPort(), "127.0.0.1", "/health/live").send().await();
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.getHeader("Strict-Transport-Security")).contains("max-age=");
      // The sync WebSocket over TLS too (a ping needs no sign-in).
      try (LiveClient live = LiveClient.connect(vertx, secure.httpPort(), null,
          new WebSocketClientOptions().setSsl(true).setTrustAll(true).setVerifyHost(false), null)) {
        live.send(new JsonObject().put("type", "ping"));
        assertThat(live.nextOfType("pong", 5000)).isNotNull();
      }

      WebClient oldTls = WebClient.create(vertx, new WebClientOptions().setSsl(true).setTrustAll(true)
          .setVerifyHost(false).setEnabledSecureTransportProtocols(java.util.Set.of("TLSv1.1")));
      org.assertj.core.api.Assertions.assertThatThrownBy(
          () -> oldTls.get(secure.httpPort(), "127.0.0.1", "/health/live").send().await());
    } finally {
      secure.close().await();
      vertx.close().await();
    }
  }
}
