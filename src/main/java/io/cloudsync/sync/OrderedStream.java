package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A space's changes delivered to one subscriber in seq order, for the raw sync socket and the
 * SockJS bridge alike: live from the {@link SpaceFeed}, and from the log for whatever the feed
 * cannot hand over in turn.
 *
 * <p>The stream keeps {@code last}, the newest seq it is past. A live change with seq
 * {@code last + 1} goes out at once; anything else (a gap, the backlog, a queue that was full) is
 * read from the log after {@code last}, a page at a time. Changes at or below {@code last} are
 * dropped, so the hand-over from log to live cannot duplicate. Each change is decided by the
 * {@link ChangeFilter}: sent, sent as a marked copy, or skipped; skipped changes move a cursor
 * the subscriber is told about within {@link #CURSOR_FRAME_MS}. A snapshot, when asked for, goes
 * out before the first change after it. A change that removes the subscriber from the space is
 * its last.
 *
 * <p>Subclasses say how messages are written, when the connection is backed up, and how the
 * stream ends. Runs on the event loop of its connection.
 */
public abstract class OrderedStream implements SpaceFeed.Listener {
  private static final Logger LOG = LoggerFactory.getLogger(OrderedStream.class);
  private static final int PAGE = 200;
  private static final long RETRY_READ_MS = 1_000;
  /** How soon after skipping changes a stream tells the subscriber its cursor moved. */
  static final long CURSOR_FRAME_MS = 1_000;

  private final Vertx vertx;
  private final ChangeLog log;
  private final Pool pool;
  final String space;
  /** Whether changes go through the filter (a path prefix, types or a snapshot); otherwise each goes out as it is. */
  final boolean heavy;
  /** The newest seq this stream is past: written, or skipped by the filter. */
  long last;
  /** The newest seq the subscriber was told of (a change or a cursor message). */
  long told;
  /** The newest seq the space is known to have. */
  long seen;
  /** While catching up from a cursor: the log is read until its end, whatever {@code seen} says. */
  boolean backlog;
  boolean reading;
  protected boolean ended;
  /** Decides which changes go out, positioned at {@code last}. */
  ChangeFilter decider;
  /** While the snapshot is being sent: the node id its next page starts after; null otherwise. */
  String snapshotAfter;
  long snapshotCount;
  long cursorTimer = -1;
  SpaceFeed.Registration registration;
  /** Changes read from the log and not handed on yet, oldest first: a full queue stops a page midway. */
  private final ArrayDeque<JsonObject> pending = new ArrayDeque<>();
  /** Whether the page in {@link #pending} reached the end of the log. */
  private boolean pageEnds;

  /**
   * A stream past {@code seq}; {@code decider} may follow before it listens. With {@code backlog}
   * the log after {@code seq} is read to its end first.
   */
  protected OrderedStream(Vertx vertx, ChangeLog log, Pool pool, String space, long seq, ChangeFilter decider,
                          boolean heavy, boolean snapshot, boolean backlog) {
    this.vertx = vertx;
    this.log = log;
    this.pool = pool;
    this.space = space;
    this.last = seq;
    this.told = seq;
    this.seen = seq;
    this.decider = decider;
    this.heavy = heavy;
    this.snapshotAfter = snapshot ? TreeView.FIRST_ID : null;
    this.backlog = backlog;
  }

  public String space() {
    return space;
  }

  /** Whether the stream has a path prefix, types or a snapshot, which cost more than a plain one. */
  public boolean filtered() {
    return heavy;
  }

  /** The seq to resume from; not meaningful while {@link #snapshotting()}. */
  public long cursor() {
    return last;
  }

  /** Whether the snapshot is still going out: a subscriber that leaves now must take it again. */
  public boolean snapshotting() {
    return snapshotAfter != null;
  }

  /** The feed took the stream: from now on it reads the log too. Ended with the stream. */
  public void listening(SpaceFeed.Registration registration) {
    this.registration = registration;
  }

  /** Writes a change as it is; {@code live}, when given, is it as the feed delivered it. */
  protected abstract void writeChange(JsonObject change, SpaceFeed.LiveChange live);

  /** Writes a marked copy of a change (the stream's own, free to change). */
  protected abstract void writeCopy(JsonObject copy);

  /** Writes a cursor or snapshot message; completes when it is handed on, which paces the snapshot. */
  protected abstract Future<Void> write(JsonObject message);

  /** Whether the connection is backed up: nothing more is written until it drains. */
  protected abstract boolean full();

  /** Waits for the drain, which pulls the stream on. */
  protected abstract void awaitDrain();

  /** The subscriber's user. */
  protected abstract String userId();

  /** The filter failed (the space outgrew what it may track): the stream ends. */
  protected abstract void failed(ApiException failure);

  /** The subscriber is no longer a member of the space: the stream ends. */
  protected abstract void revoke(String message);

  /** The space was deleted: the stream ends. */
  protected abstract void spaceDeleted();

  /** The log was read to its end. */
  protected void caughtUp() {
  }

  /** Whether a due cursor message waits while the connection is backed up. */
  protected boolean cursorWaits() {
    return full();
  }

  @Override
  public void change(SpaceFeed.LiveChange live) {
    long seq = live.seq();
    if (ended || seq <= last) {
      return;
    }
    seen = Math.max(seen, seq);
    if (seq == last + 1 && !reading && !backlog && snapshotAfter == null && !full()) {
      // Shared with every stream of the event loop: read only (the filter answers a copy when it marks one).
      if (process(live.change(), live)) {
        told();
      }
    } else {
      pull();
    }
  }

  @Override
  public void head(long seq) {
    if (!ended && seq > seen) {
      seen = seq;
      pull();
    }
  }

  @Override
  public void notice(String type) {
    if (!ended && ChangeLog.SPACE_DELETED.equals(type)) {
      spaceDeleted();
    }
  }

  /** Sends the snapshot, or reads the log after {@code last}, while there is more to send and room to send it. */
  public void pull() {
    if (ended || reading || registration == null) {
      return;
    }
    if (snapshotAfter != null) {
      snapshotPage();
      return;
    }
    if (pending.isEmpty() && !backlog && seen <= last) {
      return;
    }
    if (full()) {
      awaitDrain();
      return;
    }
    if (!pending.isEmpty()) {
      handOn();
      return;
    }
    read("changes", log.read(space, last, PAGE), page -> {
      for (Object each : page.getJsonArray("changes")) {
        pending.add((JsonObject) each);
      }
      pageEnds = !page.getBoolean("has_more");
      handOn();
    });
  }

  /**
   * Waits for a read of the stream's ({@code what}: for the log line), then goes on with its result
   * unless the stream ended meanwhile; a failed read is tried again by a pull a moment later.
   */
  private void read(String what, Future<JsonObject> read, Handler<JsonObject> then) {
    reading = true;
    read.onComplete(done -> {
      reading = false;
      if (ended) {
        return;
      }
      if (done.failed()) {
        LOG.debug("Reading the {} of space {} failed: {}", what, space, done.cause().getMessage());
        vertx.setTimer(RETRY_READ_MS, id -> pull());
        return;
      }
      then.handle(done.result());
    });
  }

  /** Hands on what was read, until the queue fills or a decision waits for a look-up (which carries on). */
  private void handOn() {
    while (!pending.isEmpty()) {
      if (ended) {
        return;
      }
      if (full()) {
        told();
        awaitDrain();
        return;
      }
      JsonObject change = pending.poll();
      if (change.getLong("seq") > last && !process(change, null)) {
        return;
      }
    }
    if (pageEnds) {
      pageEnds = false;
      backlog = false;
      caughtUp();
    }
    seen = Math.max(seen, last);
    told();
    pull();
  }

  /**
   * Sends or skips the next change (seq {@code last + 1}) by the filter, moving {@code last} past
   * it. Answers false when the decision waits for a look-up of where a moved node was; the look-up
   * then finishes the change and pulls on.
   */
  private boolean process(JsonObject change, SpaceFeed.LiveChange live) {
    if (!heavy) {
      deliver(change, change, live);
      return true;
    }
    Future<JsonObject> decision = decider.decide(change);
    if (decision.isComplete()) {
      conclude(change, live, decision);
      return true;
    }
    reading = true;
    long seq = change.getLong("seq");
    decision.onComplete(decided -> {
      reading = false;
      if (ended || last != seq - 1) {
        return;
      }
      conclude(change, live, decision);
      told();
      pull();
    });
    return false;
  }

  /** Carries out what the filter decided: the change, a marked copy, nothing (skipped), or the end of a space too big. */
  private void conclude(JsonObject change, SpaceFeed.LiveChange live, Future<JsonObject> decision) {
    if (decision.failed()) {
      failed(ApiException.from(decision.cause()));
    } else if (decision.result() == null) {
      last = change.getLong("seq");
    } else {
      deliver(change, decision.result(), live);
    }
  }

  /** Sends {@code change} as {@code decided} (itself or a marked copy) and moves past it. */
  private void deliver(JsonObject change, JsonObject decided, SpaceFeed.LiveChange live) {
    last = change.getLong("seq");
    if (decided == change) {
      writeChange(change, live);
    } else {
      writeCopy(decided);
    }
    told = last;
    if (ChangeLog.removes(change, userId())) {
      revoke("You are no longer a member of this space");
    }
  }

  /** Arranges a cursor message when changes were skipped since the subscriber was last told. */
  void told() {
    if (last > told && cursorTimer == -1 && !ended) {
      cursorTimer = vertx.setTimer(CURSOR_FRAME_MS, id -> {
        cursorTimer = -1;
        if (cursorWaits()) {
          told();
        } else {
          tellCursor();
        }
      });
    }
  }

  void tellCursor() {
    if (!ended && last > told) {
      write(new JsonObject().put("type", "cursor").put("space", space).put("cursor", last));
      told = last;
    }
  }

  /** One page of the snapshot: the matching live nodes as of {@code last}. */
  private void snapshotPage() {
    if (full()) {
      awaitDrain();
      return;
    }
    read("snapshot", TreeView.nodesPage(pool, space, last, snapshotAfter, PAGE), page -> {
      JsonArray nodes = decider.snapshot(page.getJsonArray("nodes"));
      snapshotAfter = page.getString("next");
      Future<Void> written = Future.succeededFuture();
      if (!nodes.isEmpty()) {
        snapshotCount += nodes.size();
        written = write(new JsonObject().put("type", "snapshot").put("space", space).put("cursor", last)
            .put("nodes", nodes));
      }
      if (snapshotAfter == null) {
        written = write(new JsonObject().put("type", "snapshot_done").put("space", space).put("cursor", last)
            .put("count", snapshotCount));
        told = last;
        decider.snapshotDone();
      }
      // The next page once this one is handed on: a subscriber that reads slowly slows the snapshot down.
      written.onComplete(w -> pull());
    });
  }

  /** Stops the stream: no more reads, deliveries or cursor messages. */
  public void end() {
    ended = true;
    pending.clear();
    if (cursorTimer != -1) {
      vertx.cancelTimer(cursorTimer);
    }
    if (registration != null) {
      registration.cancel();
      registration = null;
    }
    decider = null;
  }
}
