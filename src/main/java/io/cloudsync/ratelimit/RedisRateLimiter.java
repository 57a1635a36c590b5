package io.cloudsync.ratelimit;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.RedisConnection;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Token buckets in Redis, shared by every CloudSync node that uses the same Redis, so a fleet admits
 * the limit in total rather than per node. Each acquisition is one Lua script run atomically by
 * Redis (refill, take, store, expire), timed by Redis's own clock so nodes with skewed clocks agree.
 *
 * <p>All acquisitions go down one Redis connection of their own, pipelined. Through the shared
 * client's pool (a handful of connections, a short wait queue) a burst of a few dozen concurrent
 * requests would overflow and be admitted unchecked — exactly when limiting matters.
 *
 * <p>When Redis fails or does not answer in time the request is admitted: an outage of the limiter
 * must not become an outage of the API. A warning says so, at most once a minute. A broken
 * connection is dropped and the next request opens a new one; closing the shared client closes it.
 */
public final class RedisRateLimiter implements RateLimiter {
  private static final Logger LOG = LoggerFactory.getLogger(RedisRateLimiter.class);
  public static final String KEY_PREFIX = "cloudsync:ratelimit:";
  private static final long DEFAULT_TIMEOUT_MILLIS = 500;
  private static final long WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  /**
   * KEYS[1] the bucket, a hash {tokens, ts (Redis time in ms)}; ARGV[1] its size (requests a minute).
   * Returns {allowed 0/1, whole tokens left, ms until full, ms until the next token when refused}.
   * The key expires when the bucket would be full again, since a missing bucket counts as full:
   * idle clients leave nothing behind.
   */
  static final String SCRIPT = """
      local limit = tonumber(ARGV[1])
      local time = redis.call('TIME')
      local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
      local ms_per_token = 60000 / limit
      local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
      local tokens = tonumber(state[1])
      local ts = tonumber(state[2])
      if tokens == nil or ts == nil then
        tokens = limit
        ts = now
      end
      if now > ts then
        tokens = tokens + (now - ts) / ms_per_token
        ts = now
      end
      if tokens > limit then
        tokens = limit
      end
      local allowed = 0
      if tokens >= 1 then
        tokens = tokens - 1
        allowed = 1
      end
      local reset = math.ceil((limit - tokens) * ms_per_token)
      local retry = 0
      if allowed == 0 then
        retry = math.ceil((1 - tokens) * ms_per_token)
      end
      redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
      redis.call('PEXPIRE', KEYS[1], reset + 1000)
      return {allowed, math.floor(tokens), reset, retry}
      """;
  static final String SCRIPT_SHA = sha1(SCRIPT);

  private final Redis client;
  private final long timeoutMillis;
  private final LongSupplier nanoTime;
  private final AtomicLong lastWarning;
  private final AtomicLong unreportedFailures = new AtomicLong();
  private final AtomicBoolean failing = new AtomicBoolean();
  private final Object lock = new Object();
  /** The connection in use or being opened; null when the next request must open one. Guarded by lock. */
  private Future<RedisConnection> connection;

  public RedisRateLimiter(Redis redis) {
    this(redis, DEFAULT_TIMEOUT_MILLIS, System::nanoTime);
  }

  public RedisRateLimiter(Redis redis, long timeoutMillis, LongSupplier nanoTime) {
    this.client = redis;
    this.timeoutMillis = timeoutMillis;
    this.nanoTime = nanoTime;
    this.lastWarning = new AtomicLong(nanoTime.getAsLong() - WARNING_INTERVAL_NANOS);
  }

  @Override
  public Future<Decision> acquire(String key, int limitPerMinute) {
    if (limitPerMinute < 1) {
      return Future.failedFuture(new IllegalArgumentException("limitPerMinute must be positive"));
    }
    String bucket = KEY_PREFIX + key;
    String limit = Integer.toString(limitPerMinute);
    Future<RedisConnection> current = connection();
    return current
        .compose(open -> {
          RedisAPI redis = RedisAPI.api(open);
          return redis.evalsha(List.of(SCRIPT_SHA, "1", bucket, limit))
              .recover(failure -> isNoScript(failure)
                  // First use on this Redis, or it restarted: EVAL runs the script and caches it for EVALSHA.
                  ? redis.eval(List.of(SCRIPT, "1", bucket, limit))
                  : Future.failedFuture(failure));
        })
        .timeout(timeoutMillis, TimeUnit.MILLISECONDS)
        .onFailure(failure -> {
          // An error reply leaves the connection usable; anything else (closed, reset, no answer) does not.
          if (!(failure instanceof Response)) {
            forget(current);
          }
        })
        .map(reply -> decision(reply, limitPerMinute))
        .onSuccess(decision -> {
          if (failing.compareAndSet(true, false)) {
            LOG.info("Redis answers again; rate limits are enforced again");
          }
        })
        .otherwise(failure -> failOpen(failure, limitPerMinute));
  }

  private Future<RedisConnection> connection() {
    synchronized (lock) {
      if (connection == null) {
        Future<RedisConnection> connecting = client.connect();
        connection = connecting;
        connecting.onFailure(failure -> forget(connecting));
      }
      return connection;
    }
  }

  private void forget(Future<RedisConnection> broken) {
    synchronized (lock) {
      if (connection != broken) {
        return;
      }
      connection = null;
    }
    broken.onSuccess(RedisConnection::close);
  }

  private static Decision decision(Response reply, int limit) {
    boolean allowed = reply.get(0).toInteger() == 1;
    return new Decision(allowed, limit, reply.get(1).toInteger(), wholeSeconds(reply.get(2).toLong()),
        allowed ? 0 : Math.max(1, wholeSeconds(reply.get(3).toLong())));
  }

  private static long wholeSeconds(long millis) {
    return (millis + 999) / 1000;
  }

  private static boolean isNoScript(Throwable failure) {
    String message = failure.getMessage();
    return message != null && message.startsWith("NOSCRIPT");
  }

  /** Admits the request; nothing was counted, so the whole limit is reported as remaining. */
  private Decision failOpen(Throwable failure, int limit) {
    failing.set(true);
    long now = nanoTime.getAsLong();
    long last = lastWarning.get();
    if (now - last >= WARNING_INTERVAL_NANOS && lastWarning.compareAndSet(last, now)) {
      long earlier = unreportedFailures.getAndSet(0);
      LOG.warn("Rate limiting is not enforced: Redis failed ({}); requests are admitted unchecked until it "
              + "answers again{}", failure.toString(),
          earlier == 0 ? "" : " (" + earlier + " more failures since the last warning)");
    } else {
      unreportedFailures.incrementAndGet();
    }
    return new Decision(true, limit, limit, 0, 0);
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
