package io.cloudsync.ratelimit;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;

/**
 * Token buckets, one per key: a bucket holds at most {@code limitPerMinute} tokens, refills
 * continuously at {@code limitPerMinute / 60} tokens a second, and each admitted request takes one.
 * A bucket never seen before (or idle long enough to have refilled) is full.
 *
 * <p>One instance serves every gateway verticle of a CloudSync deployment, so implementations are
 * safe to call from several event loops at once.
 */
public interface RateLimiter {

  /** Takes one token from {@code key}'s bucket if it has one; the future always tells what happened. */
  Future<Decision> acquire(String key, int limitPerMinute);

  /**
   * The answer for one request, in the units of the RateLimit headers.
   *
   * @param allowed whether a token was taken
   * @param limit the bucket's size (requests per minute)
   * @param remaining whole tokens left after this request
   * @param resetSeconds whole seconds (rounded up) until the bucket is full again
   * @param retryAfterSeconds when refused, whole seconds (rounded up, at least 1) until a token is
   *     there; 0 when allowed
   */
  record Decision(boolean allowed, int limit, int remaining, long resetSeconds, long retryAfterSeconds) {
  }

  /** Redis-backed (shared by every node using that Redis) when {@code redis} is set, else in this process. */
  static RateLimiter create(Redis redis) {
    return redis == null ? new LocalRateLimiter() : new RedisRateLimiter(redis);
  }
}
