package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.auth.Access;
import io.cloudsync.handlers.AuditHandler;
import io.cloudsync.handlers.AuthHandler;
import io.cloudsync.handlers.ChunksHandler;
import io.cloudsync.handlers.ContentHandler;
import io.cloudsync.handlers.DocsHandler;
import io.cloudsync.handlers.TusHandler;
import io.cloudsync.storage.ContentReader;
import io.cloudsync.storage.ContentWriter;
import io.cloudsync.handlers.AuthenticationHandler;
import io.cloudsync.handlers.ClientAddress;
import io.cloudsync.handlers.FailureHandler;
import io.cloudsync.handlers.InfoHandler;
import io.cloudsync.handlers.NodesHandler;
import io.cloudsync.handlers.NotificationsHandler;
import io.cloudsync.handlers.OAuthHandler;
import io.cloudsync.handlers.OperationsHandler;
import io.cloudsync.handlers.Origins;
import io.cloudsync.handlers.RateLimitHandler;
import io.cloudsync.handlers.RequestContextHandler;
import io.cloudsync.handlers.SpacesHandler;
import io.cloudsync.handlers.SyncHandler;
import io.cloudsync.handlers.WebhooksHandler;
import io.cloudsync.handlers.WebAppHandler;
import io.cloudsync.handlers.EventBusBridge;
import io.cloudsync.files.ChangeLog;
import io.cloudsync.sync.Presence;
import io.cloudsync.sync.SpaceFeed;
import io.cloudsync.sync.SyncSession;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP edge: router, request ids, security headers, CORS, body limits and the error
 * rendering. Handlers turn requests into calls on the other roles over the event bus.
 */
