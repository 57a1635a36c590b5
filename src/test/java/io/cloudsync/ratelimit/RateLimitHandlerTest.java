package io.cloudsync.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.auth.Principal;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.handlers.FailureHandler;
import io.cloudsync.handlers.RateLimitHandler;
import io.cloudsync.handlers.RateLimitHandler.Group;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The handler on its own, behind a stand-in for the authentication handler (which is not written yet)
 * that signs the caller in as the user named in {@code X-Test-User}.
 */
@DisplayName("The rate-limit handler")
class RateLimitHandlerTest {
  private Vertx vertx;
  private HttpServer server;
  private WebClient client;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    Router router = Router.router(vertx);
    router.route().handler(ctx -> {
      String user = ctx.request().getHeader("X-Test-User");
      if (user != null) {
        ctx.put(Principal.CONTEXT_KEY, new Principal(user, user + "@example.com", "user", "t", "s", Long.MAX_VALUE, 0));
      }
      ctx.next();
    });
    router.route("/api/*").handler(new RateLimitHandler(new LocalRateLimiter(),
        new CloudSyncConfig.RateLimit(true, 2, 1, List.of())));
    router.route("/api/*").handler(ctx -> ctx.end("ok"));
    router.route().failureHandler(new FailureHandler());
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await();
    client = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    vertx.close().await();
  }

  private int status(HttpMethod method, String path, String user) {
    HttpRequest<Buffer> request = client.request(method, server.actualPort(), "127.0.0.1", path);
    if (user != null) {
      request.putHeader("X-Test-User", user);
    }
    HttpResponse<Buffer> response = request.send().await();
    return response.statusCode();
  }

  @Test
  @DisplayName("gives each signed-in user an api bucket of their own, apart from anonymous callers at the same address")
  void perUser() {
    for (String user : new String[] {"alice", "bob", null}) {
      assertThat(status(HttpMethod.GET, "/api/v1/info", user)).as(user).isEqualTo(200);
      assertThat(status(HttpMethod.GET, "/api/v1/info", user)).as(user).isEqualTo(200);
      assertThat(status(HttpMethod.GET, "/api/v1/info", user)).as(user).isEqualTo(429);
    }
  }

  @Test
  @DisplayName("keeps the auth group per address even for signed-in callers")
  void authPerAddress() {
    assertThat(status(HttpMethod.POST, "/api/v1/auth/token", "alice")).isEqualTo(200);
    assertThat(status(HttpMethod.POST, "/api/v1/auth/refresh", "bob")).isEqualTo(429);
    assertThat(status(HttpMethod.POST, "/api/v1/auth/signup", null)).isEqualTo(429);
    assertThat(status(HttpMethod.GET, "/api/v1/info", "alice")).as("the api group is apart").isEqualTo(200);
  }

  @Test
  @DisplayName("puts POSTs to the four sign-in paths in the auth group, however the path is spelled, and the rest in api")
  void groups() {
    for (String path : List.of("/api/v1/auth/token", "/api/v1/auth/signup", "/api/v1/auth/refresh",
        "/api/v1/auth/mfa/verify", "/api/v1/auth/token/")) {
      assertThat(RateLimitHandler.group(HttpMethod.POST, path)).as(path).isEqualTo(Group.AUTH);
    }
    assertThat(RateLimitHandler.group(HttpMethod.GET, "/api/v1/auth/token")).isEqualTo(Group.API);
    assertThat(RateLimitHandler.group(HttpMethod.POST, "/api/v1/auth/mfa")).isEqualTo(Group.API);
    assertThat(RateLimitHandler.group(HttpMethod.POST, "/api/v1/spaces")).isEqualTo(Group.API);
    // Vert.x normalizes the path before the handler sees it (the router matches the same form).
    assertThat(status(HttpMethod.POST, "/api/v1//auth/./token", null)).isEqualTo(200);
    assertThat(status(HttpMethod.POST, "/api/v1/auth/%74oken", null)).isEqualTo(429);
  }

  @Test
  @DisplayName("keys buckets by user id, by IPv4 address, and by the /64 of an IPv6 address")
  void keys() throws Exception {
    Principal alice = new Principal("u-1", "a@example.com", "user", "t", "s", 0, 0);
    InetAddress v4 = InetAddress.getByName("198.51.100.7");
    InetAddress v6 = InetAddress.getByName("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
    assertThat(RateLimitHandler.bucketKey(Group.API, alice, v4)).isEqualTo("api:user:u-1");
    assertThat(RateLimitHandler.bucketKey(Group.API, null, v4)).isEqualTo("api:ip:198.51.100.7");
    assertThat(RateLimitHandler.bucketKey(Group.AUTH, alice, v4)).isEqualTo("auth:ip:198.51.100.7");
    assertThat(RateLimitHandler.bucketKey(Group.API, null, v6)).isEqualTo("api:ip:2001:db8:1:2:0:0:0:0/64");
    assertThat(RateLimitHandler.bucketKey(Group.API, null, InetAddress.getByName("2001:db8:1:2::1")))
        .isEqualTo(RateLimitHandler.bucketKey(Group.API, null, v6));
  }
}
