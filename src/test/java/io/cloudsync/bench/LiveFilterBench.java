package io.cloudsync.bench;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.sync.LiveClient;
import io.cloudsync.sync.TreeView;
import io.cloudsync.test.Api;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What filtered and snapshot subscriptions cost on a large space, printed, never asserted: an
 * in-process CloudSync on its embedded defaults, one space whose log holds {@code folders} folders
 * (100 top-level ones, the rest below them) and {@code files} files with two changes each, written
 * straight into the change log. Timed over the raw WebSocket: a whole-space snapshot, a snapshot of
 * one top-level folder, and a prefix subscription catching up from cursor 0; then the heap one
 * folder tree takes, and the query plans.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -Xmx1g -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.LiveFilterBench [files=100000] [folders=10000]
 * </pre>
 */
public final class LiveFilterBench {
  private LiveFilterBench() {
  }

  public static void main(String[] args) throws Exception {
    int files = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    int folders = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    Path base = Files.createTempDirectory("live-filter-bench");
    Vertx vertx = Vertx.vertx();
    CloudSyncHandle handle = CloudSync.deploy(vertx, new JsonObject()
        .put("data_dir", base.resolve("data").toString()).put("http.port", 0).put("http.host", "127.0.0.1")
        .put("ratelimit.enabled", false).put("sync.max_tracked_folders", Math.max(folders, 1))
        .put("sync.send_queue", "4m")).await();
    Pool db = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1")
        .setPort(handle.embeddedPostgresPort()).setUser("postgres").setDatabase("postgres")).using(vertx).build();
    try {
      Api api = new Api(vertx, handle.httpPort());
      String token = api.newUser("bench@example.com");
      String space = api.post("/api/v1/spaces", token, new JsonObject().put("name", "big")).bodyAsJsonObject()
          .getString("id");
      long loadStart = System.nanoTime();
      load(db, space, files, folders);
      long head = db.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(space)).await()
          .iterator().next().getLong(0);
      System.out.printf("log: %,d changes (%,d folders, %,d files x 2) written in %.1f s%n", head, folders, files,
          (System.nanoTime() - loadStart) / 1e9);

      snapshot(vertx, handle.httpPort(), token, space, null);
      snapshot(vertx, handle.httpPort(), token, space, "/f-7");
      catchUp(vertx, handle.httpPort(), token, space, "/f-7", head);

      Runtime runtime = Runtime.getRuntime();
      List<TreeView> views = new ArrayList<>();
      System.gc();
      long before = runtime.totalMemory() - runtime.freeMemory();
      for (int i = 0; i < 5; i++) {
        views.add(TreeView.load(db, space, head, folders).await());
      }
      System.gc();
      long after = runtime.totalMemory() - runtime.freeMemory();
      System.out.printf("folder tree in memory: about %,d bytes per folder (%d trees of %,d folders held)%n",
          (after - before) / (5L * Math.max(folders, 1)), views.size(), folders);

