package io.cloudsync.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

/**
 * The Redis-backed limiter. The test run's Redis is shared with other test classes, so each test speaks
 * for a random client address (127.0.0.1 is a trusted proxy here) and never meets another test's bucket.
 */
@DisplayName("Rate limiting with Redis")
@ExtendWith(RealServers.class)
class RedisRateLimitTest {
  private static Vertx vertx;
  private static WebClient client;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    client = WebClient.create(vertx);
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static JsonObject config(Servers servers, String redisUrl, int apiPerMinute) {
    return TestCloudSync.config(servers)
        .put("redis.url", redisUrl)
        .put("ratelimit.api_per_minute", apiPerMinute)
        .put("http.trusted_proxies", "127.0.0.1/32");
  }

  private static String randomClient() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return "10." + random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(1, 255);
  }

  private static Future<HttpResponse<Buffer>> info(WebClient web, CloudSyncHandle node, String clientAddress) {
    return web.get(node.httpPort(), "127.0.0.1", "/api/v1/info").putHeader("X-Forwarded-For", clientAddress).send();
  }

  @Test
  @DisplayName("lets two CloudSync deployments sharing one Redis admit the limit in total, not each")
  void twoNodesShareTheLimit(Servers servers) {
    Vertx otherVertx = Vertx.vertx();
    CloudSyncHandle first = TestCloudSync.deploy(vertx, config(servers, servers.redisUrl(), 10));
    CloudSyncHandle second = TestCloudSync.deploy(otherVertx, config(servers, servers.redisUrl(), 10));
    WebClient otherClient = WebClient.create(otherVertx);
    String clientAddress = randomClient();
    try {
      // 40 requests at once, half through each node: the buckets' script must not let two of them take one token.
      List<Future<HttpResponse<Buffer>>> responses = new ArrayList<>();
      long started = System.nanoTime();
      for (int i = 0; i < 20; i++) {
        responses.add(info(client, first, clientAddress));
        responses.add(info(otherClient, second, clientAddress));
      }
      Future.join(responses).await();
      // One token comes back every 6 s: a machine slow enough to take that long earns that many more.
      int refilled = (int) ((System.nanoTime() - started) / 6_000_000_000L);
      int admitted = 0;
      int admittedBySecond = 0;
      for (int i = 0; i < responses.size(); i++) {
        HttpResponse<Buffer> response = responses.get(i).result();
        assertThat(response.getHeader("RateLimit-Limit")).isEqualTo("10");
        if (response.statusCode() == 200) {
          admitted++;
          admittedBySecond += i % 2;
        } else {
          RateLimitHttpTest.assertRateLimited(response, 10);
        }
      }
      assertThat(admitted).isBetween(10, 10 + refilled);
      assertThat(admittedBySecond).as("both nodes served").isBetween(1, 9 + refilled);

      HttpResponse<Buffer> later = info(otherClient, second, clientAddress).await();
      RateLimitHttpTest.assertRateLimited(later, 10);
      assertThat(info(client, first, randomClient()).await().statusCode()).as("another client").isEqualTo(200);
    } finally {
      second.close().await();
      first.close().await();
      otherVertx.close().await();
    }
  }

  @Test
  @DisplayName("takes exactly the limit from a burst of hundreds of concurrent requests, none admitted unchecked")
  void burst(Servers servers) {
    Redis redis = Redis.createClient(vertx, servers.redisUrl());
    RedisRateLimiter limiter = new RedisRateLimiter(redis);
    String key = "test:burst:" + randomClient();
    try {
      List<Future<RateLimiter.Decision>> decisions = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        decisions.add(limiter.acquire(key, 100));
      }
      Future.join(decisions).await();
      long admitted = decisions.stream().filter(decision -> decision.result().allowed()).count();
      // A request admitted because Redis could not be asked reports the whole limit as remaining.
      long unchecked = decisions.stream().filter(decision -> decision.result().remaining() == 100).count();
      assertThat(unchecked).isZero();
      assertThat(admitted).isEqualTo(100);
    } finally {
      redis.close();
    }
  }

  @Test
  @DisplayName("lets an idle bucket expire from Redis once it would be full again")
  void bucketsExpire(Servers servers) {
    CloudSyncHandle node = TestCloudSync.deploy(vertx, config(servers, servers.redisUrl(), 60));
    Redis redis = Redis.createClient(vertx, servers.redisUrl());
    String clientAddress = randomClient();
    try {
      for (int i = 0; i < 3; i++) {
        assertThat(info(client, node, clientAddress).await().statusCode()).isEqualTo(200);
      }
      // Three tokens taken at one a second: full again in about 3 s, plus a second of margin.
      long ttl = RedisAPI.api(redis).pttl(RedisRateLimiter.KEY_PREFIX + "api:ip:" + clientAddress).await().toLong();
      assertThat(ttl).isBetween(1_000L, 4_100L);
    } finally {
      redis.close();
      node.close().await();
    }
  }

  @Test
  @DisplayName("admits every request while Redis is down, warns once, and limits again when it is back")
  void failsOpen(Servers servers) throws Exception {
    int port = Servers.freePort();
    RedisServer redisServer = RedisServer.newRedisServer().port(port).bind("127.0.0.1")
        .setting("save \"\"").setting("appendonly no").build();
    redisServer.start();
    List<String> warnings = new CopyOnWriteArrayList<>();
    Logger logger = (Logger) LoggerFactory.getLogger(RedisRateLimiter.class);
    AppenderBase<ILoggingEvent> capture = new AppenderBase<>() {
      @Override
      protected void append(ILoggingEvent event) {
        if (event.getLevel() == Level.WARN) {
          warnings.add(event.getFormattedMessage());
        }
      }
    };
    capture.start();
    logger.addAppender(capture);
    CloudSyncHandle node = TestCloudSync.deploy(vertx, config(servers, "redis://127.0.0.1:" + port, 2));
    String clientAddress = randomClient();
    try {
      assertThat(info(client, node, clientAddress).await().statusCode()).isEqualTo(200);
      assertThat(info(client, node, clientAddress).await().statusCode()).isEqualTo(200);
      RateLimitHttpTest.assertRateLimited(info(client, node, clientAddress).await(), 2);

      redisServer.stop();
      for (int i = 0; i < 5; i++) {
        HttpResponse<Buffer> response = info(client, node, clientAddress).await();
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.getHeader("RateLimit-Remaining")).as("nothing is counted").isEqualTo("2");
      }
      assertThat(warnings).hasSize(1);
      assertThat(warnings.get(0)).contains("Rate limiting is not enforced");

      redisServer.start();
      // The restarted Redis is empty (bucket full, script not cached) and the client reconnects.
      List<Integer> statuses = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        statuses.add(info(client, node, clientAddress).await().statusCode());
      }
      assertThat(statuses).containsExactly(200, 200, 429);
      assertThat(warnings).hasSize(1);
    } finally {
      logger.detachAppender(capture);
      node.close().await();
      redisServer.stop();
    }
  }
}
