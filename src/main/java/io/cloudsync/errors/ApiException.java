package io.cloudsync.errors;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/** A failure with a catalogue code; handlers and verticles fail futures with it. */
public final class ApiException extends RuntimeException {
  private final ErrorCode code;
  private final long retryAfterSeconds;
  private final JsonObject details;

  public ApiException(ErrorCode code, String message) {
    this(code, message, 0);
  }

  /** @param retryAfterSeconds when the client may try again (sent as Retry-After); 0 for none */
  public ApiException(ErrorCode code, String message, long retryAfterSeconds) {
    this(code, message, retryAfterSeconds, null);
  }

  private ApiException(ErrorCode code, String message, long retryAfterSeconds, JsonObject details) {
    super(message, null, false, false);
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.details = details;
  }

  /**
   * A failure whose error body carries more fields next to status, code and message, such as
   * {@code current} (the node as it is now) on a version conflict.
   */
  public static ApiException withDetails(ErrorCode code, String message, JsonObject details) {
    return new ApiException(code, message, 0, details);
  }

  /** Extra fields of the error body, or null. */
  public JsonObject details() {
    return details;
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
    if (retryAfterSeconds <= 0 && details == null) {
      return getMessage();
    }
    JsonObject message = new JsonObject().put("message", getMessage());
    if (retryAfterSeconds > 0) {
      message.put("retry_after", retryAfterSeconds);
    }
    if (details != null) {
      message.put("details", details);
    }
    return message.encode();
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
              detail.getLong("retry_after", 0L), detail.getJsonObject("details"));
        } catch (RuntimeException notJson) {
          // Fall through: a plain message that happens to start with a brace.
        }
      }
      return new ApiException(ErrorCode.byNumber(reply.failureCode()), text);
    }
    return new ApiException(ErrorCode.INTERNAL, "Internal server error");
  }
}
