package io.cloudsync.webapp;

import io.vertx.core.Vertx;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetSocket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback in front of a server, whose connections the test can cut, as a network drop would:
 * while it is down, every open connection is closed and new ones are closed as they arrive.
 */
final class CuttableProxy implements AutoCloseable {
  private final NetServer server;
  private final NetClient client;
  private final Set<NetSocket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean down;

  CuttableProxy(Vertx vertx, int targetPort) {
    client = vertx.createNetClient();
    server = vertx.createNetServer().connectHandler(inbound -> {
      if (down) {
        inbound.close();
        return;
      }
      inbound.pause();
      client.connect(targetPort, "127.0.0.1").onComplete(connected -> {
        if (connected.failed() || down) {
          inbound.close();
          if (connected.succeeded()) {
            connected.result().close();
          }
          return;
        }
        NetSocket outbound = connected.result();
        open.add(inbound);
        open.add(outbound);
        inbound.closeHandler(v -> {
          open.remove(inbound);
          outbound.close();
        });
        outbound.closeHandler(v -> {
          open.remove(outbound);
          inbound.close();
        });
        inbound.pipeTo(outbound);
        outbound.pipeTo(inbound);
      });
    });
    server.listen(0, "127.0.0.1").await();
  }

  int port() {
    return server.actualPort();
  }

  void down() {
    down = true;
    for (NetSocket socket : open) {
      socket.close();
    }
  }

  void up() {
    down = false;
  }

  @Override
  public void close() {
    down();
    server.close().await();
    client.close().await();
  }
}
