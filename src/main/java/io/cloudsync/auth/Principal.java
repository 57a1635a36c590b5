package io.cloudsync.auth;

import io.vertx.ext.web.RoutingContext;

/**
 * The caller of a request, from a verified access token. The gateway's authentication handler
 * puts it on the routing context; handlers that need a signed-in caller read it from there.
 *
 * @param userId the {@code sub} claim
 * @param role {@code admin} or {@code user}
 * @param tokenId the {@code jti} claim, for revocation
 * @param sessionId the refresh-token family the token was issued for ({@code sid} claim)
 * @param expiresAt epoch seconds of the {@code exp} claim
 * @param issuedAt epoch seconds of the {@code iat} claim
 */
public record Principal(String userId, String email, String role, String tokenId, String sessionId, long expiresAt,
                        long issuedAt) {
  public static final String CONTEXT_KEY = "cloudsync.principal";

  /**
   * Milliseconds until a live connection opened with this token must stop (the token's expiry plus
   * the verification leeway); at least 1.
   */
  public long millisUntilExpiry() {
    return Math.max(1, (expiresAt + TokenService.LEEWAY_SECONDS) * 1000 - System.currentTimeMillis());
  }

  public boolean isAdmin() {
    return "admin".equals(role);
  }

  /** The signed-in caller, or null when the request carried no valid access token. */
  public static Principal of(RoutingContext ctx) {
    return ctx.get(CONTEXT_KEY);
  }
}
