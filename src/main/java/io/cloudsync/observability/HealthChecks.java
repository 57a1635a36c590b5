package io.cloudsync.observability;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Named readiness checks, run together with a time limit each. The node is ready only when
 * every check passes; the answer names each check and why it failed.
 */
public final class HealthChecks {
  private static final long TIMEOUT_MS = 3000;

  private final Vertx vertx;
  private final Map<String, Supplier<Future<?>>> checks = new LinkedHashMap<>();

  public HealthChecks(Vertx vertx) {
    this.vertx = vertx;
  }

  public HealthChecks add(String name, Supplier<Future<?>> check) {
    checks.put(name, check);
    return this;
  }

  public record Report(boolean ready, JsonObject body) {
  }

  public Future<Report> run() {
    List<Future<JsonObject>> results = new ArrayList<>();
    List<String> names = new ArrayList<>(checks.keySet());
    for (String name : names) {
      results.add(withTimeout(name).transform(ar -> Future.succeededFuture(ar.succeeded()
          ? new JsonObject().put("status", "up")
          : new JsonObject().put("status", "down").put("error", String.valueOf(ar.cause().getMessage())))));
    }
    return Future.join(results).transform(ar -> {
      JsonObject detail = new JsonObject();
      boolean ready = true;
      for (int i = 0; i < names.size(); i++) {
        JsonObject result = results.get(i).result();
        ready &= result.getString("status").equals("up");
        detail.put(names.get(i), result);
      }
      return Future.succeededFuture(new Report(ready, new JsonObject().put("status", ready ? "up" : "down").put("checks", detail)));
    });
  }

  private Future<?> withTimeout(String name) {
    Promise<Object> promise = Promise.promise();
    long timer = vertx.setTimer(TIMEOUT_MS, t -> promise.tryFail(name + " did not answer within " + TIMEOUT_MS + " ms"));
    Future<?> check;
    try {
      check = checks.get(name).get();
    } catch (RuntimeException e) {
      check = Future.failedFuture(e);
    }
    check.onComplete(ar -> {
      vertx.cancelTimer(timer);
      if (ar.succeeded()) {
        promise.tryComplete(ar.result());
      } else {
        promise.tryFail(ar.cause());
      }
    });
    return promise.future();
  }
}
