package io.cloudsync.sync;

import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One event loop's view of the live change stream. For every space with at least one local
 * listener it holds one event-bus consumer on {@code cloudsync.sync.space.<id>}, so a change is
 * delivered to this node once and fanned out here, encoded once for all listeners.
 *
 * <p>Publishes are hints, the log is the truth: listeners deliver a change directly when it is
 * the next one they expect and read the log otherwise. Every few seconds the feed also reads the
 * newest number of each space it follows, so a lost publish delays a change but never loses it.
 *
 * <p>Not thread-safe: create, use and close it on one event loop (a gateway verticle's).
 */
public final class SpaceFeed {
  private static final Logger LOG = LoggerFactory.getLogger(SpaceFeed.class);

  /** A live change as delivered: the change and its {@code {"type":"change",...}} frame, encoded once. */
  public static final class LiveChange {
    private final JsonObject change;
    private String frame;

    LiveChange(JsonObject change) {
      this.change = change;
    }

    public JsonObject change() {
      return change;
    }

    public long seq() {
      return change.getLong("seq");
    }

    public String frame() {
      if (frame == null) {
        frame = frameOf(change);
      }
      return frame;
    }
  }

  /** Told about one space. Every method runs on the feed's event loop. */
  public interface Listener {
    void change(LiveChange change);

    /** The space's log has reached {@code seq} (from the periodic check). */
    void head(long seq);

    /** A notice such as {@code space_deleted}. */
    void notice(String type);
  }

  /** Ends one {@link #listen} registration. */
  public interface Registration {
    void cancel();
  }

  private final Vertx vertx;
  private final Pool pool;
  private final Map<String, Topic> topics = new HashMap<>();
  private final Set<Consumer<JsonObject>> revocationListeners = new LinkedHashSet<>();
  private MessageConsumer<JsonObject> revocations;
  private long headTimer = -1;
  private boolean closed;

  public SpaceFeed(Vertx vertx, Pool pool) {
    this.vertx = vertx;
    this.pool = pool;
  }

  /** Starts listening for revocations and the periodic head check; call on the owning event loop. */
  public Future<Void> start(long headCheckMillis) {
    revocations = vertx.eventBus().consumer(Addresses.AUTH_REVOKED, message -> {
      for (Consumer<JsonObject> listener : List.copyOf(revocationListeners)) {
        listener.accept(message.body());
      }
    });
    headTimer = vertx.setPeriodic(headCheckMillis, id -> checkHeads());
    return revocations.completion();
  }

  public Future<Void> close() {
    closed = true;
    if (headTimer != -1) {
      vertx.cancelTimer(headTimer);
    }
    List<Future<Void>> done = new ArrayList<>();
    topics.values().forEach(topic -> done.add(topic.consumer.unregister()));
    topics.clear();
    revocationListeners.clear();
    if (revocations != null) {
      done.add(revocations.unregister());
    }
    return Future.join(done).mapEmpty();
  }

  /** Spaces with at least one listener on this event loop (for metrics and tests). */
  public int spaces() {
    return topics.size();
  }

  /**
   * Listens to a space. The future completes once the event-bus consumer is registered. On one
   * node every change committed after that reaches the listener; in a cluster the other nodes
   * learn of a new registration a moment later, so a change committed in between may reach this
   * node only with the next one or the periodic head check. Callers therefore read the log after
   * listening and check the head once more shortly after (see {@link #head}).
   */
  public Future<Registration> listen(String spaceId, Listener listener) {
    if (closed) {
      return Future.failedFuture("the live feed is closed");
    }
    Topic topic = topics.computeIfAbsent(spaceId, Topic::new);
    topic.listeners.add(listener);
    Registration registration = () -> {
      if (topic.listeners.remove(listener) && topic.listeners.isEmpty() && topics.get(spaceId) == topic) {
        topics.remove(spaceId);
        topic.consumer.unregister();
      }
    };
    return topic.ready.map(v -> registration).onFailure(e -> registration.cancel());
  }

  /** Runs the listener for every published token revocation until the returned registration is cancelled. */
  public Registration onRevocation(Consumer<JsonObject> listener) {
    revocationListeners.add(listener);
    return () -> revocationListeners.remove(listener);
  }

  private final class Topic {
    final String spaceId;
    final Set<Listener> listeners = new LinkedHashSet<>();
    final MessageConsumer<JsonObject> consumer;
    final Future<Void> ready;

    Topic(String spaceId) {
      this.spaceId = spaceId;
      this.consumer = vertx.eventBus().consumer(Addresses.SYNC_SPACE_PREFIX + spaceId, message -> deliver(message.body()));
      this.ready = consumer.completion();
    }

    void deliver(JsonObject body) {
      String notice = body.getString("notice");
      if (notice != null) {
        for (Listener listener : List.copyOf(listeners)) {
          listener.notice(notice);
        }
        return;
      }
      if (body.getLong("seq") == null) {
        return;
      }
      LiveChange change = new LiveChange(body);
      for (Listener listener : List.copyOf(listeners)) {
        listener.change(change);
      }
    }
  }

  /** The newest seq of a space's log (0 when it has none). */
  public Future<Long> head(String spaceId) {
    return pool.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(spaceId))
        .map(rows -> rows.size() == 0 ? 0L : rows.iterator().next().getLong("next_seq"));
  }

  private void checkHeads() {
    if (topics.isEmpty()) {
      return;
    }
    List<String> ids = new ArrayList<>(topics.keySet());
    pool.preparedQuery("SELECT id::text AS id, next_seq FROM spaces WHERE id = ANY($1::uuid[])")
        .execute(Tuple.of(ids.toArray(new String[0])))
        .onSuccess(rows -> {
          for (Row row : rows) {
            Topic topic = topics.get(row.getString("id"));
            if (topic != null) {
              long head = row.getLong("next_seq");
              for (Listener listener : List.copyOf(topic.listeners)) {
                listener.head(head);
              }
            }
          }
        })
        .onFailure(e -> LOG.debug("Checking the newest changes of {} spaces failed: {}", ids.size(), e.getMessage()));
  }

  /** The {@code {"type":"change",...}} frame of a change as the log renders it. */
  static String frameOf(JsonObject change) {
    JsonObject frame = new JsonObject().put("type", "change");
    change.forEach(entry -> {
      if (!entry.getKey().equals(Bus.VERSION_FIELD)) {
        frame.put(entry.getKey(), entry.getValue());
      }
    });
    return frame.encode();
  }
}
