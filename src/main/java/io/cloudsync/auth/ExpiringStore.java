package io.cloudsync.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.redis.client.Redis;
import java.util.List;

/**
 * Small values that expire: revoked token ids, failed sign-in counters. Redis when configured, so
 * every node sees the same values; otherwise a bounded map in this process.
 */
public interface ExpiringStore {
  /** Adds one to the counter and answers the new count; a new counter lives {@code ttlSeconds}. */
  Future<Long> increment(String key, long ttlSeconds);

  /** Seconds until the key expires; 0 when it does not exist. */
  Future<Long> secondsLeft(String key);

  Future<Void> put(String key, String value, long ttlSeconds);

  /** The values of the keys, null for the missing ones, in the same order. */
  Future<List<String>> getAll(List<String> keys);

  Future<Void> delete(String key);

  void close();

  static ExpiringStore create(Vertx vertx, Redis redis) {
    return redis == null ? new LocalExpiringStore(vertx) : new RedisExpiringStore(redis);
  }
}
