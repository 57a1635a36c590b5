package io.cloudsync.errors;

import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;

/** A failure with a catalogue code; handlers and verticles fail futures with it. */
public final class ApiException extends RuntimeException {
  private final ErrorCode code;

  public ApiException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
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
      return new ApiException(ErrorCode.byNumber(reply.failureCode()), reply.getMessage());
    }
    return new ApiException(ErrorCode.INTERNAL, "Internal server error");
  }
}
