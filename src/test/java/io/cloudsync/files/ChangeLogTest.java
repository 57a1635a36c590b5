package io.cloudsync.files;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.auth.Access;
import io.cloudsync.db.Database;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Write transactions on a space")
@ExtendWith(RealServers.class)
class ChangeLogTest {
  private static FilesFixture files;

  @BeforeAll
  static void start(Servers servers) {
    files = FilesFixture.start(servers, new JsonObject());
  }

  @AfterAll
  static void stop() {
    files.close();
  }

  @Test
  @DisplayName("may use cached plans, while the pool's other work plans each run for its parameters")
  void cachedPlansInWritesOnly() {
    JsonObject user = files.user("planner");
    String space = files.space(user.getString("token"), "Plans", null).getString("id");
    Pool pool = Database.pool(files.vertx, PgConnectOptions.fromUri(files.dbUrl), 1, "change-log-test");
    try {
      ChangeLog log = new ChangeLog(files.vertx, pool);
      String inWrite = log.write(space, user.getString("id"), Access.Action.WRITE,
          (tx, locked) -> tx.conn().query("SHOW plan_cache_mode").execute()
              .map(rows -> rows.iterator().next().getString(0))).await();
      assertThat(inWrite).isEqualTo("auto");
      // The pool has one connection: the write's setting ended with its transaction.
      assertThat(pool.query("SHOW plan_cache_mode").execute().await().iterator().next().getString(0))
          .isEqualTo("force_custom_plan");
    } finally {
      pool.close().await();
    }
  }
}
