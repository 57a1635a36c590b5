package io.cloudsync.bench;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.audit.AuditLog;
import io.cloudsync.test.Api;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What the audit trail costs a sign-in, printed, never asserted: an in-process CloudSync on its
 * embedded defaults, {@code N} password sign-ins over HTTP one after another (each writes its
 * {@code auth.login} entry in the sign-in's transaction), and the same audit insert alone, straight
 * against PostgreSQL, {@code 10 N} times. The insert's share of a sign-in is the figure to watch.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.LoginAuditBench [sign-ins=200]
 * </pre>
 */
public final class LoginAuditBench {
  private LoginAuditBench() {
  }

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    Path base = Files.createTempDirectory("login-audit-bench");
    Vertx vertx = Vertx.vertx();
    CloudSyncHandle handle = CloudSync.deploy(vertx, new JsonObject()
        .put("data_dir", base.resolve("data").toString()).put("http.port", 0).put("http.host", "127.0.0.1")
        .put("http.instances", 1).put("ratelimit.enabled", false)).await();
    Pool db = PgBuilder.pool().connectingTo(new PgConnectOptions().setHost("127.0.0.1")
        .setPort(handle.embeddedPostgresPort()).setUser("postgres").setDatabase("postgres")).using(vertx).build();
    try {
      Api api = new Api(vertx, handle.httpPort());
      api.signup("bench@example.com", Api.PASSWORD);
      for (int i = 0; i < 20; i++) {
        api.signIn("bench@example.com", Api.PASSWORD);
      }
      long[] signIns = new long[n];
      for (int i = 0; i < n; i++) {
        long start = System.nanoTime();
        api.signIn("bench@example.com", Api.PASSWORD);
        signIns[i] = System.nanoTime() - start;
      }
      int inserts = n * 10;
      JsonObject details = new JsonObject().put("method", "password").put("mfa", false).put("email", "bench@example.com");
      for (int i = 0; i < 200; i++) {
        AuditLog.append(db, new AuditLog.Entry(AuditLog.LOGIN, null, null, null, "127.0.0.1", details)).await();
      }
      long[] appends = new long[inserts];
      for (int i = 0; i < inserts; i++) {
        long start = System.nanoTime();
        AuditLog.append(db, new AuditLog.Entry(AuditLog.LOGIN, null, null, null, "127.0.0.1", details)).await();
        appends[i] = System.nanoTime() - start;
      }
      long entries = db.query("SELECT count(*) FROM audit_events").execute().await().iterator().next().getLong(0);
      System.out.printf("sign-in over HTTP (Argon2id check, session and audit entry in one transaction), %d runs:%n", n);
      print(signIns);
      System.out.printf("the audit insert alone, %d runs:%n", inserts);
      print(appends);
      System.out.printf("insert / sign-in at the median: %.2f%%; audit_events now holds %,d entries%n",
          100.0 * percentile(appends, 50) / percentile(signIns, 50), entries);
    } finally {
      db.close().await();
      handle.close().await();
      vertx.close().await();
    }
  }

  private static void print(long[] nanos) {
    System.out.printf("  p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms%n", percentile(nanos, 50) / 1e6,
        percentile(nanos, 90) / 1e6, percentile(nanos, 99) / 1e6, percentile(nanos, 100) / 1e6);
  }

  private static long percentile(long[] nanos, double p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }
}
