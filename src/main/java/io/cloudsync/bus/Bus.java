package io.cloudsync.bus;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.observability.RequestIds;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request/reply between verticles. Messages are JSON with a version field; the request id of the
 * caller travels as a header and is restored in the consumer's context, so the logs of one HTTP
 * request carry its id on whichever cluster node the work runs.
 */
public final class Bus {
  public static final String VERSION_FIELD = "v";
  public static final int VERSION = 1;
  private static final Logger LOG = LoggerFactory.getLogger(Bus.class);

  private Bus() {
  }

  /**
   * Sends a request to the role serving the address, preferring this node's own consumer: a node
   * running the role answers its own requests, so the death of another node cannot strand them (a
   * request sent to a node that dies gets no answer until the bus timeout, 30 s). Only when no
   * consumer runs here does the request go to another node of the cluster.
   */
  public static Future<JsonObject> request(Vertx vertx, String address, JsonObject body) {
    DeliveryOptions options = new DeliveryOptions();
    String requestId = RequestIds.current();
    if (requestId != null) {
      options.addHeader(RequestIds.BUS_HEADER, requestId);
    }
    JsonObject message = body.copy().put(VERSION_FIELD, VERSION);
    if (!vertx.isClustered()) {
      return vertx.eventBus().<JsonObject>request(address, message, options).map(Message::body);
    }
    return vertx.eventBus().<JsonObject>request(address, message, new DeliveryOptions(options).setLocalOnly(true))
        .recover(failure -> failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.NO_HANDLERS
            ? vertx.eventBus().request(address, message, options)
            : Future.failedFuture(failure))
        .map(Message::body);
  }

  /**
   * Registers a consumer whose handler answers with a future: success replies with the JSON,
   * an {@link ApiException} fails with its catalogue number, anything else is logged and fails
   * as an internal error. The returned future completes once the registration has propagated.
   */
  public static Future<MessageConsumer<JsonObject>> serve(
      Vertx vertx, String address, Function<JsonObject, Future<JsonObject>> handler) {
    MessageConsumer<JsonObject> consumer = vertx.eventBus().consumer(address, message -> {
      String requestId = message.headers().get(RequestIds.BUS_HEADER);
      if (requestId != null) {
        RequestIds.set(Vertx.currentContext(), requestId);
      }
      Future<JsonObject> answer;
      try {
        JsonObject body = message.body() == null ? new JsonObject() : message.body();
        Integer version = body.getInteger(VERSION_FIELD);
        if (version == null || version > VERSION) {
          throw ApiException.of(ErrorCode.BAD_REQUEST, "Unsupported message version " + version + " on " + address);
        }
        answer = handler.apply(body);
      } catch (RuntimeException e) {
        answer = Future.failedFuture(e);
      }
      answer.onSuccess(message::reply).onFailure(failure -> {
        ApiException api = ApiException.from(failure);
        if (api.code() == ErrorCode.INTERNAL) {
          LOG.error("{} failed", address, failure);
        }
        message.fail(api.code().number(), api.code() == ErrorCode.INTERNAL ? "Internal server error" : api.busMessage());
      });
    });
    return consumer.completion().map(consumer);
  }
}
