package io.cloudsync.bench;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.sockjs.SockJSHandler;
import io.vertx.ext.web.handler.sockjs.SockJSSocket;
import java.util.HashSet;
import java.util.Set;

/**
 * The baseline {@link SyncBench} compares CloudSync with: the least a Vert.x server must do to push
 * one message to many WebSockets and SockJS sessions. Plain WebSockets connect on {@code /ws};
 * SockJS clients on {@code /eventbus/...}, served by vertx-web's own {@link SockJSHandler}, the
 * SockJS that CloudSync's bridge runs on too, so both servers frame SockJS messages the same way.
 * For every {@code POST /publish} it writes the request body as one text message to every open
 * WebSocket and SockJS session, then answers 204. Like CloudSync's gateway it runs one verticle
 * per core on a shared port, each holding its own connections; a publish reaches every verticle
 * over the local event bus, just as a change reaches each gateway event loop's {@code SpaceFeed}.
 * No authentication, no log, no database. {@code GET /ready} answers 200.
 *
 * <pre>java -cp ... io.cloudsync.bench.BareBroadcastServer PORT [INSTANCES=cores]</pre>
 */
public final class BareBroadcastServer extends VerticleBase {
  private static final String BROADCAST = "bare.broadcast";

  private final int port;
  private final Set<ServerWebSocket> sockets = new HashSet<>();
  private final Set<SockJSSocket> sessions = new HashSet<>();

  private BareBroadcastServer(int port) {
    this.port = port;
  }

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    int instances = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
    // The transport CloudSync's server prefers too: Netty's native epoll on Linux.
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    vertx.deployVerticle(() -> new BareBroadcastServer(port), new DeploymentOptions().setInstances(instances))
        .onSuccess(id -> System.out.println("BareBroadcastServer listening on 127.0.0.1:" + port + " with "
            + instances + " event loops, native transport " + vertx.isNativeTransportEnabled()))
        .onFailure(e -> {
          e.printStackTrace();
          System.exit(1);
        });
  }

  @Override
  public Future<?> start() {
    vertx.eventBus().<String>localConsumer(BROADCAST, message -> {
      String text = message.body();
      for (ServerWebSocket socket : sockets) {
        socket.writeTextMessage(text);
      }
      for (SockJSSocket session : sessions) {
        session.write(text);
      }
    });
    Router router = Router.router(vertx);
    router.route("/eventbus/*").subRouter(SockJSHandler.create(vertx).socketHandler(session -> {
      sessions.add(session);
      session.closeHandler(v -> sessions.remove(session));
    }));
    router.get("/ws").handler(ctx -> ctx.request().toWebSocket().onSuccess(socket -> {
      sockets.add(socket);
      socket.closeHandler(v -> sockets.remove(socket));
    }));
    router.post("/publish").handler(BodyHandler.create()).handler(ctx -> {
      vertx.eventBus().publish(BROADCAST, ctx.body().asString());
      ctx.response().setStatusCode(204).end();
    });
    router.get("/ready").handler(ctx -> ctx.response().end("ready"));
    return vertx.createHttpServer(new HttpServerOptions().setIdleTimeout(0))
        .requestHandler(router)
        .listen(port, "127.0.0.1");
  }
}
