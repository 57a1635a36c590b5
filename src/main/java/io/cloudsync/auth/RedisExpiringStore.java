package io.cloudsync.auth;

import io.vertx.core.Future;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import java.util.ArrayList;
import java.util.List;

/** The store in Redis, shared by every node. Keys are prefixed {@code cloudsync:}. */
final class RedisExpiringStore implements ExpiringStore {
  private static final String PREFIX = "cloudsync:";
  /** INCR and, for a new counter, EXPIRE in one atomic step. */
  private static final String INCREMENT =
      "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n";

  private final RedisAPI api;

  RedisExpiringStore(Redis redis) {
    this.api = RedisAPI.api(redis);
  }

  @Override
  public Future<Long> increment(String key, long ttlSeconds) {
    return api.eval(List.of(INCREMENT, "1", PREFIX + key, String.valueOf(ttlSeconds))).map(Response::toLong);
  }

  @Override
  public Future<Long> secondsLeft(String key) {
    return api.ttl(PREFIX + key).map(r -> Math.max(0, r.toLong()));
  }

  @Override
  public Future<Void> put(String key, String value, long ttlSeconds) {
    return api.set(List.of(PREFIX + key, value, "EX", String.valueOf(Math.max(1, ttlSeconds)))).mapEmpty();
  }

  @Override
  public Future<List<String>> getAll(List<String> keys) {
    List<String> prefixed = keys.stream().map(k -> PREFIX + k).toList();
    return api.mget(prefixed).map(response -> {
      List<String> out = new ArrayList<>(keys.size());
      for (Response item : response) {
        out.add(item == null ? null : item.toString());
      }
      return out;
    });
  }

  @Override
  public Future<Void> delete(String key) {
    return api.del(List.of(PREFIX + key)).mapEmpty();
  }

  @Override
  public void close() {
    // The Redis client belongs to CloudSync and is closed with it.
  }
}
