package io.cloudsync.handlers;

import io.cloudsync.observability.RequestIds;
import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every request: gives it a request id (the client's {@code X-Request-Id}
 * when it is plain, else a new one), puts the security headers on whatever answer follows —
 * errors included — and writes one access-log line when the answer is done.
 */
public final class RequestContextHandler implements Handler<RoutingContext> {
  private static final Logger ACCESS = LoggerFactory.getLogger("io.cloudsync.access");
  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

  /** Where in the routing context the request's start (System.nanoTime) is kept. */
  private static final String STARTED = "cloudsync.started";

  private final boolean tls;

  public RequestContextHandler(boolean tls) {
    this.tls = tls;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String id = RequestIds.acceptOrCreate(ctx.request().getHeader(RequestIds.HTTP_HEADER));
    RequestIds.set(Vertx.currentContext(), id);
    long started = System.nanoTime();
    ctx.addHeadersEndHandler(v -> {
      MultiMap headers = ctx.response().headers();
      headers.set(RequestIds.HTTP_HEADER, id);
      headers.set("X-Content-Type-Options", "nosniff");
      headers.set("X-Frame-Options", "DENY");
      headers.set("Referrer-Policy", "no-referrer");
      if (!headers.contains("Content-Security-Policy")) {
        headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      }
      if (tls) {
        headers.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
      }
    });
    ctx.put(STARTED, started);
    ctx.addEndHandler(done -> logAccess(ctx, ctx.response().getStatusCode()));
    ctx.next();
  }

  /**
   * Writes the request's access-log line; called when its answer is done, and by the handlers of
   * answers that Vert.x never ends itself, such as the sync WebSocket's 101.
   */
  static void logAccess(RoutingContext ctx, int status) {
    if (ACCESS.isInfoEnabled()) {
      Long started = ctx.get(STARTED);
      ACCESS.info("{} {} {} {}ms", ctx.request().method(), ctx.request().path(), status,
          started == null ? 0 : (System.nanoTime() - started) / 1_000_000);
    }
  }
}
