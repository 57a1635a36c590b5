package io.cloudsync.db;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Tuple;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("The database pool")
@ExtendWith(RealServers.class)
class DatabaseTest {
  @Test
  @DisplayName("keeps statements prepared per connection and still plans each run for its parameters")
  void preparedStatements(Servers servers) {
    Vertx vertx = Vertx.vertx();
    try {
      Database db = Database.start(vertx, CloudSyncConfig.from(new JsonObject()
          .put("pg.url", servers.newDatabaseUrl()).put("pg.pool_size", 1))).await();
      try {
        String sql = "SELECT $1::int + 1";
        for (int i = 0; i < 3; i++) {
          assertThat(db.pool().preparedQuery(sql).execute(Tuple.of(i)).await().iterator().next().getInteger(0))
              .isEqualTo(i + 1);
        }
        long prepared = db.pool().query("SELECT count(*) FROM pg_prepared_statements WHERE statement = '" + sql + "'")
            .execute().await().iterator().next().getLong(0);
        assertThat(prepared).as("one named statement on the pool's one connection").isEqualTo(1);
        assertThat(db.pool().query("SHOW plan_cache_mode").execute().await().iterator().next().getString(0))
            .isEqualTo("force_custom_plan");
      } finally {
        db.close().await();
      }
    } finally {
      vertx.close().await();
    }
  }
}
