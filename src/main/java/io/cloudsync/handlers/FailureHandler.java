package io.cloudsync.handlers;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Handler;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renders every failure as {@code {status, code, message}}: our own {@link ApiException}s, event-bus
 * failures, Vert.x Web's status failures (404, 405, 413 from the body limit, ...) and unexpected
 * exceptions, which are logged and shown only as an internal error.
 */
public final class FailureHandler implements Handler<RoutingContext> {
  private static final Logger LOG = LoggerFactory.getLogger(FailureHandler.class);

  @Override
  public void handle(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    ApiException error;
    if (failure instanceof io.vertx.core.json.DecodeException) {
      error = new ApiException(ErrorCode.INVALID_JSON, "The request body is not valid JSON");
    } else if (failure instanceof ApiException || failure instanceof ReplyException) {
      error = ApiException.from(failure);
    } else if (failure == null || failure instanceof HttpException || ctx.statusCode() >= 400 && ctx.statusCode() != 500) {
      // A status failure from Vert.x Web itself: 404/405 from routing, 413 from the body limit, 403 from CORS.
      int status = failure instanceof HttpException http ? http.getStatusCode() : ctx.statusCode();
      ErrorCode code = ErrorCode.forStatus(status < 400 ? 500 : status);
      error = new ApiException(code, defaultMessage(code, ctx));
    } else {
      error = ApiException.from(failure);
    }
    if (error.code() == ErrorCode.INTERNAL) {
      LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), failure);
    }
    Responses.error(ctx, error);
  }

  static String defaultMessage(ErrorCode code, RoutingContext ctx) {
    return switch (code) {
      case NOT_FOUND -> "No such resource: " + ctx.request().path();
      case METHOD_NOT_ALLOWED -> ctx.request().method() + " is not allowed on " + ctx.request().path();
      case PAYLOAD_TOO_LARGE -> "The request body is larger than this endpoint accepts";
      case UNSUPPORTED_MEDIA_TYPE -> "This endpoint does not accept that Content-Type";
      case NOT_ACCEPTABLE -> "This endpoint cannot answer in the requested format";
      case FORBIDDEN -> "This request is not allowed";
      case INTERNAL -> "Internal server error";
      default -> "The request failed";
    };
  }
}