      explain(db, "tree as of a cursor", "EXPLAIN ANALYZE SELECT DISTINCT ON (node_id) node_id::text AS id, kind, "
          + "payload->>'parent_id' AS parent_id, payload->>'name' AS name, payload->>'deleted_at' AS deleted_at FROM changes "
          + "WHERE space_id = $1::uuid AND node_id IS NOT NULL AND seq <= $2 AND payload->>'type' = 'folder' "
          + "ORDER BY node_id, seq DESC LIMIT $3", Tuple.of(space, head, folders + 1));
      explain(db, "one snapshot page", "EXPLAIN ANALYZE SELECT DISTINCT ON (node_id) node_id::text AS id, kind, payload "
          + "FROM changes WHERE space_id = $1::uuid AND node_id IS NOT NULL AND seq <= $2 AND node_id > $3::uuid "
          + "ORDER BY node_id, seq DESC LIMIT $4", Tuple.of(space, head, TreeView.FIRST_ID, 200));
    } finally {
      db.close().await();
      handle.close().await();
      vertx.close().await();
    }
  }

  /** Folders f-0..f-99 at the top, the rest in them; files spread over all folders; created + updated each. */
  private static void load(Pool db, String space, int files, int folders) {
    db.preparedQuery("INSERT INTO changes (space_id, seq, node_id, kind, version, payload) "
            + "SELECT $1::uuid, n, ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid, 'created', 1, "
            + "jsonb_build_object('id', '00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'), 'space_id', $1::text, "
            + "'parent_id', CASE WHEN n <= 100 THEN NULL ELSE '00000000-0000-4000-8000-' || lpad(to_hex(1 + n % 100), 12, '0') END, "
            + "'name', 'f-' || (n - 1), 'type', 'folder', 'version', 1, 'deleted_at', NULL) "
            + "FROM generate_series(1, $2) n")
        .execute(Tuple.of(space, folders)).await();
    db.preparedQuery("INSERT INTO changes (space_id, seq, node_id, kind, version, payload) "
            + "SELECT $1::uuid, $2 + 2 * m + k, ('10000000-0000-4000-8000-' || lpad(to_hex(m), 12, '0'))::uuid, "
            + "CASE WHEN k = 1 THEN 'created' ELSE 'updated' END, k, "
            + "jsonb_build_object('id', '10000000-0000-4000-8000-' || lpad(to_hex(m), 12, '0'), 'space_id', $1::text, "
            + "'parent_id', '00000000-0000-4000-8000-' || lpad(to_hex(1 + m % $2), 12, '0'), 'name', 'file-' || m || '.txt', "
            + "'type', 'file', 'version', k, 'size', 100, 'deleted_at', NULL) "
            + "FROM generate_series(0, $3 - 1) m, generate_series(1, 2) k")
        .execute(Tuple.of(space, folders, files)).await();
    db.preparedQuery("UPDATE spaces SET next_seq = $2 WHERE id = $1::uuid").execute(Tuple.of(space, folders + 2L * files))
        .await();
    db.query("ANALYZE changes").execute().await();
  }

  private static void snapshot(Vertx vertx, int port, String token, String space, String prefix) {
    try (LiveClient client = LiveClient.connect(vertx, port, token)) {
      client.nextOfType("authenticated", 10_000);
      long start = System.nanoTime();
      JsonObject subscribe = new JsonObject().put("type", "subscribe").put("space", space).put("snapshot", true);
      if (prefix != null) {
        subscribe.put("path_prefix", prefix);
      }
      client.send(subscribe);
      long first = 0;
      int pages = 0;
      while (true) {
        JsonObject message = client.next(600_000);
        if ("snapshot".equals(message.getString("type"))) {
          if (pages++ == 0) {
            first = System.nanoTime();
          }
        } else if ("snapshot_done".equals(message.getString("type"))) {
          double total = (System.nanoTime() - start) / 1e6;
          System.out.printf("snapshot %s: %,d nodes in %d pages; first page %.0f ms, all %.0f ms (%,.0f nodes/s)%n",
              prefix == null ? "of the whole space" : "of " + prefix, message.getLong("count"), pages,
              (first - start) / 1e6, total, message.getLong("count") / (total / 1000));
          return;
        } else if ("error".equals(message.getString("type"))) {
          throw new IllegalStateException(message.encode());
        }
      }
    }
  }

  private static void catchUp(Vertx vertx, int port, String token, String space, String prefix, long head) {
    try (LiveClient client = LiveClient.connect(vertx, port, token)) {
      client.nextOfType("authenticated", 10_000);
      long start = System.nanoTime();
      client.send(new JsonObject().put("type", "subscribe").put("space", space).put("cursor", 0).put("path_prefix", prefix));
      long changes = 0;
      while (true) {
        JsonObject message = client.next(600_000);
        String type = message.getString("type");
        long position = "change".equals(type) ? message.getLong("seq") : "cursor".equals(type) ? message.getLong("cursor") : -1;
        if ("change".equals(type)) {
          changes++;
        }
        if (position == head) {
          double total = (System.nanoTime() - start) / 1e6;
          System.out.printf("prefix %s from cursor 0: %,d of %,d changes sent, head reached in %.0f ms (%,.0f log entries/s)%n",
              prefix, changes, head, total, head / (total / 1000));
          return;
        }
      }
    }
  }

  private static void explain(Pool db, String what, String sql, Tuple params) {
    System.out.println("plan, " + what + ":");
    for (Row row : db.preparedQuery(sql).execute(params).await()) {
      System.out.println("  " + row.getString(0));
    }
  }
}
