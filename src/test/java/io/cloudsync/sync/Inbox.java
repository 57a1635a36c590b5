package io.cloudsync.sync;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The JSON messages a live test client has received, in order: the event loop adds them, the test thread reads
 * them. Both live protocols name a message's kind in its {@code type} field.
 */
public final class Inbox {
  private final BlockingQueue<JsonObject> messages = new LinkedBlockingQueue<>();

  void add(JsonObject message) {
    messages.add(message);
  }

  /** The next message, or null after the timeout. */
  public JsonObject poll(long millis) {
    try {
      return messages.poll(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next message, failing after the timeout. */
  public JsonObject next(long millis) {
    JsonObject message = poll(millis);
    if (message == null) {
      throw new AssertionError("no message within " + millis + " ms");
    }
    return message;
  }

  /** The next message of the type, skipping others. */
  public JsonObject nextOfType(String type, long millis) {
    return until(m -> type.equals(m.getString("type")), millis).get(0);
  }

  /** Reads until a message matches; answers the matching message first, then the ones skipped before it. */
  public List<JsonObject> until(Predicate<JsonObject> match, long millis) {
    long deadline = System.currentTimeMillis() + millis;
    List<JsonObject> skipped = new ArrayList<>();
    while (true) {
      JsonObject message = next(Math.max(1, deadline - System.currentTimeMillis()));
      if (match.test(message)) {
        skipped.add(0, message);
        return skipped;
      }
      skipped.add(message);
    }
  }

  /** Messages already received, without waiting. */
  public List<JsonObject> drain() {
    List<JsonObject> out = new ArrayList<>();
    messages.drainTo(out);
    return out;
  }
}
