package io.cloudsync.files;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Purging: for good, on request or when a node has been in the trash longer than the retention
 * period, and then collecting the chunks no version references any more.
 *
 * <p>In a cluster every metadata node runs the retention job; a session advisory lock lets one run
 * at a time and the others skip. Each purge also locks its space first, like every other write, so
 * a purge and a restore of the same node are ordered and never deadlock.
 */
public final class Trash {
  /** Held by chunk collection, exclusively; commits that reuse stored chunks take it shared. */
  public static final long COLLECT_LOCK = 0x436c6f7564474321L;
  private static final Logger LOG = LoggerFactory.getLogger(Trash.class);
  private static final long JOB_LOCK = 0x436c6f7564547273L;
  private static final int BATCH = 100;
  /**
   * A chunk granted this recently is kept even when unreferenced: its uploader may be about to
   * commit a version that references it (they were told it need not be uploaded again).
   */
  static final String GRANT_GRACE = "1 hour";

  private final Pool pool;
  private final ChangeLog log;
  private final int retentionDays;
  private final Function<String, Future<Void>> chunkDeleter;

  /** @param chunkDeleter deletes a chunk's bytes from the chunk store; null when only rows are collected */
  public Trash(Pool pool, ChangeLog log, int retentionDays, Function<String, Future<Void>> chunkDeleter) {
    this.pool = pool;
    this.log = log;
    this.retentionDays = retentionDays;
    this.chunkDeleter = chunkDeleter;
  }

  /** Removes the node, its subtree and all their versions; one {@code purged} change for the node. */
  Future<JsonObject> purge(ChangeLog.Tx tx, Row node, String actor) {
    JsonObject gone = Tree.toJson(node).put("version", node.getLong("version") + 1);
    return log.node(tx, "purged", gone, actor)
        .compose(change -> tx.conn().preparedQuery("DELETE FROM nodes WHERE id = $1::uuid")
            .execute(Tuple.of(node.getString("id"))))
        .map(gone);
  }

  /** The retention job: purges what expired, then collects chunks. Answers what it did. */
  public Future<JsonObject> purgeExpired() {
    return pool.withConnection(conn -> conn.preparedQuery("SELECT pg_try_advisory_lock($1)").execute(Tuple.of(JOB_LOCK))
        .compose(rows -> {
          if (!rows.iterator().next().getBoolean(0)) {
            LOG.debug("Another node is purging the trash; skipping this run");
            return Future.succeededFuture(new JsonObject().put("purged", 0).put("chunks_deleted", 0).put("skipped", true));
          }
          return purgeBatches(0)
              .compose(purged -> collectChunks().map(chunks -> new JsonObject().put("purged", purged)
                  .put("chunks_deleted", chunks).put("skipped", false)))
              .eventually(() -> conn.preparedQuery("SELECT pg_advisory_unlock($1)").execute(Tuple.of(JOB_LOCK)));
        }));
  }

  private Future<Integer> purgeBatches(int purgedSoFar) {
    return pool.preparedQuery("SELECT id::text, space_id::text FROM nodes WHERE deleted_at IS NOT NULL AND trashed_with = id "
            + "AND deleted_at <= now() - make_interval(days => $1) ORDER BY deleted_at LIMIT $2")
        .execute(Tuple.of(retentionDays, BATCH))
        .compose(rows -> {
          Future<Integer> chain = Future.succeededFuture(0);
          for (Row row : rows) {
            chain = chain.compose(count -> purgeExpiredNode(row.getString(0), row.getString(1)).map(done -> count + (done ? 1 : 0)));
          }
          return chain.compose(count -> rows.size() == BATCH && count > 0
              ? purgeBatches(purgedSoFar + count) : Future.succeededFuture(purgedSoFar + count));
        });
  }

  private Future<Boolean> purgeExpiredNode(String id, String space) {
    return log.write(tx -> tx.conn().preparedQuery("SELECT id FROM spaces WHERE id = $1::uuid FOR UPDATE")
            .execute(Tuple.of(space))
            .compose(locked -> tx.conn().preparedQuery("SELECT " + Tree.COLUMNS + " FROM nodes n WHERE n.id = $1::uuid "
                    + "AND n.deleted_at IS NOT NULL AND n.trashed_with = n.id AND n.deleted_at <= now() - make_interval(days => $2)")
                .execute(Tuple.of(id, retentionDays)))
            .compose(rows -> rows.size() == 0 ? Future.succeededFuture(false)
                : purge(tx, rows.iterator().next(), null).map(true)))
        .onSuccess(done -> {
          if (done) {
            LOG.info("Purged node {} of space {} after {} days in the trash", id, space, retentionDays);
          }
        });
  }

  /**
   * Deletes the rows of chunks that no file version references (and the grants to them), then
   * their bytes. Bytes whose deletion fails are only logged: an orphan in the store wastes space,
   * a chunk deleted while still referenced would lose data, so rows go first.
   */
  public Future<Integer> collectChunks() {
    // The lock is held from the row deletes to the last byte deleted: a commit that reuses stored
    // chunks takes it shared, so it sees either chunks still there or rows already gone.
    return pool.withConnection(conn -> conn.preparedQuery("SELECT pg_advisory_lock($1)").execute(Tuple.of(COLLECT_LOCK))
        .compose(locked -> conn.begin())
        .compose(tx -> conn.preparedQuery("DELETE FROM chunks WHERE hash IN (SELECT c.hash FROM chunks c "
                + "WHERE NOT EXISTS (SELECT 1 FROM file_versions fv WHERE fv.chunks @> ARRAY[c.hash]) "
                + "AND NOT EXISTS (SELECT 1 FROM chunk_grants g WHERE g.hash = c.hash AND g.created_at > now() - interval '"
                + GRANT_GRACE + "') LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING hash")
            .execute()
            .compose(rows -> {
              List<String> hashes = new ArrayList<>();
              rows.forEach(row -> hashes.add(row.getString(0)));
              return conn.preparedQuery("DELETE FROM chunk_grants WHERE hash = ANY($1::text[])")
                  .execute(Tuple.tuple().addValue(hashes.toArray(new String[0]))).map(hashes);
            })
            .compose(hashes -> tx.commit().map(hashes))
            .recover(failure -> tx.rollback().transform(r -> Future.<List<String>>failedFuture(failure))))
        .compose(hashes -> {
          Future<Void> chain = Future.succeededFuture();
          if (chunkDeleter != null) {
            for (String hash : hashes) {
              chain = chain.compose(v -> chunkDeleter.apply(hash).recover(e -> {
                LOG.warn("Deleting unreferenced chunk {} from the store failed; its bytes stay orphaned", hash, e);
                return Future.succeededFuture();
              }));
            }
          }
          if (!hashes.isEmpty()) {
            LOG.info("Collected {} unreferenced chunks", hashes.size());
          }
          return chain.map(hashes.size());
        })
        .eventually(() -> conn.preparedQuery("SELECT pg_advisory_unlock($1)").execute(Tuple.of(COLLECT_LOCK))));
  }
}
