package io.cloudsync.handlers;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The web app and its browser libraries, from the classpath: {@code /} and {@code /app/*} (the app),
 * {@code /client/cloudsync.js} (the client library), {@code /vendor/*} (third-party bundles fetched at
 * build time: sockjs-client from its webjar, the event-bus bridge client and tus-js-client from npm).
 *
 * <p>Every answer carries a strict Content-Security-Policy: scripts, styles and connections from this
 * origin only, no inline script or style, no frames, no plugins. Vendor files live under versioned paths
 * and are cached for a year; the app's own files are revalidated on every load ({@code no-cache} with
 * {@code Last-Modified}), so a new server version reaches browsers at once.
 */
public final class WebAppHandler {
  static final String CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; "
      + "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
      + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
  private static final String REVALIDATE = "no-cache";
  private static final String IMMUTABLE = "public, max-age=31536000, immutable";

  /**
   * Mounts the static routes. They name no method, so the OpenAPI document (which lists the API) leaves
   * them out; only GET and HEAD are served, anything else falls through to the JSON 404. A route's files
   * are looked up below its prefix (StaticHandler strips the mount point).
   */
  public void mount(Router router) {
    serve(router, "/vendor/sockjs-client/*", files("META-INF/resources/webjars/sockjs-client"), IMMUTABLE);
    serve(router, "/vendor/*", files("webroot/vendor"), IMMUTABLE);
    serve(router, "/client/*", files("webroot/client"), REVALIDATE);
    serve(router, "/app/*", files("webroot/app"), REVALIDATE);
    serve(router, "/", files("webroot").setIndexPage("index.html"), REVALIDATE);
  }

  private static StaticHandler files(String root) {
    return StaticHandler.create(root).setCachingEnabled(true).setDirectoryListing(false).setIncludeHidden(false);
  }

  private static void serve(Router router, String path, StaticHandler files, String cacheControl) {
    router.route(path).handler(ctx -> {
      HttpMethod method = ctx.request().method();
      if (method != HttpMethod.GET && method != HttpMethod.HEAD) {
        ctx.next();
        return;
      }
      ctx.addHeadersEndHandler(v -> {
        if (ctx.response().getStatusCode() < 400) {
          ctx.response().headers()
              .set(HttpHeaders.CACHE_CONTROL, cacheControl)
              .set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        }
      });
      files.handle(ctx);
    });
  }
}
