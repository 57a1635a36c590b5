package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.ratelimit.RateLimiter;
import io.cloudsync.ratelimit.RateLimiter.Decision;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate limits the API, mounted on {@code /api/*} after authentication and before any route, so even a
 * request for a path that does not exist is counted. Two groups:
 * <ul>
 *   <li>{@code auth} — POST to sign-in, sign-up, refresh and MFA verification, per client address
 *       always (these are what password guessing and sign-up spam hit, before anyone is signed in);
 *   <li>{@code api} — everything else under /api/, per signed-in user, else per client address.
 * </ul>
 * Every answer on these paths carries {@code RateLimit-Limit}, {@code RateLimit-Remaining} and
 * {@code RateLimit-Reset}; a refusal is 429 {@code rate_limited} with {@code Retry-After}.
 */
public final class RateLimitHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(RateLimitHandler.class);
  private static final Set<String> AUTH_PATHS = Set.of("/api/v1/auth/token", "/api/v1/auth/signup",
      "/api/v1/auth/refresh", "/api/v1/auth/mfa/verify");

  public enum Group { API, AUTH }

  private final RateLimiter limiter;
  private final ClientAddress clients;
  private final int apiPerMinute;
  private final int authPerMinute;

  public RateLimitHandler(RateLimiter limiter, CloudSyncConfig.RateLimit config) {
    this.limiter = limiter;
    this.clients = new ClientAddress(config.trustedProxies());
    this.apiPerMinute = config.apiPerMinute();
    this.authPerMinute = config.authPerMinute();
  }

  @Override
  public void handle(RoutingContext ctx) {
    // The normalized path is what the router matches, so /api/v1//auth/./token/ cannot dodge the auth group.
    Group group = group(ctx.request().method(), ctx.normalizedPath());
    String key = bucketKey(group, Principal.of(ctx), clients.resolve(ctx.request()));
    int limit = group == Group.AUTH ? authPerMinute : apiPerMinute;
    limiter.acquire(key, limit)
        .onSuccess(decision -> {
          putHeaders(ctx.response().headers(), decision);
          if (decision.allowed()) {
            ctx.next();
          } else {
            // Vert.x Web keeps response headers through failure routing; FailureHandler adds only the body.
            ctx.fail(new ApiException(ErrorCode.RATE_LIMITED, "Too many requests; try again in "
                + decision.retryAfterSeconds() + (decision.retryAfterSeconds() == 1 ? " second" : " seconds")));
          }
        })
        .onFailure(failure -> {
          // The limiters fail open themselves; this is only reached on a bug, which must not take the API down.
          LOG.warn("Rate limiter failed; request admitted", failure);
          ctx.next();
        });
  }

  public static Group group(HttpMethod method, String normalizedPath) {
    String path = normalizedPath.length() > 1 && normalizedPath.endsWith("/")
        ? normalizedPath.substring(0, normalizedPath.length() - 1) : normalizedPath;
    return method == HttpMethod.POST && AUTH_PATHS.contains(path) ? Group.AUTH : Group.API;
  }

  /**
   * The bucket a request draws from: the auth group per client address even when signed in (a stolen
   * session must not lift the sign-in limit), the api group per user when signed in, else per address.
   * An IPv6 client counts by its /64, which one subscriber usually holds whole and could walk through.
   */
  public static String bucketKey(Group group, Principal principal, InetAddress client) {
    if (group == Group.API && principal != null) {
      return "api:user:" + principal.userId();
    }
    return (group == Group.AUTH ? "auth" : "api") + ":ip:" + addressKey(client);
  }

  static String addressKey(InetAddress client) {
    if (client == null) {
      return "unknown";
    }
    if (client instanceof Inet6Address) {
      byte[] prefix = Arrays.copyOf(client.getAddress(), 16);
      Arrays.fill(prefix, 8, 16, (byte) 0);
      try {
        return InetAddress.getByAddress(prefix).getHostAddress() + "/64";
      } catch (java.net.UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }
    return client.getHostAddress();
  }

  private static void putHeaders(MultiMap headers, Decision decision) {
    headers.set("RateLimit-Limit", Integer.toString(decision.limit()));
    headers.set("RateLimit-Remaining", Integer.toString(decision.remaining()));
    headers.set("RateLimit-Reset", Long.toString(decision.resetSeconds()));
    if (!decision.allowed()) {
      headers.set("Retry-After", Long.toString(decision.retryAfterSeconds()));
    }
  }
}
