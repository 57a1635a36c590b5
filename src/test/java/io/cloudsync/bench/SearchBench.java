package io.cloudsync.bench;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Name search at scale, printed, never asserted: an in-process CloudSync on its embedded defaults
 * with {@code N} nodes (default 1,000,000) — half in the searching user's spaces, half in 100
 * other users' spaces it must never see — and {@code GET /api/v1/search} timed over HTTP for a
 * rare name, a common one, one that only others' spaces hold, two-letter queries (too short for
 * trigrams, so matched as name prefixes) and a search within one space.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.SearchBench [nodes=1000000]
 * </pre>
 */
public final class SearchBench {
  private static final int RUNS = 25;

  private SearchBench() {
  }

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    Path base = Files.createTempDirectory("search-bench");
    Vertx vertx = Vertx.vertx();
    CloudSyncHandle handle = CloudSync.deploy(vertx, new JsonObject()
        .put("data_dir", base.resolve("data").toString()).put("http.port", 0).put("http.host", "127.0.0.1")
        .put("ratelimit.enabled", false)).await();
    Pool db = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1")
        .setPort(handle.embeddedPostgresPort()).setUser("postgres").setDatabase("postgres")).using(vertx).build();
    try {
      Api api = new Api(vertx, handle.httpPort());
      String token = api.newUser("searcher@example.com");
      String me = api.get("/api/v1/me", token).bodyAsJsonObject().getString("id");
      String[] mine = new String[10];
      for (int i = 0; i < mine.length; i++) {
        mine[i] = api.post("/api/v1/spaces", token, new JsonObject().put("name", "mine-" + i)).bodyAsJsonObject()
            .getString("id");
      }
      long loadStart = System.nanoTime();
      // Others: 100 users with one space each, holding half of the nodes.
      db.query("INSERT INTO users (email, password_hash, display_name) SELECT 'other-' || n || '@example.com', "
          + "'x', 'Other ' || n FROM generate_series(1, 100) n").execute().await();
      db.query("INSERT INTO spaces (name, owner_id) SELECT 'theirs', id FROM users WHERE email LIKE 'other-%'")
          .execute().await();
      db.query("INSERT INTO space_members (space_id, user_id, role) SELECT id, owner_id, 'owner' FROM spaces "
          + "WHERE name = 'theirs'").execute().await();
      int half = total / 2;
      // Names: "doc-<n>.txt"; every 10th also "report"; a few "unicorn"; others' spaces also hold "secret".
      db.preparedQuery("INSERT INTO nodes (space_id, name, type, created_by) "
              + "SELECT ($1::text[])[1 + n % 10]::uuid, CASE WHEN n % 100000 = 7 THEN 'unicorn-' || n || '.txt' "
              + "WHEN n % 10 = 0 THEN 'report-' || n || '.pdf' ELSE 'doc-' || n || '.txt' END, 'file', $2::uuid "
              + "FROM generate_series(1, $3) n")
          .execute(Tuple.of(mine, me, half)).await();
      db.preparedQuery("INSERT INTO nodes (space_id, name, type) "
              + "SELECT s.ids[1 + n % 100], CASE WHEN n % 10 = 0 THEN 'secret-' || n || '.pdf' ELSE 'doc-' || n || '.txt' END, "
              + "'file' FROM (SELECT array_agg(id) AS ids FROM spaces WHERE name = 'theirs') s, generate_series(1, $1) n")
          .execute(Tuple.of(total - half)).await();
      db.query("ANALYZE nodes").execute().await();
      System.out.printf("loaded %,d nodes (%,d in the searcher's 10 spaces, %,d in 100 others') in %.1f s%n",
          total, half, total - half, (System.nanoTime() - loadStart) / 1e9);

      time(api, token, "rare name (a handful of hits)", "unicorn", null);
      time(api, token, "common name (10% of the searcher's nodes)", "report", null);
      time(api, token, "only in others' spaces (0 visible hits)", "secret", null);
      time(api, token, "two letters, a common prefix", "do", null);
      time(api, token, "two letters, no name starts so", "oc", null);
      time(api, token, "common name within one space", "report", mine[0]);
      time(api, token, "no match anywhere", "zebra", null);
    } finally {
      db.close().await();
      handle.close().await();
      vertx.close().await();
    }
  }

  private static void time(Api api, String token, String label, String q, String space) {
    String path = "/api/v1/search?q=" + URLEncoder.encode(q, StandardCharsets.UTF_8)
        + (space == null ? "" : "&space=" + space);
    int hits = 0;
    double[] millis = new double[RUNS];
    for (int i = -3; i < RUNS; i++) {
      long start = System.nanoTime();
      HttpResponse<Buffer> response = api.get(path, token);
      double took = (System.nanoTime() - start) / 1e6;
      if (response.statusCode() != 200) {
        throw new IllegalStateException(path + " answered " + response.statusCode() + " " + response.bodyAsString());
      }
      hits = response.bodyAsJsonObject().getJsonArray("nodes").size();
      if (i >= 0) {
        millis[i] = took;
      }
    }
    Arrays.sort(millis);
    System.out.printf("%-45s q=%-8s first page %3d hits   p50 %7.1f ms   p95 %7.1f ms   max %7.1f ms%n",
        label, q, hits, millis[RUNS / 2], millis[(int) (RUNS * 0.95)], millis[RUNS - 1]);
  }
}
