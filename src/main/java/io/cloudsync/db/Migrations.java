package io.cloudsync.db;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies the numbered SQL files in {@code db/migration} ({@code V001__init.sql}, ...) in order,
 * each in its own transaction, under an advisory lock so that cluster nodes starting together
 * apply each file once. A file changed after it was applied stops the start.
 */
public final class Migrations {
  private static final Logger LOG = LoggerFactory.getLogger(Migrations.class);
  private static final String LOCATION = "db/migration";
  private static final Pattern FILE = Pattern.compile("^V(\\d+)__([A-Za-z0-9_]+)\\.sql$");
  /** Any constant works; it only has to be the same on every node. */
  private static final long LOCK_KEY = 0x436c6f756453796eL;

  public record Migration(int version, String name, String sql, String checksum) {
  }

  private Migrations() {
  }

  /** Applies what is missing and answers the schema version now in force. */
  public static Future<Integer> apply(Vertx vertx, Pool pool) {
    return vertx.executeBlocking(Migrations::load, false)
        .compose(migrations -> pool.withConnection(conn -> conn.query("SELECT pg_advisory_lock(" + LOCK_KEY + ")").execute()
            .compose(locked -> applyAll(conn, migrations))
            .eventually(() -> conn.query("SELECT pg_advisory_unlock(" + LOCK_KEY + ")").execute())));
  }

  private static Future<Integer> applyAll(SqlConnection conn, List<Migration> migrations) {
    // Looked up first: CREATE ... IF NOT EXISTS would make PostgreSQL send a notice on every start.
    return conn.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").execute()
        .compose(found -> found.iterator().next().getBoolean("present") ? Future.succeededFuture()
            : conn.query("CREATE TABLE schema_migrations ("
                + "version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, "
                + "applied_at timestamptz NOT NULL DEFAULT now())").execute().mapEmpty())
        .compose(created -> conn.query("SELECT version, checksum FROM schema_migrations").execute())
        .compose(rows -> {
          Map<Integer, String> applied = new HashMap<>();
          for (Row row : rows) {
            applied.put(row.getInteger("version"), row.getString("checksum"));
          }
          Future<Integer> chain = Future.succeededFuture(0);
          for (Migration migration : migrations) {
            String checksum = applied.get(migration.version());
            if (checksum != null) {
              if (!checksum.equals(migration.checksum())) {
                return Future.failedFuture(new StartupException("migration V" + migration.version() + " ("
                    + migration.name() + ") was changed after it was applied to this database"));
              }
              chain = chain.map(migration.version());
              continue;
            }
            chain = chain.compose(previous -> applyOne(conn, migration));
          }
          return chain;
        });
  }

  private static Future<Integer> applyOne(SqlConnection conn, Migration migration) {
    return conn.begin().compose(tx -> conn.query(migration.sql()).execute()
        .compose(done -> conn.preparedQuery("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .execute(Tuple.of(migration.version(), migration.name(), migration.checksum())))
        .compose(done -> tx.commit())
        .onSuccess(done -> LOG.info("Applied migration V{} {}", migration.version(), migration.name()))
        .recover(failure -> tx.rollback().transform(r -> Future.<Void>failedFuture(new StartupException(
            "migration V" + migration.version() + " (" + migration.name() + ") failed: " + failure.getMessage(), failure))))
        .map(migration.version()));
  }

  /** Reads the migration files from the classpath, from a directory or from inside the jar. */
  static List<Migration> load() throws IOException, URISyntaxException {
    URL url = Migrations.class.getClassLoader().getResource(LOCATION);
    if (url == null) {
      throw new StartupException("no migrations found on the classpath at " + LOCATION);
    }
    URI uri = url.toURI();
    List<Migration> out = new ArrayList<>();
    if (uri.getScheme().equals("jar")) {
      FileSystem fs;
      boolean opened = false;
      try {
        fs = FileSystems.getFileSystem(uri);
      } catch (FileSystemNotFoundException e) {
        fs = FileSystems.newFileSystem(uri, Map.of());
        opened = true;
      }
      try {
        readDir(fs.provider().getPath(uri), out);
      } finally {
        if (opened) {
          fs.close();
        }
      }
    } else {
      readDir(Path.of(uri), out);
    }
    out.sort((a, b) -> Integer.compare(a.version(), b.version()));
    for (int i = 1; i < out.size(); i++) {
      if (out.get(i).version() == out.get(i - 1).version()) {
        throw new StartupException("two migrations share version " + out.get(i).version());
      }
    }
    return out;
  }

  private static void readDir(Path dir, List<Migration> out) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        Matcher m = FILE.matcher(file.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
          bytes = in.readAllBytes();
        }
        out.add(new Migration(Integer.parseInt(m.group(1)), m.group(2), new String(bytes, StandardCharsets.UTF_8), sha256(bytes)));
      }
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
