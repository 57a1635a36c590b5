package io.cloudsync.auth;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import java.util.List;

/**
 * Slows down password guessing. Failed sign-ins are counted in 15-minute windows per account and
 * client address (5), per client address (50) and per account (100). Reaching a limit answers 429
 * until its window ends. The per-account limit, which an attacker could otherwise use to keep a
 * victim out, spares addresses the account has signed in from successfully in the last 30 days,
 * and no window outlives 15 minutes, so nobody is locked out for good.
 */
public final class LoginThrottle {
  static final long WINDOW_SECONDS = 15 * 60;
  static final long PER_ACCOUNT_AND_ADDRESS = 5;
  static final long PER_ADDRESS = 50;
  static final long PER_ACCOUNT = 100;
  private static final long KNOWN_ADDRESS_SECONDS = 30L * 24 * 3600;

  private final ExpiringStore store;

  public LoginThrottle(ExpiringStore store) {
    this.store = store;
  }

  private static String pairKey(String email, String address) {
    return "login:pair:" + Secrets.sha256Hex(email + "|" + address);
  }

  private static String addressKey(String address) {
    return "login:addr:" + address;
  }

  private static String accountKey(String email) {
    return "login:acct:" + Secrets.sha256Hex(email);
  }

  private static String refusedKey(String email, String address) {
    return "login:refused:" + Secrets.sha256Hex(email + "|" + address);
  }

  private static String knownKey(String email, String address) {
    return "login:known:" + Secrets.sha256Hex(email + "|" + address);
  }

  /** Fails with 429 and Retry-After when this attempt must wait. */
  public Future<Void> check(String email, String address) {
    List<String> keys = List.of(pairKey(email, address), addressKey(address), accountKey(email), knownKey(email, address));
    return store.getAll(keys).compose(values -> {
      if (count(values.get(0)) >= PER_ACCOUNT_AND_ADDRESS) {
        return blocked(keys.get(0));
      }
      if (count(values.get(1)) >= PER_ADDRESS) {
        return blocked(keys.get(1));
      }
      if (count(values.get(2)) >= PER_ACCOUNT && values.get(3) == null) {
        return blocked(keys.get(2));
      }
      return Future.succeededFuture();
    });
  }

  private Future<Void> blocked(String key) {
    return store.secondsLeft(key).compose(seconds -> Future.failedFuture(new ApiException(ErrorCode.RATE_LIMITED,
        "Too many failed sign-ins; try again later", Math.max(1, seconds))));
  }

  private static long count(String value) {
    return value == null ? 0 : Long.parseLong(value);
  }

  /**
   * Whether this is the first attempt of the account and address refused since the window that
   * refuses it began; {@code retryAfterSeconds} is what the refusal answered (the rest of that
   * window), so the next window's first refusal counts as first again. One counter, no lookup.
   */
  public Future<Boolean> firstRefusal(String email, String address, long retryAfterSeconds) {
    return store.increment(refusedKey(email, address), Math.max(1, retryAfterSeconds)).map(count -> count == 1);
  }

  public Future<Void> failed(String email, String address) {
    return Future.all(store.increment(pairKey(email, address), WINDOW_SECONDS),
        store.increment(addressKey(address), WINDOW_SECONDS),
        store.increment(accountKey(email), WINDOW_SECONDS)).mapEmpty();
  }

  public Future<Void> succeeded(String email, String address) {
    return Future.all(store.delete(pairKey(email, address)),
        store.put(knownKey(email, address), "1", KNOWN_ADDRESS_SECONDS)).mapEmpty();
  }
}
