package io.cloudsync.errors;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/** A failure with a catalogue code; handlers and verticles fail futures with it. */
public final class ApiException extends RuntimeException {
  private final ErrorCode code;
  private final long retryAfterSeconds;

  public ApiException(ErrorCode code, String message) {
    this(code, message, 0);
  }

  /** @param retryAfterSeconds when the client may try again (sent as Retry-After); 0 for none */
  public ApiException(ErrorCode code, String message, long retryAfterSeconds) {
    super(message, null, false, false);
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public ErrorCode code() {
    return code;
  }

  public long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  /**
   * The failure text sent over the event bus: plain text, or JSON when it carries more than a
   * message, so that a cluster node can rebuild the whole exception.
   */
  public String busMessage() {
    return retryAfterSeconds > 0
        ? new JsonObject().put("message", getMessage()).put("retry_after", retryAfterSeconds).encode()
        : getMessage();
  }

  public static ApiException of(ErrorCode code, String message) {
    return new ApiException(code, message);
  }

  /**
   * Maps any failure to the catalogue: our own exceptions keep their code; a verticle's
   * {@code msg.fail(number, text)} arrives as a recipient failure; a bus timeout is 504 and a
   * missing consumer (the role runs nowhere in the cluster) is 503.
   */
  public static ApiException from(Throwable failure) {
    if (failure instanceof ApiException api) {
      return api;
    }
    if (failure instanceof ReplyException reply) {
      if (reply.failureType() == ReplyFailure.TIMEOUT) {
        return new ApiException(ErrorCode.TIMEOUT, "The request timed out inside the server");
      }
      if (reply.failureType() == ReplyFailure.NO_HANDLERS) {
        return new ApiException(ErrorCode.UNAVAILABLE, "No node is serving this part of the API right now");
      }
      String text = reply.getMessage() == null ? "" : reply.getMessage();
      if (text.startsWith("{")) {
        try {
          JsonObject detail = new JsonObject(text);
          return new ApiException(ErrorCode.byNumber(reply.failureCode()), detail.getString("message"),
              detail.getLong("retry_after", 0L));
        } catch (RuntimeException notJson) {
          // Fall through: a plain message that happens to start with a brace.
        }
      }
      return new ApiException(ErrorCode.byNumber(reply.failureCode()), text);
    }
    return new ApiException(ErrorCode.INTERNAL, "Internal server error");
  }
}