public final class GatewayVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);
  /** How often live subscribers' spaces are checked for changes whose publish went missing. */
  private static final long HEAD_CHECK_MILLIS = 5_000;
  /** Headers browsers may read from cross-site answers (tus and CloudSync's own). */
  private static final Set<String> EXPOSED_HEADERS = Set.of("ETag", "Location", "X-Request-Id", "Retry-After",
      "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "CloudSync-Node", "Upload-Offset",
      "Upload-Length", "Upload-Metadata", "Upload-Expires", "Tus-Resumable", "Tus-Version", "Tus-Extension",
      "Tus-Max-Size", "Tus-Checksum-Algorithm");

  private final Services services;
  private HttpServer server;
  private Router router;
  private SpaceFeed feed;
  private Presence presence;
  private EventBusBridge bridge;

  public GatewayVerticle(Services services) {
    this.services = services;
  }

  @Override
  public Future<?> start() {
    CloudSyncConfig.Http http = services.config().http();
    feed = new SpaceFeed(vertx, services.pool());
    presence = new Presence(vertx, services.config().sync());
    router = router(http);
    // For the SockJS bridge's WebSockets (the raw /api/v1/sync socket enforces sync.max_message
    // itself): twice the allowed message size; the bridge refuses what is over the limit, frames
    // past this hard cap are dropped with the connection by Netty.
    int wsCap = services.config().sync().maxMessage() * 2;
    HttpServerOptions options = new HttpServerOptions()
        .setCompressionSupported(true)
        .setMaxWebSocketFrameSize(wsCap)
        .setMaxWebSocketMessageSize(wsCap)
        .setMaxHeaderSize(16 * 1024)
        .setIdleTimeout(120)
        .setIdleTimeoutUnit(TimeUnit.SECONDS);
    http.tls().ifPresent(tls -> options.setSsl(true)
        .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.cert().toString()).setKeyPath(tls.key().toString()))
        .setEnabledSecureTransportProtocols(Set.of("TLSv1.2", "TLSv1.3")));
    return feed.start(HEAD_CHECK_MILLIS)
        .compose(v -> presence.start())
        .compose(v -> vertx.createHttpServer(options)
        .requestHandler(router)
        .listen(http.port(), http.host()))
        .onSuccess(s -> {
          server = s;
          LOG.debug("Gateway listening on {}:{}", http.host(), s.actualPort());
        });
  }

  @Override
  public Future<?> stop() {
    Future<Void> feedClosed = (bridge == null ? Future.<Void>succeededFuture() : bridge.close())
        .compose(v -> presence == null ? Future.<Void>succeededFuture() : presence.close())
        .compose(v -> feed == null ? Future.succeededFuture() : feed.close());
    if (server == null) {
      return feedClosed;
    }
    // Stops accepting at once; requests in flight get up to the timeout to finish.
    long timeout = services.config().http().shutdownTimeout().toMillis();
    return Future.join(feedClosed, server.shutdown(timeout, TimeUnit.MILLISECONDS));
  }

  public int actualPort() {
    return server == null ? -1 : server.actualPort();
  }

  /** Each route as "METHOD /path" with Vert.x's ":param" placeholders; the OpenAPI test reads it. */
  public List<String> routes() {
    List<String> out = new ArrayList<>();
    for (Route route : router.getRoutes()) {
      if (route.getPath() == null || route.methods() == null) {
        continue;
      }
      for (HttpMethod method : route.methods()) {
        out.add(method.name() + " " + route.getPath());
      }
    }
    return out;
  }

  /** Routes whose body is file bytes, streamed by their handler instead of buffered. */
  private static boolean isStreamed(io.vertx.ext.web.RoutingContext ctx) {
    String path = ctx.normalizedPath();
    HttpMethod method = ctx.request().method();
    return (method == HttpMethod.GET && path.equals("/api/v1/sync"))
        || (method == HttpMethod.PUT && (STREAMED_FILE.matcher(path).matches() || path.startsWith("/api/v1/chunks/")))
        || (method == HttpMethod.PATCH && path.startsWith("/api/v1/uploads/"))
        || (method == HttpMethod.POST && path.startsWith("/api/v1/uploads/")
            && "PATCH".equalsIgnoreCase(ctx.request().getHeader("X-HTTP-Method-Override")));
  }

  private static final java.util.regex.Pattern STREAMED_FILE = java.util.regex.Pattern.compile("^/api/v1/spaces/[^/]+/files/.+$");
  private static final java.util.regex.Pattern DOCUMENT = java.util.regex.Pattern.compile("^/api/v1/spaces/[^/]+/docs/.+$");

  /** Requests whose body is a JSON document or merge patch: they take docs.max_size, not the JSON body limit. */
  private static boolean isDocument(io.vertx.ext.web.RoutingContext ctx) {
    HttpMethod method = ctx.request().method();
    return (method == HttpMethod.PUT && DOCUMENT.matcher(ctx.normalizedPath()).matches())
        || (method == HttpMethod.PATCH && DocsHandler.isMergePatch(ctx));
  }

  private Router router(CloudSyncConfig.Http http) {
    Router router = Router.router(vertx);
    FailureHandler failures = new FailureHandler();
    router.route().handler(new RequestContextHandler(http.tls().isPresent()));
    if (!http.corsOrigins().isEmpty()) {
      CorsHandler cors = CorsHandler.create()
          .addOrigins(http.corsOrigins())
          .allowCredentials(false)
          .allowedMethods(Set.of(HttpMethod.GET, HttpMethod.HEAD, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH,
              HttpMethod.DELETE, HttpMethod.OPTIONS))
          .allowedHeaders(Set.of("Authorization", "Content-Type", "If-Match", "If-None-Match", "Range",
              "X-Request-Id", "Upload-Offset", "Upload-Length", "Upload-Metadata", "Upload-Checksum",
              "Upload-Defer-Length", "Tus-Resumable", "X-HTTP-Method-Override"))
          .exposedHeaders(EXPOSED_HEADERS)
          .maxAgeSeconds(600);
      // CorsHandler refuses every Origin not on its list, this server's own included, but browsers send
      // Origin on same-origin POSTs and WebSocket handshakes too: those are no CORS requests.
      router.route().handler(ctx -> {
        if (Origins.same(ctx.request().getHeader(HttpHeaders.ORIGIN), ctx.request().getHeader(HttpHeaders.HOST))) {
          ctx.next();
        } else {
          cors.handle(ctx);
        }
      });
    }
    // The body handler goes first: it must see the request before any handler answers
    // asynchronously, or body bytes arriving meanwhile would be lost.
    BodyHandler bodies = BodyHandler.create(false).setBodyLimit(http.jsonBodyLimit());
    BodyHandler documentBodies = BodyHandler.create(false).setBodyLimit(services.config().docs().maxSize());
    router.route("/api/*").handler(ctx -> {
      if (isStreamed(ctx)) {
        // Streamed bodies are read by their handler; held back until then so no byte is lost.
        ctx.request().pause();
        ctx.next();
      } else if (isDocument(ctx)) {
        documentBodies.handle(ctx);
      } else {
        bodies.handle(ctx);
      }
    });
    AuthenticationHandler authn = new AuthenticationHandler(services.tokens());
    router.route("/api/*").handler(authn::identify);
    if (services.config().rateLimit().enabled()) {
      router.route("/api/*").handler(new RateLimitHandler(services.rateLimiter(), services.config().rateLimit()));
    }

    OperationsHandler ops = new OperationsHandler(services.readiness(), services.metrics(), services.openApi());
    router.get("/health/live").handler(ops::live);
    router.get("/health/ready").handler(ops::ready);
    router.get("/metrics").handler(ops::metrics);
    router.get("/api/v1/openapi.json").handler(ops::openApi);

    InfoHandler info = new InfoHandler(vertx, services.version());
    router.get("/api/v1/info").handler(info::info);

    AuthHandler auth = new AuthHandler(vertx, services.tokens(),
        new ClientAddress(services.config().rateLimit().trustedProxies()));
    router.get("/.well-known/jwks.json").handler(auth::jwks);
    router.post("/api/v1/auth/signup").handler(auth::signup);
    router.post("/api/v1/auth/token").handler(auth::token);
    router.post("/api/v1/auth/refresh").handler(auth::refresh);
    router.post("/api/v1/auth/logout").handler(authn::require).handler(auth::logout);
    router.post("/api/v1/auth/mfa/setup").handler(authn::require).handler(auth::mfaSetup);
    router.post("/api/v1/auth/mfa/verify").handler(authn::require).handler(auth::mfaVerify);
    OAuthHandler oauth = new OAuthHandler(vertx, services.config().auth());
    router.get("/api/v1/auth/providers").handler(oauth::providers);
    router.get("/api/v1/auth/oauth/:provider/start").handler(oauth::start);
    router.get("/api/v1/auth/oauth/:provider/callback").handler(oauth::callback);
    router.get("/api/v1/me").handler(authn::require).handler(auth::me);
    NotificationsHandler notifications = new NotificationsHandler(vertx);
    router.get("/api/v1/me/notifications").handler(authn::require).handler(notifications::get);
    router.put("/api/v1/me/notifications").handler(authn::require).handler(notifications::put);
    router.get("/api/v1/admin/users").handler(authn::require).handler(auth::adminUsers);
    router.post("/api/v1/admin/users/:user/disable").handler(authn::require).handler(auth::adminDisable);
    router.post("/api/v1/admin/users/:user/enable").handler(authn::require).handler(auth::adminEnable);
    router.post("/api/v1/admin/keys/rotate").handler(authn::require).handler(auth::adminRotateKeys);
    AuditHandler audit = new AuditHandler(vertx);
    router.get("/api/v1/admin/audit").handler(authn::require).handler(audit::admin);
    router.get("/api/v1/spaces/:space/audit").handler(authn::require).handler(audit::space);

    long maxFileSize = services.config().files().maxFileSize();
    Access access = new Access(services.pool());
    ContentWriter writer = new ContentWriter(vertx, services.chunks());
    ContentHandler content = new ContentHandler(vertx, access, writer, new ContentReader(services.chunks()), maxFileSize);
    router.put("/api/v1/spaces/:space/files/*").handler(authn::require).handler(content::put);
    router.get("/api/v1/spaces/:space/nodes/:node/content").handler(authn::require).handler(content::download);
    ChunksHandler chunks = new ChunksHandler(vertx, services.chunks());
    router.post("/api/v1/chunks/missing").handler(authn::require).handler(chunks::missing);
    router.put("/api/v1/chunks/:sha256").handler(authn::require).handler(chunks::put);
    router.post("/api/v1/spaces/:space/commits").handler(authn::require).handler(chunks::commit);
    TusHandler tus = new TusHandler(vertx, access, services.uploads(), writer, maxFileSize);
    router.options("/api/v1/uploads").handler(tus::options);
    router.post("/api/v1/uploads").handler(authn::require).handler(tus::create);
    router.head("/api/v1/uploads/:upload").handler(authn::require).handler(tus::head);
    router.patch("/api/v1/uploads/:upload").handler(authn::require).handler(tus::patch);
    router.delete("/api/v1/uploads/:upload").handler(authn::require).handler(tus::delete);
    router.post("/api/v1/uploads/:upload").handler(authn::require).handler(tus::override);

    SpacesHandler spaces = new SpacesHandler(vertx);
    router.post("/api/v1/spaces").handler(authn::require).handler(spaces::create);
    router.get("/api/v1/spaces").handler(authn::require).handler(spaces::list);
    router.get("/api/v1/spaces/:space").handler(authn::require).handler(spaces::get);
    router.patch("/api/v1/spaces/:space").handler(authn::require).handler(spaces::update);
    router.delete("/api/v1/spaces/:space").handler(authn::require).handler(spaces::delete);
    router.get("/api/v1/spaces/:space/members").handler(authn::require).handler(spaces::members);
    router.post("/api/v1/spaces/:space/members").handler(authn::require).handler(spaces::addMember);
    router.put("/api/v1/spaces/:space/members/:user").handler(authn::require).handler(spaces::putMember);
    router.delete("/api/v1/spaces/:space/members/:user").handler(authn::require).handler(spaces::removeMember);
    ChangeLog changeLog = new ChangeLog(vertx, services.pool());
    SyncSession.Context sessions = new SyncSession.Context(vertx, feed, changeLog,
        services.pool(), presence, access, services.tokens(), services.config().sync());
    SyncHandler sync = new SyncHandler(sessions, http.corsOrigins());
    router.get("/api/v1/spaces/:space/changes").handler(authn::require).handler(sync::changes);
    router.get("/api/v1/sync").handler(sync::sync).handler(authn::require);
    bridge = new EventBusBridge(vertx, services.pool(), changeLog, presence, services.tokens(), access, feed,
        services.config().sync(), http.corsOrigins());
    router.route("/eventbus/*").subRouter(bridge.router());

    WebhooksHandler webhooks = new WebhooksHandler(vertx);
    router.post("/api/v1/spaces/:space/webhooks").handler(authn::require).handler(webhooks::create);
    router.get("/api/v1/spaces/:space/webhooks").handler(authn::require).handler(webhooks::list);
    router.get("/api/v1/spaces/:space/webhooks/:webhook").handler(authn::require).handler(webhooks::get);
    router.patch("/api/v1/spaces/:space/webhooks/:webhook").handler(authn::require).handler(webhooks::update);
    router.delete("/api/v1/spaces/:space/webhooks/:webhook").handler(authn::require).handler(webhooks::delete);
    router.post("/api/v1/spaces/:space/webhooks/:webhook/rotate-secret").handler(authn::require)
        .handler(webhooks::rotateSecret);
    router.get("/api/v1/spaces/:space/webhooks/:webhook/deliveries").handler(authn::require)
        .handler(webhooks::deliveries);
    router.post("/api/v1/spaces/:space/webhooks/:webhook/deliveries/:delivery/replay").handler(authn::require)
        .handler(webhooks::replay);

    NodesHandler nodes = new NodesHandler(vertx);
    router.get("/api/v1/spaces/:space/nodes").handler(authn::require).handler(nodes::list);
    router.post("/api/v1/spaces/:space/nodes").handler(authn::require).handler(nodes::create);
    router.get("/api/v1/spaces/:space/nodes/:node").handler(authn::require).handler(nodes::get);
    DocsHandler docs = new DocsHandler(vertx);
    // One route, two media types: a merge patch changes a document, plain JSON renames or moves any node.
    router.patch("/api/v1/spaces/:space/nodes/:node").handler(authn::require)
        .handler(ctx -> {
          if (DocsHandler.isMergePatch(ctx)) {
            docs.patch(ctx);
          } else {
            nodes.update(ctx);
          }
        });
    router.delete("/api/v1/spaces/:space/nodes/:node").handler(authn::require).handler(nodes::delete);
    router.post("/api/v1/spaces/:space/nodes/:node/restore").handler(authn::require).handler(nodes::restore);
    router.post("/api/v1/spaces/:space/nodes/:node/copy").handler(authn::require).handler(nodes::copy);
    router.get("/api/v1/spaces/:space/nodes/:node/versions").handler(authn::require).handler(nodes::versions);
    router.post("/api/v1/spaces/:space/nodes/:node/versions/:version/restore").handler(authn::require)
        .handler(nodes::restoreVersion);
    router.get("/api/v1/spaces/:space/trash").handler(authn::require).handler(nodes::trash);
    router.get("/api/v1/spaces/:space/nodes/:node/document").handler(authn::require).handler(docs::getById);
    router.get("/api/v1/spaces/:space/docs").handler(authn::require).handler(docs::query);
    router.put("/api/v1/spaces/:space/docs/*").handler(authn::require).handler(docs::put);
    router.get("/api/v1/spaces/:space/docs/*").handler(authn::require).handler(docs::get);
    router.get("/api/v1/search").handler(authn::require).handler(nodes::search);

    new WebAppHandler().mount(router);

    router.route().failureHandler(failures);
    for (int status : new int[] {404, 405, 406, 413, 415, 500}) {
      router.errorHandler(status, failures);
    }
    return router;
  }
}
