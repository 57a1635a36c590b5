package io.cloudsync.handlers;

import io.cloudsync.auth.Principal;
import io.cloudsync.bus.Addresses;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.sync.SpaceFeed;
import io.cloudsync.sync.SyncSession;
import io.cloudsync.sync.SyncSocket;
import io.netty.channel.WriteBufferWaterMark;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;

/**
 * The live side of the change log over plain HTTP: the raw WebSocket {@code /api/v1/sync} and the
 * long-poll of {@code GET /api/v1/spaces/{space}/changes?wait=S}.
 */
public final class SyncHandler {
  private final SyncSession.Context sessions;
  private final List<String> corsOrigins;
  /** The send queue of every sync connection: full past {@code sync.send_queue} bytes, drained at half. */
  private final WriteBufferWaterMark sendQueue;

  public SyncHandler(SyncSession.Context sessions, List<String> corsOrigins) {
    this.sessions = sessions;
    this.corsOrigins = corsOrigins;
    int max = sessions.config().sendQueue();
    this.sendQueue = new WriteBufferWaterMark(max / 2, max);
  }

  /** Upgrades to a sync session; a token in the header authenticates at once, else the first message must. */
  public void sync(RoutingContext ctx) {
    if (!"websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
      ctx.fail(new ApiException(ErrorCode.BAD_REQUEST, "This endpoint speaks WebSocket only"));
      return;
    }
    if (!Origins.allowed(ctx.request().getHeader(HttpHeaders.ORIGIN), ctx.request().getHeader(HttpHeaders.HOST),
        corsOrigins)) {
      ctx.fail(new ApiException(ErrorCode.FORBIDDEN, "WebSocket connections from this origin are not allowed"));
      return;
    }
    if (ctx.request().getHeader(HttpHeaders.AUTHORIZATION) != null && Principal.of(ctx) == null) {
      // A token was sent and is not valid: answer 401 like every other endpoint.
      ctx.next();
      return;
    }
    Principal caller = Principal.of(ctx);
    HttpServerRequest request = ctx.request();
    // The upgrade has no body: take the connection over once Vert.x has read the request's end, so
    // that its books on the request (metrics of requests in flight) close.
    request.end().onSuccess(ended -> {
      SyncSocket socket;
      try {
        socket = SyncSocket.accept(request, sessions.config().maxMessage(), sendQueue);
      } catch (RuntimeException refused) {
        // Still Vert.x's request: answered like any other failure (400 for a bad upgrade).
        ctx.fail(refused);
        return;
      }
      RequestContextHandler.logAccess(ctx, 101);
      new SyncSession(socket, sessions).start(caller);
    });
    request.resume();
  }

  /** The change log after a cursor; with {@code wait=S} an empty answer waits up to S seconds for a change. */
  public void changes(RoutingContext ctx) {
    Long wait = Calls.longParam(ctx, "wait");
    int max = sessions.config().longPollMax();
    if (wait != null && (wait < 0 || wait > max)) {
      throw new ApiException(ErrorCode.VALIDATION_FAILED, "wait must be 0 to " + max + " seconds");
    }
    Long cursor = Calls.longParam(ctx, "cursor");
    JsonObject request = new JsonObject().put("cursor", cursor).put("limit", Calls.longParam(ctx, "limit"));
    Future<JsonObject> first = read(ctx, request);
    if (wait == null || wait == 0) {
      Calls.answer(first, ctx, 200);
      return;
    }
    long after = cursor == null ? 0 : cursor;
    String space = ctx.pathParam("space");
    Calls.answer(first.compose(page -> hasChanges(page) ? Future.succeededFuture(page)
        : waitForChange(ctx, space, after, wait * 1000).compose(v -> read(ctx, request))), ctx, 200);
  }

  private Future<JsonObject> read(RoutingContext ctx, JsonObject request) {
    return Calls.call(sessions.vertx(), ctx, Addresses.SPACES_CHANGES, request.copy());
  }

  private static boolean hasChanges(JsonObject page) {
    return !page.getJsonArray("changes").isEmpty();
  }

  /**
   * Completes when the space's log passes {@code after}, or after the wait. Listens first, then
   * reads the newest number, so a change that lands between the caller's read and the listening
   * is not waited past.
   */
  private Future<Void> waitForChange(RoutingContext ctx, String space, long after, long waitMillis) {
    Promise<Void> woke = Promise.promise();
    SpaceFeed.Listener listener = new SpaceFeed.Listener() {
      @Override
      public void change(SpaceFeed.LiveChange change) {
        if (change.seq() > after) {
          woke.tryComplete();
        }
      }

      @Override
      public void head(long seq) {
        if (seq > after) {
          woke.tryComplete();
        }
      }

      @Override
      public void notice(String type) {
        woke.tryComplete();
      }
    };
    long timer = sessions.vertx().setTimer(waitMillis, id -> woke.tryComplete());
    ctx.response().closeHandler(v -> woke.tryComplete());
    sessions.feed().listen(space, listener).onComplete(listening -> {
      if (listening.failed()) {
        woke.tryComplete();
        return;
      }
      SpaceFeed.Registration registration = listening.result();
      woke.future().onComplete(done -> {
        registration.cancel();
        sessions.vertx().cancelTimer(timer);
      });
      sessions.feed().head(space).onSuccess(listener::head);
    });
    return woke.future();
  }
}
