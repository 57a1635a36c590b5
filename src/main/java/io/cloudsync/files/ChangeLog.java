package io.cloudsync.files;

import io.cloudsync.auth.Access;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Transaction;
import io.vertx.sqlclient.TransactionRollbackException;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-space change log, written as a transactional outbox: each change is appended inside the
 * transaction that makes it, with the next number of its space taken by updating the space row.
 * That row lock orders the writers of a space, so numbers are gap-free, and a transaction that
 * rolls back takes its numbers with it. Changes are published on the event bus only after commit.
 */
public final class ChangeLog {
  private static final Logger LOG = LoggerFactory.getLogger(ChangeLog.class);
  public static final int MAX_PAGE = 1000;
  /** Every kind of change the log holds; webhook endpoints and the space audit filter by them. */
  public static final Set<String> KINDS = Set.of("created", "updated", "renamed", "moved", "deleted", "restored",
      "purged", "conflict", "shared", "unshared");
  /** Whether the change is the removal of this user from its space (an {@code unshared} naming them). */
  public static boolean removes(JsonObject change, String userId) {
    JsonObject member = change.getJsonObject("member");
    return "unshared".equals(change.getString("kind")) && member != null && userId.equals(member.getString("user_id"));
  }

  /** Notice published when a space is deleted: its live subscriptions end. */
  public static final String SPACE_DELETED = "space_deleted";
  /** The columns of {@code changes} that {@link #toJson(Row)} reads, as a select list. */
  public static final String COLUMNS = "space_id::text AS space_id, seq, node_id::text AS node_id, kind, version, "
      + "actor::text AS actor, at, payload";

  /** A write transaction and the changes it appended, published once it commits. */
  public static final class Tx {
    private final SqlConnection conn;
    private final List<JsonObject> appended;
    /**
     * The transaction when this class runs it; null under {@link Pool#withTransaction} and under
     * {@link #writeAtOnce}, which sends its COMMIT itself.
     */
    private final Transaction transaction;
    /** The commit, once {@link #lastNode} sent it. */
    private Future<Void> committing;
    /** The space this transaction locked, once it holds the lock; null for a write of no one space. */
    private Tree.Space locked;

    Tx(SqlConnection conn, List<JsonObject> appended, Transaction transaction) {
      this.conn = conn;
      this.appended = appended;
      this.transaction = transaction;
    }

    public SqlConnection conn() {
      return conn;
    }

    public List<JsonObject> appended() {
      return appended;
    }

    /** The space this transaction holds locked ({@link ChangeLog#write(String, String, Access.Action, Function, Work)}). */
    Tree.Space locked() {
      if (locked == null) {
        throw new IllegalStateException("this transaction holds no space");
      }
      return locked;
    }

    /** Sends the commit now, behind what was sent before, unless it went already. */
    Future<Void> commit() {
      if (transaction == null) {
        // Pool#withTransaction commits once the work is done; writeAtOnce sent its COMMIT already.
        return Future.succeededFuture();
      }
      if (committing == null) {
        committing = transaction.commit();
      }
      return committing;
    }
  }

  /** A write's work, given what was read together with the space's lock. */
  @FunctionalInterface
  interface Work<R, T> {
    Future<T> apply(Tx tx, Tree.Space space, R read);
  }

  /**
   * Sent with BEGIN of a write on a space: its statements may use the plans PostgreSQL caches per
   * connection (after five runs, when no worse than planning each run). The pool's connections plan
   * every run for its parameters ({@link io.cloudsync.db.Database#pool}), which searches and the
   * documents query need and which cost a write, under the space's lock, a planning per statement.
   * No write runs those queries.
   */
  static final String CACHED_PLANS = "SET LOCAL plan_cache_mode = auto";

  private final Vertx vertx;
  private final Pool pool;

  public ChangeLog(Vertx vertx, Pool pool) {
    this.vertx = vertx;
    this.pool = pool;
  }

  /** Runs the work in one transaction; the changes it appended are published after the commit. */
  public <T> Future<T> write(Function<Tx, Future<T>> work) {
    List<JsonObject> appended = new ArrayList<>();
    return pool.<T>withTransaction(conn -> work.apply(new Tx(conn, appended, null)))
        .onSuccess(done -> appended.forEach(this::publish));
  }

  /**
   * Runs the work in one transaction on the space, locked for it once the caller's role there allows
   * the action ({@link Tree#lockSpace}); the changes it appended are published after the commit.
   */
  <T> Future<T> write(String spaceId, String actor, Access.Action action,
                      BiFunction<Tx, Tree.Space, Future<T>> work) {
    return write(spaceId, actor, action, conn -> Future.<Void>succeededFuture(),
        (tx, space, none) -> work.apply(tx, space));
  }

