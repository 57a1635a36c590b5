package io.cloudsync.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.ratelimit.RateLimiter.Decision;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The in-process rate limiter")
class LocalRateLimiterTest {
  private final AtomicLong clock = new AtomicLong(1_000_000_000L);

  private Decision acquire(RateLimiter limiter, String key, int limit) {
    return limiter.acquire(key, limit).result();
  }

  private void advanceMillis(long millis) {
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  @Test
  @DisplayName("admits a full bucket of requests, counting the remaining tokens down, then refuses with a retry time")
  void admitsTheLimitThenRefuses() {
    LocalRateLimiter limiter = new LocalRateLimiter(clock::get, 100);
    for (int i = 1; i <= 6; i++) {
      Decision decision = acquire(limiter, "k", 6);
      assertThat(decision.allowed()).isTrue();
      assertThat(decision.limit()).isEqualTo(6);
      assertThat(decision.remaining()).isEqualTo(6 - i);
      assertThat(decision.retryAfterSeconds()).isZero();
      // 6 a minute is one token every 10 s; the bucket is full again after i tokens.
      assertThat(decision.resetSeconds()).isEqualTo(10L * i);
    }
    Decision refused = acquire(limiter, "k", 6);
    assertThat(refused.allowed()).isFalse();
    assertThat(refused.remaining()).isZero();
    assertThat(refused.retryAfterSeconds()).isEqualTo(10);
    assertThat(refused.resetSeconds()).isEqualTo(60);
    assertThat(acquire(limiter, "other", 6).allowed()).as("another key has its own bucket").isTrue();
  }

  @Test
  @DisplayName("refills continuously at the limit per minute, never above the limit")
  void refills() {
    LocalRateLimiter limiter = new LocalRateLimiter(clock::get, 100);
    for (int i = 0; i < 60; i++) {
      assertThat(acquire(limiter, "k", 60).allowed()).isTrue();
    }
    Decision empty = acquire(limiter, "k", 60);
    assertThat(empty.allowed()).isFalse();
    assertThat(empty.retryAfterSeconds()).isEqualTo(1);

    advanceMillis(400);
    assertThat(acquire(limiter, "k", 60).allowed()).as("0.4 tokens are not one").isFalse();
    advanceMillis(700);
    Decision one = acquire(limiter, "k", 60);
    assertThat(one.allowed()).isTrue();
    assertThat(one.remaining()).isZero();
    assertThat(acquire(limiter, "k", 60).allowed()).isFalse();

    advanceMillis(TimeUnit.HOURS.toMillis(1));
    Decision full = acquire(limiter, "k", 60);
    assertThat(full.remaining()).as("an hour idle fills the bucket, not more").isEqualTo(59);
  }

  @Test
  @DisplayName("drops buckets that have refilled completely once a minute, keeping the ones still counting")
  void dropsIdleBuckets() {
    LocalRateLimiter limiter = new LocalRateLimiter(clock::get, 1000);
    for (int i = 0; i < 50; i++) {
      acquire(limiter, "idle-" + i, 60);
    }
    for (int i = 0; i < 60; i++) {
      acquire(limiter, "busy", 60);
    }
    assertThat(limiter.size()).isEqualTo(51);
    advanceMillis(59_000);
    acquire(limiter, "busy", 60);
    advanceMillis(1_500);
    acquire(limiter, "trigger", 60);
    // The idle buckets refilled one token in 1 s; "busy" was emptied again 1.5 s ago and is still counting.
    assertThat(limiter.size()).isEqualTo(2);
    assertThat(acquire(limiter, "busy", 60).remaining()).isLessThan(59);
  }

  @Test
  @DisplayName("never holds much more than its bucket cap, dropping the least recently used buckets first")
  void capsTheMap() {
    LocalRateLimiter limiter = new LocalRateLimiter(clock::get, 100);
    acquire(limiter, "oldest", 10);
    for (int i = 0; i < 1000; i++) {
      advanceMillis(1);
      acquire(limiter, "client-" + i, 10);
      assertThat(limiter.size()).isLessThanOrEqualTo(100);
    }
    assertThat(limiter.size()).isGreaterThanOrEqualTo(80);
    advanceMillis(1);
    Decision recent = acquire(limiter, "client-999", 10);
    assertThat(recent.remaining()).as("the most recent bucket was kept").isEqualTo(8);
    assertThat(acquire(limiter, "oldest", 10).remaining()).as("the oldest was dropped, so it starts full").isEqualTo(9);
  }

  @Test
  @DisplayName("gives out each token once when several threads draw from one bucket at the same moment")
  void concurrentAcquisitions() throws Exception {
    LocalRateLimiter limiter = new LocalRateLimiter(clock::get, 100);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Integer>> tasks = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        tasks.add(() -> {
          int admitted = 0;
          for (int i = 0; i < 500; i++) {
            if (acquire(limiter, "shared", 1000).allowed()) {
              admitted++;
            }
          }
          return admitted;
        });
      }
      int total = 0;
      for (Future<Integer> result : pool.invokeAll(tasks)) {
        total += result.get();
      }
      assertThat(total).isEqualTo(1000);
    } finally {
      pool.shutdownNow();
    }
  }
}
