package io.cloudsync.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The in-process store: a map swept of expired keys every few seconds, with a cap on its size. */
final class LocalExpiringStore implements ExpiringStore {
  /** Past this many keys the oldest-expiring ones make room; sized for a busy single node. */
  static final int MAX_KEYS = 500_000;

  private record Entry(String value, long expiresAtMillis) {
  }

  private final Vertx vertx;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final long sweeper;

  LocalExpiringStore(Vertx vertx) {
    this.vertx = vertx;
    this.sweeper = vertx.setPeriodic(5_000, id -> sweep());
  }

  private void sweep() {
    long now = System.currentTimeMillis();
    entries.values().removeIf(entry -> entry.expiresAtMillis() <= now);
    if (entries.size() > MAX_KEYS) {
      entries.entrySet().stream()
          .sorted((a, b) -> Long.compare(a.getValue().expiresAtMillis(), b.getValue().expiresAtMillis()))
          .limit(entries.size() - MAX_KEYS)
          .map(Map.Entry::getKey)
          .toList()
          .forEach(entries::remove);
    }
  }

  private Entry live(String key) {
    Entry entry = entries.get(key);
    return entry == null || entry.expiresAtMillis() <= System.currentTimeMillis() ? null : entry;
  }

  @Override
  public Future<Long> increment(String key, long ttlSeconds) {
    long now = System.currentTimeMillis();
    Entry updated = entries.compute(key, (k, old) -> old == null || old.expiresAtMillis() <= now
        ? new Entry("1", now + ttlSeconds * 1000)
        : new Entry(String.valueOf(Long.parseLong(old.value()) + 1), old.expiresAtMillis()));
    return Future.succeededFuture(Long.parseLong(updated.value()));
  }

  @Override
  public Future<Long> secondsLeft(String key) {
    Entry entry = live(key);
    return Future.succeededFuture(entry == null ? 0 : Math.max(1, (entry.expiresAtMillis() - System.currentTimeMillis() + 999) / 1000));
  }

  @Override
  public Future<Void> put(String key, String value, long ttlSeconds) {
    entries.put(key, new Entry(value, System.currentTimeMillis() + ttlSeconds * 1000));
    return Future.succeededFuture();
  }

  @Override
  public Future<List<String>> getAll(List<String> keys) {
    List<String> out = new ArrayList<>(keys.size());
    for (String key : keys) {
      Entry entry = live(key);
      out.add(entry == null ? null : entry.value());
    }
    return Future.succeededFuture(out);
  }

  @Override
  public Future<Void> delete(String key) {
    entries.remove(key);
    return Future.succeededFuture();
  }

  @Override
  public void close() {
    vertx.cancelTimer(sweeper);
  }
}
