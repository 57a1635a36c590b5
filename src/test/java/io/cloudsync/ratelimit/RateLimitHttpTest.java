package io.cloudsync.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The in-process limiter as a client sees it. The shared deployment trusts 127.0.0.1 as a proxy, so each
 * test speaks for its own client address through X-Forwarded-For and the tests do not share buckets.
 */
@DisplayName("Rate limiting without Redis")
@ExtendWith(RealServers.class)
class RateLimitHttpTest {
  private static Vertx vertx;
  private static WebClient client;
  private static CloudSyncHandle handle;

  @BeforeAll
  static void start(Servers servers) {
    vertx = Vertx.vertx();
    client = WebClient.create(vertx);
    handle = TestCloudSync.deploy(vertx, TestCloudSync.config(servers)
        .put("ratelimit.api_per_minute", 5)
        .put("ratelimit.auth_per_minute", 2)
        .put("http.trusted_proxies", "127.0.0.1/32"));
  }

  @AfterAll
  static void stop() {
    handle.close().await();
    vertx.close().await();
  }

  static HttpResponse<Buffer> send(CloudSyncHandle target, HttpMethod method, String path, String forwardedFor) {
    HttpRequest<Buffer> request = client.request(method, target.httpPort(), "127.0.0.1", path);
    if (forwardedFor != null) {
      request.putHeader("X-Forwarded-For", forwardedFor);
    }
    return request.send().await();
  }

  private static HttpResponse<Buffer> get(String path, String forwardedFor) {
    return send(handle, HttpMethod.GET, path, forwardedFor);
  }

  static void assertRateLimited(HttpResponse<Buffer> response, int limit) {
    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(response.getHeader("Content-Type")).startsWith("application/json");
    JsonObject body = response.bodyAsJsonObject();
    assertThat(body.getInteger("status")).isEqualTo(429);
    assertThat(body.getString("code")).isEqualTo("rate_limited");
    assertThat(body.getString("message")).isNotBlank();
    long retryAfter = Long.parseLong(response.getHeader("Retry-After"));
    assertThat(retryAfter).isBetween(1L, 60L / limit + 1);
    assertThat(response.getHeader("RateLimit-Limit")).isEqualTo(Integer.toString(limit));
    assertThat(response.getHeader("RateLimit-Remaining")).isEqualTo("0");
    assertThat(Long.parseLong(response.getHeader("RateLimit-Reset"))).isBetween(retryAfter, 60L);
    assertThat(response.getHeader("X-Request-Id")).as("the usual headers are there too").isNotBlank();
  }

  @Test
  @DisplayName("admits exactly the limit, then answers 429 rate_limited with Retry-After and the RateLimit headers")
  void admitsTheLimit() {
    for (int i = 1; i <= 5; i++) {
      HttpResponse<Buffer> ok = get("/api/v1/info", "198.51.100.1");
      assertThat(ok.statusCode()).isEqualTo(200);
      assertThat(ok.bodyAsJsonObject().getString("name")).isEqualTo("CloudSync");
      assertThat(ok.getHeader("RateLimit-Limit")).isEqualTo("5");
      assertThat(ok.getHeader("RateLimit-Remaining")).isEqualTo(Integer.toString(5 - i));
      assertThat(Long.parseLong(ok.getHeader("RateLimit-Reset"))).isBetween(1L, 60L);
      assertThat(ok.getHeader("Retry-After")).isNull();
    }
    assertRateLimited(get("/api/v1/info", "198.51.100.1"), 5);
    assertRateLimited(get("/api/v1/openapi.json", "198.51.100.1"), 5);
    assertThat(get("/api/v1/info", "198.51.100.2").statusCode()).as("another client").isEqualTo(200);
  }

  @Test
  @DisplayName("never limits /health and /metrics, and sends them no RateLimit headers")
  void operationsAreNotLimited() {
    for (int i = 0; i < 6; i++) {
      get("/api/v1/info", null);
    }
    assertThat(get("/api/v1/info", null).statusCode()).isEqualTo(429);
    for (int i = 0; i < 10; i++) {
      for (String path : new String[] {"/health/live", "/health/ready", "/metrics"}) {
        HttpResponse<Buffer> response = get(path, null);
        assertThat(response.statusCode()).as(path).isEqualTo(200);
        assertThat(response.getHeader("RateLimit-Limit")).as(path).isNull();
      }
    }
  }

