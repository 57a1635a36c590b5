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
    ctx.addEndHandler(done -> {
      if (ACCESS.isInfoEnabled()) {
        ACCESS.info("{} {} {} {}ms", ctx.request().method(), ctx.request().path(),
            ctx.response().getStatusCode(), (System.nanoTime() - started) / 1_000_000);
      }
    });
    ctx.next();
  }
}