  /**
   * Like {@link #write(String, String, Access.Action, BiFunction)}, with a first {@code read} sent
   * together with the lock rather than after its answer.
   *
   * <p>BEGIN, the lock, the role and the read go out at once, saving the round trips that waited
   * for each answer. The server still runs them in order, so the read sees the space as the lock
   * holder does; when the lock or the role check fails, the read's answer is ignored. Should BEGIN
   * fail, the lock statement ran on its own and let go at once; the work never runs. Like
   * {@link Pool#withTransaction}, the transaction commits when the work succeeds and rolls back
   * when anything fails, the lock or the role check included.
   */
  <R, T> Future<T> write(String spaceId, String actor, Access.Action action,
                         Function<SqlConnection, Future<R>> read, Work<R, T> work) {
    if (!Access.isUuid(spaceId) || !Access.isUuid(actor)) {
      return Access.noSuchSpace();
    }
    List<JsonObject> appended = new ArrayList<>();
    return pool.withConnection(conn -> {
          Future<Transaction> begun = conn.begin();
          Future<?> planned = conn.query(CACHED_PLANS).execute();
          Future<Tree.Space> locked = Tree.lockSpace(conn, spaceId, actor, action);
          Future<R> first = read.apply(conn);
          return Future.join(begun, planned, locked, first).transform(settled -> {
            if (begun.failed()) {
              return Future.<T>failedFuture(begun.cause());
            }
            Tx tx = new Tx(conn, appended, begun.result());
            return settle(tx, planned.compose(set -> locked).compose(space -> {
              tx.locked = space;
              return first.compose(r -> work.apply(tx, space, r));
            }));
          });
        })
        .onSuccess(done -> appended.forEach(this::publish));
  }

  /**
   * Runs a write on the space in one round trip: BEGIN, the lock and role read ({@link
   * Tree#lockSpace}), the statements {@code work} sends and COMMIT all go out at once, and the
   * answers are read when they are all in. So the work cannot wait for the lock's answer: each of
   * its statements must change nothing unless the caller may do the action and the work's own
   * checks pass, deciding that in SQL; run behind the lock, they see what the lock holder sees.
   *
   * <p>What the statements did decides the answer: when the work's future succeeds, so does the
   * write. When it fails, a lock or role refused explains it first, as {@link Tree#lockSpace}
   * answers, then the work's own failure. (A caller made a member in the moment between the lock
   * statement, which found no row, and the work's statements is let in by them; the answer says so
   * rather than refusing a write that committed.) A statement that fails aborts the transaction,
   * and the COMMIT behind it rolls back; the failure is the answer. The changes the work appended
   * are published once the commit is in.
   */
  <T> Future<T> writeAtOnce(String spaceId, String actor, Access.Action action, Function<Tx, Future<T>> work) {
    if (!Access.isUuid(spaceId) || !Access.isUuid(actor)) {
      return Access.noSuchSpace();
    }
    List<JsonObject> appended = new ArrayList<>();
    return pool.withConnection(conn -> {
          Future<?> begun = conn.query("BEGIN").execute();
          Future<?> planned = conn.query(CACHED_PLANS).execute();
          Future<Tree.Space> locked = Tree.lockSpace(conn, spaceId, actor, action);
          Future<T> done;
          try {
            done = work.apply(new Tx(conn, appended, null));
          } catch (RuntimeException e) {
            done = Future.failedFuture(e);
          }
          // Sent whatever the work sent: a failed transaction ends here too, rolled back.
          Future<?> committed = conn.query(done.failed() ? "ROLLBACK" : "COMMIT").execute();
          Future<T> result = done;
          return Future.join(begun, planned, locked, result, committed).transform(settled -> {
            for (Future<?> step : List.of(begun, committed, planned)) {
              if (step.failed()) {
                return Future.<T>failedFuture(step.cause());
              }
            }
            return result.succeeded() || locked.succeeded() ? result : Future.<T>failedFuture(locked.cause());
          });
        })
        .onSuccess(done -> appended.forEach(this::publish));
  }

  /**
   * Appends the {@code created} change of the node {@code nodeId}, which a statement sent before
   * this one in the transaction inserted, with the node as the row shows it ({@link Tree#JSON_SQL}).
   * Appends nothing, and answers null, when there is no such node: the insert held back.
   */
  Future<JsonObject> appendCreated(Tx tx, String spaceId, String nodeId, String actor) {
    return tx.conn().preparedQuery("WITH n AS (SELECT * FROM nodes WHERE id = $2::uuid AND space_id = $1::uuid), "
            + "s AS (UPDATE spaces SET next_seq = next_seq + 1 WHERE id = $1::uuid AND EXISTS (SELECT 1 FROM n) "
            + "RETURNING next_seq) INSERT INTO changes (space_id, seq, node_id, kind, version, actor, payload) "
            + "SELECT $1::uuid, s.next_seq, n.id, 'created', n.version, $3::uuid, " + Tree.JSON_SQL + " FROM s, n "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.of(spaceId, nodeId, actor))
        .map(rows -> appended(tx, rows));
  }

  /**
   * Commits after the work (unless {@link #lastNode} sent the commit already), or rolls back after
   * its failure (unless the server rolled back already: a statement failed in front of the commit,
   * or the commit reported the rollback).
   */
  private static <T> Future<T> settle(Tx tx, Future<T> work) {
    return work.compose(result -> tx.commit().map(result),
        failure -> tx.committing != null ? tx.committing.transform(ended -> Future.<T>failedFuture(failure))
            : failure instanceof TransactionRollbackException ? Future.failedFuture(failure)
            : tx.transaction.rollback().transform(rolledBack -> Future.<T>failedFuture(failure)));
  }