  @Test
  @DisplayName("limits sign-in paths more strictly, per client address, counting before the route answers")
  void authGroup() {
    HttpResponse<Buffer> first = send(handle, HttpMethod.POST, "/api/v1/auth/token", "198.51.100.3");
    assertThat(first.statusCode()).as("counted, then answered by the route: no credentials").isEqualTo(401);
    assertThat(first.getHeader("RateLimit-Limit")).isEqualTo("2");
    assertThat(first.getHeader("RateLimit-Remaining")).isEqualTo("1");
    assertThat(send(handle, HttpMethod.POST, "/api/v1/auth/signup", "198.51.100.3").statusCode()).isEqualTo(400);
    assertRateLimited(send(handle, HttpMethod.POST, "/api/v1/auth/token", "198.51.100.3"), 2);
    assertRateLimited(send(handle, HttpMethod.POST, "/api/v1/auth/mfa/verify", "198.51.100.3"), 2);

    HttpResponse<Buffer> api = get("/api/v1/info", "198.51.100.3");
    assertThat(api.statusCode()).as("the api group keeps its own, larger bucket").isEqualTo(200);
    assertThat(api.getHeader("RateLimit-Limit")).isEqualTo("5");
    assertThat(send(handle, HttpMethod.POST, "/api/v1/auth/token", "198.51.100.4").statusCode())
        .as("another address").isEqualTo(401);
  }

  @Test
  @DisplayName("believes X-Forwarded-For from a trusted proxy, taking the right-most address that is not a proxy")
  void trustedForwardedFor() {
    for (int i = 0; i < 5; i++) {
      assertThat(get("/api/v1/info", "203.0.113.1, 198.51.100.5").statusCode()).isEqualTo(200);
    }
    assertThat(get("/api/v1/info", "198.51.100.5").statusCode()).isEqualTo(429);
    assertThat(get("/api/v1/info", "203.0.113.99, 198.51.100.5").statusCode())
        .as("a forged left part does not give a new bucket").isEqualTo(429);
    assertThat(get("/api/v1/info", "198.51.100.5, 127.0.0.1").statusCode())
        .as("a trusted proxy in the chain is skipped").isEqualTo(429);
    assertThat(get("/api/v1/info", "198.51.100.6").statusCode()).isEqualTo(200);
  }

  @Test
  @DisplayName("ignores X-Forwarded-For from a peer that is not a trusted proxy")
  void untrustedForwardedFor(Servers servers) {
    Vertx own = Vertx.vertx();
    CloudSyncHandle untrusting = TestCloudSync.deploy(own, TestCloudSync.config(servers)
        .put("ratelimit.api_per_minute", 3));
    try {
      for (int i = 0; i < 3; i++) {
        assertThat(send(untrusting, HttpMethod.GET, "/api/v1/info", "198.51.100.1" + i).statusCode()).isEqualTo(200);
      }
      assertRateLimited(send(untrusting, HttpMethod.GET, "/api/v1/info", "198.51.100.50"), 3);
      assertRateLimited(send(untrusting, HttpMethod.GET, "/api/v1/info", null), 3);
    } finally {
      untrusting.close().await();
      own.close().await();
    }
  }

  @Test
  @DisplayName("refills the bucket over time: at 60 a minute, one more request a second later")
  void refills(Servers servers) throws InterruptedException {
    Vertx own = Vertx.vertx();
    CloudSyncHandle perSecond = TestCloudSync.deploy(own, TestCloudSync.config(servers)
        .put("ratelimit.api_per_minute", 60));
    try {
      int admitted = 0;
      HttpResponse<Buffer> refused = null;
      while (refused == null && admitted < 200) {
        HttpResponse<Buffer> response = send(perSecond, HttpMethod.GET, "/api/v1/info", null);
        if (response.statusCode() == 429) {
          refused = response;
        } else {
          admitted++;
        }
      }
      assertThat(admitted).isGreaterThanOrEqualTo(60);
      assertThat(refused).isNotNull();
      assertThat(refused.getHeader("Retry-After")).isEqualTo("1");

      Thread.sleep(1100);
      HttpResponse<Buffer> again = send(perSecond, HttpMethod.GET, "/api/v1/info", null);
      assertThat(again.statusCode()).isEqualTo(200);
      assertThat(Integer.parseInt(again.getHeader("RateLimit-Remaining")))
          .as("refilled by about a token, not reset to full").isLessThan(10);
    } finally {
      perSecond.close().await();
      own.close().await();
    }
  }
}
