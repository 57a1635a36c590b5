package io.cloudsync.observability;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxBootstrap;
import io.vertx.core.spi.VertxServiceProvider;
import io.vertx.core.spi.context.storage.ContextLocal;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The request id of the work running now. It lives in the Vert.x (duplicated) context of the
 * request or event-bus message, so it follows every callback of that request without thread
 * locals; log lines read it from there. The local is registered as a service provider because
 * Vert.x captures context locals when an instance is built, also in a host application.
 */
public final class RequestIds implements VertxServiceProvider {
  public static final String HTTP_HEADER = "X-Request-Id";
  /** Header name on event-bus messages. */
  public static final String BUS_HEADER = "x-request-id";

  static final ContextLocal<String> LOCAL = ContextLocal.registerLocal(String.class);

  private static final Pattern ACCEPTABLE = Pattern.compile("^[A-Za-z0-9._:\\-]{1,128}$");

  @Override
  public void init(VertxBootstrap builder) {
    // Registration happens in the static initializer above.
  }

  /** The id of the request being handled on this thread's context, or null outside a request. */
  public static String current() {
    Context context = Vertx.currentContext();
    return context == null ? null : context.getLocal(LOCAL);
  }

  public static void set(Context context, String id) {
    context.putLocal(LOCAL, id);
  }

  /** A client's own id is kept when it is short and plain; anything else is replaced. */
  public static String acceptOrCreate(String fromClient) {
    return fromClient != null && ACCEPTABLE.matcher(fromClient).matches() ? fromClient : UUID.randomUUID().toString();
  }
}
