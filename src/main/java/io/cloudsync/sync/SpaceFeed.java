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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 * A late publish is not a lost one: changes that overtook an earlier one wait for it here (at most
 * {@link #REORDER_MILLIS}) and listeners get them in order, and the periodic check only reports
 * changes that were still missing a whole period later. Otherwise every listener of the space
 * would read the same rows from the log at once.
 *
 * <p>Not thread-safe: create, use and close it on one event loop (a gateway verticle's).
 */
public final class SpaceFeed {
  private static final Logger LOG = LoggerFactory.getLogger(SpaceFeed.class);

  /** How long a change that arrived before one it follows waits for it before it is handed over anyway. */
  static final long REORDER_MILLIS = 250;
  /** How long after a space's consumer is registered its head is read once, for publishes other nodes sent before they knew of it. */
  static final long NEW_CONSUMER_RECHECK_MILLIS = 1_000;

  /**
   * A live change as delivered: the change and its {@code {"type":"change",...}} message as one
   * WebSocket frame, encoded once for every socket of the event loop (the sockets only read it).
   */
  public static final class LiveChange {
    private final JsonObject change;
    private final long seq;
    private byte[] frame;

    LiveChange(JsonObject change) {
      this.change = change;
      this.seq = change.getLong("seq");
    }

    public JsonObject change() {
      return change;
    }

    public long seq() {
      return seq;
    }

    /** The change's message as a whole WebSocket text frame ({@link SyncSocket#textFrame}), made on first use. */
    public byte[] frame() {
      if (frame == null) {
        frame = SyncSocket.textFrame(frameOf(change));
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
    topics.values().forEach(topic -> {
      topic.stopWaiting();
      done.add(topic.consumer.unregister());
    });
    topics.clear();
    revocationListeners.clear();
    if (revocations != null) {
      done.add(revocations.unregister());
    }
    return Future.join(done).mapEmpty();
  }

  /**
   * Listens to a space. The future completes once the event-bus consumer is registered. On one
   * node every change committed after that reaches the listener; in a cluster the other nodes
   * learn of a new registration a moment later, so a change committed in between may reach this
   * node only with the next one or a head check. The feed therefore reads the head once more
   * {@link #NEW_CONSUMER_RECHECK_MILLIS} after it registers a space's consumer and tells the
   * listeners ({@link Listener#head}); callers read the log after listening for what came before.
   */
  public Future<Registration> listen(String spaceId, Listener listener) {
    if (closed) {
      return Future.failedFuture("the live feed is closed");
    }
    Topic topic = topics.computeIfAbsent(spaceId, Topic::new);
    topic.add(listener);
    Registration registration = () -> {
      if (topic.remove(listener) && topic.listeners.isEmpty() && topics.get(spaceId) == topic) {
        topics.remove(spaceId);
        topic.stopWaiting();
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
    private final Set<Listener> listeners = new LinkedHashSet<>();
    /**
     * The listeners as an array, made again only after one came or went. A change goes to every
     * listener as they were when it arrived, as a copy of the set would give it, without copying
     * thousands of them for each change.
     */
    private Listener[] snapshot;
    final MessageConsumer<JsonObject> consumer;
    final Future<Void> ready;
    /** The highest number published to this topic. */
    long received;
    /** The highest number handed to the listeners in order; 0 until the first change. */
    long dispatched;
    /** Changes that arrived before one they follow, by number; null while there are none. */
    TreeMap<Long, LiveChange> early;
    long earlyTimer = -1;
    /** The head read by the previous periodic check. */
    long previousHead;

    Topic(String spaceId) {
      this.spaceId = spaceId;
      this.consumer = vertx.eventBus().consumer(Addresses.SYNC_SPACE_PREFIX + spaceId, message -> deliver(message.body()));
      this.ready = consumer.completion();
      ready.onSuccess(v -> vertx.setTimer(NEW_CONSUMER_RECHECK_MILLIS, id -> recheck()));
    }

    void add(Listener listener) {
      listeners.add(listener);
      snapshot = null;
    }

    boolean remove(Listener listener) {
      snapshot = null;
      return listeners.remove(listener);
    }

    /** The listeners as they are now; the array is shared, read it only. */
    Listener[] snapshot() {
      if (snapshot == null) {
        snapshot = listeners.toArray(new Listener[0]);
      }
      return snapshot;
    }

    /** Tells the listeners the head once, for changes other nodes published before they knew of this consumer. */
    void recheck() {
      if (closed || topics.get(spaceId) != this) {
        return;
      }
      head(spaceId).onSuccess(seq -> {
        if (topics.get(spaceId) == this) {
          for (Listener listener : snapshot()) {
            listener.head(seq);
          }
        }
      });
    }

    void deliver(JsonObject body) {
      String notice = body.getString("notice");
      if (notice != null) {
        for (Listener listener : snapshot()) {
          listener.notice(notice);
        }
        return;
      }
      if (body.getLong("seq") == null) {
        return;
      }
      LiveChange change = new LiveChange(body);
      received = Math.max(received, change.seq);
      if (dispatched == 0 || change.seq <= dispatched + 1) {
        dispatch(change);
        while (early != null && early.containsKey(dispatched + 1)) {
          dispatch(early.remove(dispatched + 1));
        }
        if (early != null && early.isEmpty()) {
          stopWaiting();
        }
      } else {
        // Publishes of one space can overtake each other (commits answered on different event
        // loops, or on different nodes). Each listener would take the gap for a lost publish and
        // read the log; wait a moment for the missing ones instead, then hand over in order.
        if (early == null) {
          early = new TreeMap<>();
        }
        early.put(change.seq, change);
        if (earlyTimer == -1) {
          earlyTimer = vertx.setTimer(REORDER_MILLIS, id -> {
            earlyTimer = -1;
            flushEarly();
          });
        }
      }
    }

    /** Hands over what arrived early even though what comes before it is still missing. */
    void flushEarly() {
      if (early == null) {
        return;
      }
      TreeMap<Long, LiveChange> waiting = early;
      early = null;
      waiting.values().forEach(this::dispatch);
    }

    void stopWaiting() {
      early = null;
      if (earlyTimer != -1) {
        vertx.cancelTimer(earlyTimer);
        earlyTimer = -1;
      }
    }

    void dispatch(LiveChange change) {
      dispatched = Math.max(dispatched, change.seq);
      for (Listener listener : snapshot()) {
        listener.change(change);
      }
    }
  }

  /** The newest seq of a space's log (0 when it has none). */
  public Future<Long> head(String spaceId) {
    return pool.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(spaceId))
        .map(rows -> rows.size() == 0 ? 0L : rows.iterator().next().getLong("next_seq"));
  }

  /**
   * Tells listeners about changes whose publish went missing. A change counts as missing when the
   * log already had it at the previous check and it has still not been published here: one that
   * committed a moment ago is usually still on its way, and telling every listener about it would
   * send them all to read the log at once.
   */
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
              long missing = topic.previousHead;
              topic.previousHead = row.getLong("next_seq");
              if (missing > topic.received) {
                for (Listener listener : topic.snapshot()) {
                  listener.head(missing);
                }
              }
            }
          }
        })
        .onFailure(e -> LOG.debug("Checking the newest changes of {} spaces failed: {}", ids.size(), e.getMessage()));
  }

  /** The {@code {"type":"change",...}} frame of a change as the log renders it, in UTF-8. */
  static byte[] frameOf(JsonObject change) {
    JsonObject frame = new JsonObject().put("type", "change");
    change.forEach(entry -> {
      if (!entry.getKey().equals(Bus.VERSION_FIELD)) {
        frame.put(entry.getKey(), entry.getValue());
      }
    });
    return frame.encode().getBytes(StandardCharsets.UTF_8);
  }
}
