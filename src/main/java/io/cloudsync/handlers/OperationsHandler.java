package io.cloudsync.handlers;

import io.cloudsync.observability.HealthChecks;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

/** Liveness, readiness, Prometheus metrics and the OpenAPI document. */
public final class OperationsHandler {
  private final HealthChecks readiness;
  private final PrometheusMeterRegistry metrics;
  private final Buffer openApi;

  public OperationsHandler(HealthChecks readiness, PrometheusMeterRegistry metrics, Buffer openApi) {
    this.readiness = readiness;
    this.metrics = metrics;
    this.openApi = openApi;
  }

  /** The process answers: nothing else is checked, so an orchestrator restarts only a hung node. */
  public void live(RoutingContext ctx) {
    Responses.ok(ctx, new JsonObject().put("status", "up"));
  }

  public void ready(RoutingContext ctx) {
    readiness.run()
        .onSuccess(report -> Responses.json(ctx, report.ready() ? 200 : 503, report.body()))
        .onFailure(ctx::fail);
  }

  public void metrics(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
        .end(metrics.scrape());
  }

  public void openApi(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, Responses.JSON).end(openApi);
  }
}
