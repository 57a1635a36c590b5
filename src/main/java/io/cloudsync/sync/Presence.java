package io.cloudsync.sync;

import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Who is connected to a space, across the cluster, for one event loop's live connections.
 *
 * <p>There is no shared table: each entry (one connection's presence in one space) belongs to the
 * event loop of that connection, which publishes its join, updates and leave on
 * {@code cloudsync.presence.space.<id>} and re-announces its entries every
 * {@code sync.presence_heartbeat} seconds. Every event loop with watchers in the space keeps what it
 * heard; an entry not re-announced for {@code sync.presence_timeout} seconds is dropped with a leave,
 * so the entries of a node that died vanish within timeout + heartbeat. A loop that starts watching a
 * space asks the others for their entries; they answer on its own inbox, registered at start, so the
 * answer does not depend on the new space consumer having reached them yet.
 *
 * <p>Not thread-safe: create, use and close it on one event loop (a gateway verticle's).
 */
public final class Presence {
  private static final String OP = "op";

  /** Told about the other entries of a space. Runs on the presence's event loop. */
  public interface Watcher {
    void joined(JsonObject member);

    void updated(JsonObject member);

    void left(JsonObject member, String reason);
  }

  /** One connection's presence in one space. */
  public interface Member {
    /** This entry as others see it. */
    JsonObject json();

    /** Everyone present in the space as this event loop knows them, this entry included. */
    JsonArray members();

    void update(JsonObject state);

    void leave();
  }

  private final Vertx vertx;
  private final CloudSyncConfig.Sync config;
  private final String loopId = UUID.randomUUID().toString();
  private final Map<String, Room> rooms = new HashMap<>();
  private MessageConsumer<JsonObject> inbox;
  private long timer = -1;

  public Presence(Vertx vertx, CloudSyncConfig.Sync config) {
    this.vertx = vertx;
    this.config = config;
  }

  public Future<Void> start() {
    inbox = vertx.eventBus().consumer(Addresses.PRESENCE_INBOX_PREFIX + loopId, message -> {
      Room room = rooms.get(message.body().getString("space", ""));
      if (room != null) {
        room.receive(message.body());
      }
    });
    timer = vertx.setPeriodic(config.presenceHeartbeat() * 1000L, id -> beat());
    return inbox.completion();
  }

  /** Says goodbye for every local entry and stops. */
  public Future<Void> close() {
    if (timer != -1) {
      vertx.cancelTimer(timer);
    }
    List<Future<Void>> done = new ArrayList<>();
    for (Room room : List.copyOf(rooms.values())) {
      for (Local local : List.copyOf(room.locals.values())) {
        local.leave();
      }
      done.add(room.consumer.unregister());
    }
    rooms.clear();
    if (inbox != null) {
      done.add(inbox.unregister());
    }
    return Future.join(done).mapEmpty();
  }

  /**
   * Enters a space: the watcher hears of everyone else from now on. Fails with a message for the
   * client when the space already has {@code sync.presence_max_members} entries.
   */
  public Future<Member> join(String space, String userId, String device, JsonObject state, Watcher watcher) {
    Room room = rooms.computeIfAbsent(space, Room::new);
    return room.ready.onFailure(e -> rooms.remove(space, room)).compose(v -> {
      if (rooms.get(space) != room) {
        return join(space, userId, device, state, watcher);
      }
      if (room.entries.size() >= config.presenceMaxMembers()) {
        room.closeIfUnused();
        return Future.failedFuture("This space has " + config.presenceMaxMembers()
            + " connections present already (sync.presence_max_members)");
      }
      Local local = new Local(room, new JsonObject().put("id", UUID.randomUUID().toString()).put("user_id", userId)
          .put("device", device).put("since", Instant.now().toString()).put("state", state), watcher);
      room.locals.put(local.id(), local);
      room.entries.put(local.id(), new Heard(local.entry, Long.MAX_VALUE));
      // Other loops hear the publish; this loop's own watchers are told here (a loop ignores its own publishes).
      room.tell(other -> other.joined(local.json()));
      room.watchers.add(watcher);
      room.publish(new JsonObject().put(OP, "join").put("entry", local.entry));
      return Future.succeededFuture(local);
    });
  }

  private record Heard(JsonObject entry, long expiresAt) {
  }

  private final class Local implements Member {
    final Room room;
    final Watcher watcher;
    JsonObject entry;
    boolean left;

    Local(Room room, JsonObject entry, Watcher watcher) {
      this.room = room;
      this.entry = entry;
      this.watcher = watcher;
    }

    String id() {
      return entry.getString("id");
    }

    @Override
    public JsonObject json() {
      return entry.copy();
    }

    @Override
    public JsonArray members() {
      JsonArray members = new JsonArray();
      room.entries.values().forEach(heard -> members.add(heard.entry().copy()));
      return members;
    }

    @Override
    public void update(JsonObject state) {
      if (left) {
        return;
      }
      entry = entry.copy().put("state", state);
      room.entries.put(id(), new Heard(entry, Long.MAX_VALUE));
      room.tell(other -> {
        if (other != watcher) {
          other.updated(json());
        }
      });
      room.publish(new JsonObject().put(OP, "update").put("entry", entry));
    }

    @Override
    public void leave() {
      if (left) {
        return;
      }
      left = true;
      room.locals.remove(id());
      room.watchers.remove(watcher);
      room.entries.remove(id());
      room.tell(other -> other.left(json(), "left"));
      room.publish(new JsonObject().put(OP, "leave").put("entry", entry));
      room.closeIfUnused();
    }
  }

  private final class Room {
    final String space;
    final MessageConsumer<JsonObject> consumer;
    final Future<Void> ready;
    final Map<String, Local> locals = new LinkedHashMap<>();
    final Set<Watcher> watchers = new LinkedHashSet<>();
    /** Every entry heard of, local ones included (they never expire here). */
    final Map<String, Heard> entries = new LinkedHashMap<>();

    Room(String space) {
      this.space = space;
      this.consumer = vertx.eventBus().consumer(Addresses.PRESENCE_SPACE_PREFIX + space, message -> receive(message.body()));
      // Ask the others what they have once this loop can hear the ordinary traffic as well.
      this.ready = consumer.completion().onSuccess(v -> publish(new JsonObject().put(OP, "query")
          .put("reply_to", Addresses.PRESENCE_INBOX_PREFIX + loopId)));
    }

    void publish(JsonObject message) {
      vertx.eventBus().publish(Addresses.PRESENCE_SPACE_PREFIX + space, message.put("space", space)
          .put("from", loopId).put(Bus.VERSION_FIELD, Bus.VERSION));
    }

    void receive(JsonObject message) {
      String op = message.getString(OP, "");
      boolean mine = loopId.equals(message.getString("from"));
      switch (op) {
        case "query" -> {
          if (!mine && !locals.isEmpty() && message.getValue("reply_to") instanceof String replyTo
              && replyTo.startsWith(Addresses.PRESENCE_INBOX_PREFIX)) {
            vertx.eventBus().send(replyTo, heartbeat());
          }
        }
        case "join", "update" -> {
          if (!mine && message.getValue("entry") instanceof JsonObject entry) {
            heard(entry);
          }
        }
        case "heartbeat" -> {
          if (!mine && message.getValue("entries") instanceof JsonArray list) {
            for (Object each : list) {
              if (each instanceof JsonObject entry) {
                heard(entry);
              }
            }
          }
        }
        case "leave" -> {
          if (!mine && message.getValue("entry") instanceof JsonObject entry
              && entries.remove(entry.getString("id", "")) != null) {
            tell(watcher -> watcher.left(entry, "left"));
          }
        }
        default -> {
          // A newer node's operation: ignore it.
        }
      }
    }

    void heard(JsonObject entry) {
      String id = entry.getString("id");
      if (id == null || locals.containsKey(id)) {
        return;
      }
      Heard before = entries.get(id);
      if (before == null && entries.size() >= config.presenceMaxMembers()) {
        return;
      }
      entries.put(id, new Heard(entry, System.currentTimeMillis() + config.presenceTimeout() * 1000L));
      if (before == null) {
        tell(watcher -> watcher.joined(entry));
      } else if (!before.entry().equals(entry)) {
        tell(watcher -> watcher.updated(entry));
      }
    }

    JsonObject heartbeat() {
      JsonArray list = new JsonArray();
      locals.values().forEach(local -> list.add(local.entry));
      return new JsonObject().put(OP, "heartbeat").put("entries", list).put("space", space).put("from", loopId)
          .put(Bus.VERSION_FIELD, Bus.VERSION);
    }

    void expire(long now) {
      for (Heard heard : List.copyOf(entries.values())) {
        if (heard.expiresAt() < now) {
          entries.remove(heard.entry().getString("id"));
          tell(watcher -> watcher.left(heard.entry(), "timeout"));
        }
      }
    }

    void tell(java.util.function.Consumer<Watcher> event) {
      List.copyOf(watchers).forEach(event);
    }

    void closeIfUnused() {
      if (locals.isEmpty() && watchers.isEmpty() && rooms.get(space) == this) {
        rooms.remove(space);
        consumer.unregister();
      }
    }
  }

  /** Re-announces local entries and drops those nobody re-announced in time. */
  private void beat() {
    long now = System.currentTimeMillis();
    for (Room room : List.copyOf(rooms.values())) {
      if (!room.locals.isEmpty()) {
        vertx.eventBus().publish(Addresses.PRESENCE_SPACE_PREFIX + room.space, room.heartbeat());
      }
      room.expire(now);
    }
  }
}
