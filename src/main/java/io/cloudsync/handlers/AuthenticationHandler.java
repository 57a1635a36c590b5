package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.auth.TokenService;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;

/**
 * Bearer tokens. {@link #identify} runs on every API request: a valid token puts the
 * {@link Principal} on the context (so the rate limit counts per user); an invalid one is
 * remembered. {@link #require} guards the routes that need a caller and answers 401
 * {@code invalid_token} or {@code unauthorized}.
 */
public final class AuthenticationHandler {
  private static final String FAILURE_KEY = "cloudsync.auth-failure";
  private static final String BEARER = "bearer ";

  private final TokenService tokens;

  public AuthenticationHandler(TokenService tokens) {
    this.tokens = tokens;
  }

  public void identify(RoutingContext ctx) {
    String header = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (header == null) {
      ctx.next();
      return;
    }
    if (!header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      ctx.put(FAILURE_KEY, new ApiException(ErrorCode.INVALID_TOKEN, "Authorization must be a Bearer token"));
      ctx.next();
      return;
    }
    tokens.verify(header.substring(BEARER.length()).trim())
        .onSuccess(principal -> ctx.put(Principal.CONTEXT_KEY, principal))
        .onFailure(failure -> ctx.put(FAILURE_KEY, ApiException.from(failure)))
        .onComplete(done -> ctx.next());
  }

  public void require(RoutingContext ctx) {
    if (Principal.of(ctx) != null) {
      ctx.next();
      return;
    }
    ApiException failure = ctx.get(FAILURE_KEY);
    ctx.response().putHeader("WWW-Authenticate", failure == null
        ? "Bearer" : "Bearer error=\"invalid_token\"");
    ctx.fail(failure != null ? failure : new ApiException(ErrorCode.UNAUTHORIZED, "Sign in first: send a Bearer access token"));
  }
}
