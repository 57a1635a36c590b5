package io.cloudsync.ratelimit;

import io.vertx.core.Future;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Token buckets in this process, for a CloudSync without Redis. Each node counts alone, so a fleet
 * of N nodes behind a load balancer admits up to N times the limit.
 *
 * <p>Memory stays bounded: a bucket that has refilled completely is the same as no bucket, so such
 * buckets are dropped at most once a minute; and should more than {@code maxBuckets} keys be live at
 * once (many clients, or someone rotating addresses), the least recently used tenth is dropped too.
 * Those few clients start over with a full bucket, the price of a fixed ceiling.
 */
public final class LocalRateLimiter implements RateLimiter {
  public static final int DEFAULT_MAX_BUCKETS = 100_000;
  private static final long SWEEP_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
  private static final double NANOS_PER_MINUTE = TimeUnit.MINUTES.toNanos(1);

  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final LongSupplier nanoTime;
  private final int maxBuckets;
  private final AtomicLong lastSweep;
  private final AtomicBoolean sweeping = new AtomicBoolean();

  public LocalRateLimiter() {
    this(System::nanoTime, DEFAULT_MAX_BUCKETS);
  }

  /** @param nanoTime a monotonic clock in nanoseconds ({@link System#nanoTime()} outside tests) */
  public LocalRateLimiter(LongSupplier nanoTime, int maxBuckets) {
    if (maxBuckets < 1) {
      throw new IllegalArgumentException("maxBuckets must be positive");
    }
    this.nanoTime = nanoTime;
    this.maxBuckets = maxBuckets;
    this.lastSweep = new AtomicLong(nanoTime.getAsLong());
  }

  @Override
  public Future<Decision> acquire(String key, int limitPerMinute) {
    if (limitPerMinute < 1) {
      return Future.failedFuture(new IllegalArgumentException("limitPerMinute must be positive"));
    }
    long now = nanoTime.getAsLong();
    Decision[] decision = new Decision[1];
    // compute() runs atomically per key: concurrent event loops never take the same token twice.
    buckets.compute(key, (k, bucket) -> {
      double tokens = bucket == null ? limitPerMinute : bucket.tokensAt(now, limitPerMinute);
      boolean allowed = tokens >= 1;
      if (allowed) {
        tokens -= 1;
      }
      decision[0] = decision(allowed, limitPerMinute, tokens);
      return new Bucket(tokens, now, limitPerMinute);
    });
    sweepIfDue(now);
    return Future.succeededFuture(decision[0]);
  }

  /** How many buckets are held right now. */
  public int size() {
    return buckets.size();
  }

  private static Decision decision(boolean allowed, int limit, double tokens) {
    double nanosPerToken = NANOS_PER_MINUTE / limit;
    long reset = wholeSeconds((limit - tokens) * nanosPerToken);
    long retryAfter = allowed ? 0 : Math.max(1, wholeSeconds((1 - tokens) * nanosPerToken));
    return new Decision(allowed, limit, (int) Math.floor(tokens), reset, retryAfter);
  }

  private static long wholeSeconds(double nanos) {
    return nanos <= 0 ? 0 : (long) Math.ceil(nanos / 1e9);
  }

  private void sweepIfDue(long now) {
    boolean due = now - lastSweep.get() >= SWEEP_INTERVAL_NANOS;
    if (!due && buckets.size() <= maxBuckets || !sweeping.compareAndSet(false, true)) {
      return;
    }
    try {
      lastSweep.set(now);
      // removeIf on a ConcurrentHashMap view removes an entry only if it still holds the value tested,
      // so a bucket updated meanwhile by another event loop stays.
      buckets.values().removeIf(bucket -> bucket.fullAt(now));
      if (buckets.size() > maxBuckets) {
        evictLeastRecentlyUsed(buckets.size() - maxBuckets + maxBuckets / 10);
      }
    } finally {
      sweeping.set(false);
    }
  }

  private void evictLeastRecentlyUsed(int count) {
    long[] times = buckets.values().stream().mapToLong(Bucket::updated).toArray();
    if (times.length == 0) {
      return;
    }
    Arrays.sort(times);
    long cutoff = times[Math.min(count, times.length) - 1];
    buckets.values().removeIf(bucket -> bucket.updated() - cutoff <= 0);
  }

  /** The tokens a bucket held at {@code updated} (nanoTime); {@code limit} is kept to know when it is full. */
  private record Bucket(double tokens, long updated, int limit) {
    double tokensAt(long now, int limitPerMinute) {
      long elapsed = Math.max(0, now - updated);
      return Math.min(limitPerMinute, tokens + elapsed * (limitPerMinute / NANOS_PER_MINUTE));
    }

    boolean fullAt(long now) {
      return tokensAt(now, limit) >= limit;
    }
  }
}