  /**
   * Tells live subscribers of a space something that is not a change of its log, such as
   * {@link #SPACE_DELETED}: {@code {"notice": type, "space": id}} on the space's address.
   */
  public void notice(String spaceId, String type) {
    vertx.eventBus().publish(Addresses.SYNC_SPACE_PREFIX + spaceId, new JsonObject().put("notice", type)
        .put("space", spaceId).put(Bus.VERSION_FIELD, Bus.VERSION));
  }

  private void publish(JsonObject change) {
    try {
      vertx.eventBus().publish(Addresses.SYNC_SPACE_PREFIX + change.getString("space"),
          change.copy().put(Bus.VERSION_FIELD, Bus.VERSION));
    } catch (RuntimeException e) {
      // Best effort: the log is the truth; a subscriber that misses this sees a gap and re-reads it.
      LOG.warn("Publishing change {} of space {} failed", change.getLong("seq"), change.getString("space"), e);
    }
  }

  /** Appends a node change; the payload is the node as it became. */
  public Future<JsonObject> node(Tx tx, String kind, JsonObject node, String actor) {
    return append(tx, node.getString("space_id"), node.getString("id"), kind, node.getLong("version"), actor, node);
  }

  /**
   * Appends a node change as the last statement of a transaction this class runs, and sends the
   * commit right behind it rather than after its answer: a round trip less with the space locked.
   * Nothing may be sent in the transaction after it. Should the append fail, the server rolls the
   * transaction back at the commit. (The append always finds its space: the transaction holds the
   * space's row locked.)
   */
  Future<JsonObject> lastNode(Tx tx, String kind, JsonObject node, String actor) {
    Future<JsonObject> change = node(tx, kind, node, actor);
    tx.commit();
    return change;
  }

  /** Appends a change and answers it as the feed shows it. */
  public Future<JsonObject> append(Tx tx, String spaceId, String nodeId, String kind, Long version, String actor,
                                   JsonObject payload) {
    return tx.conn().preparedQuery("WITH s AS (UPDATE spaces SET next_seq = next_seq + 1 WHERE id = $1::uuid "
            + "RETURNING next_seq) INSERT INTO changes (space_id, seq, node_id, kind, version, actor, payload) "
            + "SELECT $1::uuid, s.next_seq, $2::uuid, $3::text, $4::bigint, $5::uuid, $6::jsonb FROM s "
            + "RETURNING " + COLUMNS)
        .execute(Tuple.of(spaceId, nodeId, kind, version, actor, payload))
        .map(rows -> {
          JsonObject change = appended(tx, rows);
          if (change == null) {
            throw new IllegalStateException("space " + spaceId + " vanished while changing it");
          }
          return change;
        });
  }

  /** The change an append's statement answered, kept for publishing after the commit; null for none. */
  private static JsonObject appended(Tx tx, RowSet<Row> rows) {
    if (rows.size() == 0) {
      return null;
    }
    JsonObject change = toJson(rows.iterator().next());
    tx.appended().add(change);
    return change;
  }

  /** Changes after the cursor, oldest first. */
  public Future<JsonObject> read(String spaceId, long cursor, int limit) {
    return pool.preparedQuery("SELECT " + COLUMNS + " FROM changes WHERE space_id = $1::uuid AND seq > $2 ORDER BY seq LIMIT $3")
        .execute(Tuple.of(spaceId, cursor, limit + 1))
        .map(rows -> {
          JsonArray changes = new JsonArray();
          long last = cursor;
          int count = 0;
          for (Row row : rows) {
            if (count++ == limit) {
              break;
            }
            JsonObject change = toJson(row);
            changes.add(change);
            last = change.getLong("seq");
          }
          return new JsonObject().put("changes", changes).put("cursor", last).put("has_more", rows.size() > limit);
        });
  }

  /** A change as the API and the Kafka feed show it, from a row with the {@link #COLUMNS}. */
  public static JsonObject toJson(Row row) {
    String kind = row.getString("kind");
    Object payload = row.getValue("payload");
    JsonObject body = payload instanceof JsonObject json ? json : new JsonObject(String.valueOf(payload));
    boolean membership = kind.equals("shared") || kind.equals("unshared");
    OffsetDateTime at = row.getOffsetDateTime("at");
    JsonObject change = new JsonObject()
        .put("space", row.getString("space_id"))
        .put("seq", row.getLong("seq"))
        .put("node_id", row.getString("node_id"))
        .put("kind", kind)
        .put("version", row.getLong("version"))
        .put("actor", row.getString("actor"))
        .put("at", at == null ? null : at.toInstant().toString())
        .put("node", membership ? null : body);
    if (membership) {
      change.put("member", body);
    } else if (body.containsKey("doc")) {
      // A document change's data (patch or content) sits beside the node, not inside it.
      JsonObject node = body.copy();
      change.put("node", node).put("doc", node.remove("doc"));
    }
    return change;
  }
}
