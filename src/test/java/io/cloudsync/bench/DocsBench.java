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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The document equality query at scale, printed, never asserted: an in-process CloudSync on its
 * embedded defaults with {@code N} documents (default 100,000) in one space, spread over 100
 * folders (half of them inside the folder "archive"), plus as many in another user's space, and {@code GET /api/v1/spaces/{space}/docs}
 * timed over HTTP (first page, 50 documents) for a unique value, a rare one, a common one, two
 * fields, a small folder and the big "archive" subtree, no condition and no match. Each document has {@code seq} (unique),
 * {@code owner} (one of 1,000), {@code status} (one of 5, "open" a fifth), {@code flag} (true for
 * 1 %) and a title.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.DocsBench [docs=100000]
 * </pre>
 */
public final class DocsBench {
  private static final int RUNS = 200;
  private static final int WARMUP = 20;
  private static final int FOLDERS = 100;

  private DocsBench() {
  }

  public static void main(String[] args) throws Exception {
    int total = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
    Path base = Files.createTempDirectory("docs-bench");
    Vertx vertx = Vertx.vertx();
    CloudSyncHandle handle = CloudSync.deploy(vertx, new JsonObject()
        .put("data_dir", base.resolve("data").toString()).put("http.port", 0).put("http.host", "127.0.0.1")
        .put("ratelimit.enabled", false)).await();
    Pool db = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1")
        .setPort(handle.embeddedPostgresPort()).setUser("postgres").setDatabase("postgres")).using(vertx).build();
    try {
      Api api = new Api(vertx, handle.httpPort());
      String token = api.newUser("querier@example.com");
      String me = api.get("/api/v1/me", token).bodyAsJsonObject().getString("id");
      String space = api.post("/api/v1/spaces", token, new JsonObject().put("name", "records")).bodyAsJsonObject()
          .getString("id");
      String other = api.post("/api/v1/spaces", api.newUser("other@example.com"), new JsonObject().put("name", "theirs"))
          .bodyAsJsonObject().getString("id");

      long loadStart = System.nanoTime();
      load(db, space, me, total);
      load(db, other, null, total);
      db.query("ANALYZE nodes").execute().await();
      db.query("ANALYZE documents").execute().await();
      System.out.printf("loaded %,d documents in the queried space (%d folders) and %,d in another space in %.1f s%n",
          total, FOLDERS, total, (System.nanoTime() - loadStart) / 1e9);

      String docs = "/api/v1/spaces/" + space + "/docs?limit=50";
      time(api, token, "unique value (1 hit)", docs + "&where=seq=" + (total / 2));
      time(api, token, "rare value (0.1 %)", docs + "&where=owner=user-7");
      time(api, token, "flag (1 %)", docs + "&where=flag=true");
      time(api, token, "common value (20 %)", docs + "&where=status=open");
      time(api, token, "two fields (0.1 %)", docs + "&where=status=open&where=owner=user-5");
      time(api, token, "a folder (1 %), common value", docs + "&path_prefix=folder-40&where=status=open");
      time(api, token, "a folder (1 %), no match there", docs + "&path_prefix=folder-41&where=status=open");
      time(api, token, "archive (50 %), rare value", docs + "&path_prefix=archive&where=owner=user-5");
      time(api, token, "archive (50 %), common value", docs + "&path_prefix=archive&where=status=open");
      time(api, token, "no condition", docs);
      time(api, token, "no match", docs + "&where=status=archived");
    } finally {
      db.close().await();
      handle.close().await();
      vertx.close().await();
      // The loaded database takes a few hundred megabytes.
      try (var walk = Files.walk(base)) {
        walk.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
      }
    }
  }

  /** Folders, then documents with their content and first version, straight into the tables. */
  private static void load(Pool db, String space, String owner, int total) {
    // Half of the folders sit inside "archive", a subtree too big to read folder by folder.
    String archive = db.preparedQuery("INSERT INTO nodes (space_id, name, type, created_by) VALUES ($1::uuid, 'archive', "
            + "'folder', $2::uuid) RETURNING id::text").execute(Tuple.of(space, owner)).await().iterator().next().getString(0);
    db.preparedQuery("INSERT INTO nodes (space_id, parent_id, name, type, created_by) SELECT $1::uuid, "
            + "CASE WHEN f >= $3 / 2 THEN $4::uuid END, 'folder-' || f, 'folder', $2::uuid FROM generate_series(0, $3 - 1) f")
        .execute(Tuple.of(space, owner, FOLDERS, archive)).await();
    db.preparedQuery("WITH folders AS (SELECT array_agg(id ORDER BY name) AS ids FROM nodes WHERE space_id = $1::uuid "
            + "AND type = 'folder' AND name LIKE 'folder-%'), docs AS (SELECT n, jsonb_build_object('seq', n, 'owner', 'user-' || (n % 1000), "
            + "'status', (ARRAY['open','closed','waiting','done','draft'])[1 + n % 5], 'flag', n % 100 = 0, "
            + "'title', 'Record number ' || n) AS content FROM generate_series(1, $3) n), "
            + "made AS (INSERT INTO nodes (space_id, parent_id, name, type, size, created_by) "
            + "SELECT $1::uuid, folders.ids[1 + n % $4], 'doc-' || n || '.json', 'document', length(content::text), $2::uuid "
            + "FROM docs, folders RETURNING id, name, size) "
            + "INSERT INTO documents (node_id, space_id, content) SELECT made.id, $1::uuid, docs.content FROM made "
            + "JOIN docs ON made.name = 'doc-' || docs.n || '.json'")
        .execute(Tuple.of(space, owner, total, FOLDERS)).await();
    db.preparedQuery("INSERT INTO document_versions (node_id, version, size, content, author) "
            + "SELECT d.node_id, 1, n.size, d.content, $2::uuid FROM documents d JOIN nodes n ON n.id = d.node_id "
            + "WHERE d.space_id = $1::uuid")
        .execute(Tuple.of(space, owner)).await();
  }

  private static void time(Api api, String token, String label, String path) {
    int hits = 0;
    double[] millis = new double[RUNS];
    for (int i = -WARMUP; i < RUNS; i++) {
      long start = System.nanoTime();
      HttpResponse<Buffer> response = api.get(path, token);
      double took = (System.nanoTime() - start) / 1e6;
      if (response.statusCode() != 200) {
        throw new IllegalStateException(path + " answered " + response.statusCode() + " " + response.bodyAsString());
      }
      hits = response.bodyAsJsonObject().getJsonArray("documents").size();
      if (i >= 0) {
        millis[i] = took;
      }
    }
    Arrays.sort(millis);
    System.out.printf("%-38s first page %2d docs   p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms%n",
        label, hits, millis[RUNS / 2], millis[(int) (RUNS * 0.99)], millis[RUNS - 1]);
  }
}
