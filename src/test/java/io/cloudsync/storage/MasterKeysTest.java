package io.cloudsync.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.db.Migrations;
import io.cloudsync.db.StartupException;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("Master keys")
@ExtendWith(RealServers.class)
class MasterKeysTest {
  private Vertx vertx;
  private String url;
  private final List<Pool> pools = new ArrayList<>();

  @BeforeEach
  void open(Servers servers) {
    vertx = Vertx.vertx();
    url = servers.newDatabaseUrl();
    Migrations.apply(vertx, pool()).await();
  }

  @AfterEach
  void close() {
    pools.forEach(pool -> pool.close().await());
    vertx.close().await();
  }

  private Pool pool() {
    Pool pool = PgBuilder.pool().with(new PoolOptions().setMaxSize(2)).connectingTo(PgConnectOptions.fromUri(url))
        .using(vertx).build();
    pools.add(pool);
    return pool;
  }

  private static CloudSyncConfig.Files files(JsonObject config) {
    return CloudSyncConfig.from(config).files();
  }

  private long storedKeys(Pool pool) {
    return pool.query("SELECT count(*) FROM master_keys").execute().await().iterator().next().getLong(0);
  }

  @Test
  @DisplayName("without a configured key, nodes starting together generate one key between them and keep it")
  void generatedOnce() {
    List<Future<MasterKeys>> loads = new ArrayList<>();
    for (int node = 0; node < 4; node++) {
      loads.add(MasterKeys.load(vertx, pool(), files(new JsonObject())));
    }
    Future.all(loads).await();
    Set<String> currentIds = new HashSet<>();
    for (Future<MasterKeys> load : loads) {
      currentIds.add(load.result().currentId());
    }
    assertThat(currentIds).hasSize(1);
    assertThat(storedKeys(pools.get(0))).isEqualTo(1);

    MasterKeys later = MasterKeys.load(vertx, pool(), files(new JsonObject())).await();
    assertThat(later.currentId()).isEqualTo(currentIds.iterator().next());
    assertThat(later.current().getEncoded()).isEqualTo(loads.get(0).result().current().getEncoded());
    assertThat(storedKeys(pools.get(0))).isEqualTo(1);
  }

  @Test
  @DisplayName("uses a configured key as current, keeps earlier generated and configured keys readable, and stores nothing")
  void configured() {
    MasterKeys generated = MasterKeys.load(vertx, pool(), files(new JsonObject())).await();
    String key = Base64.getEncoder().encodeToString(MasterKeys.generate());
    String old = Base64.getEncoder().encodeToString(MasterKeys.generate());
    MasterKeys keys = MasterKeys.load(vertx, pool(), files(new JsonObject()
        .put("storage.master_key", key).put("storage.master_key_id", "prod-2")
        .put("storage.previous_master_keys", "prod-1:" + old))).await();
    assertThat(keys.currentId()).isEqualTo("prod-2");
    assertThat(keys.current().getEncoded()).isEqualTo(Base64.getDecoder().decode(key));
    assertThat(keys.ids()).containsExactlyInAnyOrder(generated.currentId(), "prod-1", "prod-2");
    assertThat(keys.find(generated.currentId()).getEncoded()).isEqualTo(generated.current().getEncoded());
    assertThat(storedKeys(pools.get(0))).isEqualTo(1);
  }

  @Test
  @DisplayName("a deployment without storage.master_key generates its key at start, and a second node on the same database uses it")
  void deployment(Servers servers) {
    JsonObject config = TestCloudSync.config(servers).put("pg.url", url);
    Vertx first = Vertx.vertx();
    Vertx second = Vertx.vertx();
    try {
      CloudSyncHandle one = TestCloudSync.deploy(first, config);
      CloudSyncHandle two = TestCloudSync.deploy(second,
          config.copy().put("data_dir", TestCloudSync.tempDir().toString()));
      assertThat(storedKeys(pool())).isEqualTo(1);
      two.close().await();
      one.close().await();
    } finally {
      second.close().await();
      first.close().await();
    }
  }

  @Test
  @DisplayName("a deployment refuses to start when its configured key id names another stored key")
  void deploymentRefusesClash(Servers servers) {
    MasterKeys generated = MasterKeys.load(vertx, pool(), files(new JsonObject())).await();
    JsonObject config = TestCloudSync.config(servers).put("pg.url", url)
        .put("storage.master_key", Base64.getEncoder().encodeToString(MasterKeys.generate()))
        .put("storage.master_key_id", generated.currentId());
    Vertx node = Vertx.vertx();
    try {
      assertThatThrownBy(() -> CloudSync.deploy(node, config).await())
          .isInstanceOf(StartupException.class).hasMessageContaining("names two different keys");
    } finally {
      node.close().await();
    }
  }

  @Test
  @DisplayName("refuses to start when one key id would name two different keys")
  void idClash() {
    MasterKeys generated = MasterKeys.load(vertx, pool(), files(new JsonObject())).await();
    String other = Base64.getEncoder().encodeToString(MasterKeys.generate());
    assertThatThrownBy(() -> MasterKeys.load(vertx, pool(), files(new JsonObject()
            .put("storage.master_key", other).put("storage.master_key_id", generated.currentId()))).await())
        .isInstanceOf(StartupException.class).hasMessageContaining(generated.currentId());
  }
}
