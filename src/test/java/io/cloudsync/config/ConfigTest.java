package io.cloudsync.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Configuration")
class ConfigTest {
  @TempDir
  Path dir;

  private Path file(String yaml) throws IOException {
    Path file = dir.resolve("cloudsync.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  @DisplayName("takes the file, then CLOUDSYNC_* environment variables, then system properties, each over the one before")
  void precedence() throws IOException {
    Path file = file("http:\n  port: 1000\n  host: 10.0.0.1\ndata_dir: /srv/file\npg:\n  pool_size: 3\n");
    Map<String, String> env = Map.of("CLOUDSYNC_HTTP_PORT", "2000", "CLOUDSYNC_DATA_DIR", "/srv/env", "PATH", "/bin");
    Properties props = new Properties();
    props.setProperty("cloudsync.http.port", "3000");
    List<String> warnings = new ArrayList<>();

    CloudSyncConfig config = CloudSyncConfig.from(ConfigLoader.load(file, env, props, warnings));

    assertThat(config.http().port()).isEqualTo(3000);
    assertThat(config.dataDir()).isEqualTo(Path.of("/srv/env"));
    assertThat(config.http().host()).isEqualTo("10.0.0.1");
    assertThat(config.pg().poolSize()).isEqualTo(3);
    assertThat(warnings).isEmpty();
  }

  @Test
  @DisplayName("gives every key its default when nothing is configured")
  void defaults() {
    CloudSyncConfig config = CloudSyncConfig.defaults();
    assertThat(config.http().port()).isEqualTo(8080);
    assertThat(config.pg().embedded()).isTrue();
    assertThat(config.blob().type()).isEqualTo("local");
    assertThat(config.blob().localDir()).isEqualTo(config.dataDir().resolve("blobs"));
    assertThat(config.cluster().enabled()).isFalse();
    assertThat(config.roles()).containsExactlyInAnyOrder(Role.values());
    assertThat(config.http().jsonBodyLimit()).isEqualTo(1L << 20);
    assertThat(config.changeFeed()).isEqualTo(new CloudSyncConfig.ChangeFeed("cloudsync.changes", 500, 30_000));
  }

  @Test
  @DisplayName("refuses a bad value with a message that names the key and its environment variable")
  void badValue() {
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("http.port", "eighty")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("http.port").hasMessageContaining("CLOUDSYNC_HTTP_PORT").hasMessageContaining("eighty");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("http", new JsonObject().put("port", 70000))))
        .hasMessageContaining("http.port").hasMessageContaining("0 to 65535");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("roles", "gateway,teapot")))
        .hasMessageContaining("roles").hasMessageContaining("teapot");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("blob.type", "ftp")))
        .hasMessageContaining("blob.type").hasMessageContaining("local, s3");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("blob.type", "s3")))
        .hasMessageContaining("blob.s3.bucket");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("http.tls.cert", "/no/such.pem")))
        .hasMessageContaining("http.tls");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("http.cors.origins", "*")))
        .hasMessageContaining("http.cors.origins");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("pg.url", "mysql://x")))
        .hasMessageContaining("pg.url");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("changefeed.topic", "changes of spaces")))
        .hasMessageContaining("changefeed.topic").hasMessageContaining("CLOUDSYNC_CHANGEFEED_TOPIC");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("changefeed.poll_interval_ms", 0)))
        .hasMessageContaining("changefeed.poll_interval_ms");
  }

  @Test
  @DisplayName("reports unknown keys in the file and unknown CLOUDSYNC_* variables instead of ignoring them silently")
  void unknownKeys() throws IOException {
    Path file = file("http:\n  prot: 9000\nwebhook: {}\n");
    List<String> warnings = new ArrayList<>();
    Properties props = new Properties();
    props.setProperty("cloudsync.no.such", "1");
    JsonObject flat = ConfigLoader.load(file, Map.of("CLOUDSYNC_HTTP_PROT", "1", "CLOUDSYNC_CONFIG", "x"), props, warnings);

    assertThat(CloudSyncConfig.from(flat).unknownKeys()).contains("http.prot");
    assertThat(warnings).anyMatch(w -> w.contains("CLOUDSYNC_HTTP_PROT"))
        .anyMatch(w -> w.contains("cloudsync.no.such"))
        .noneMatch(w -> w.contains("CLOUDSYNC_CONFIG"));
  }

  @Test
  @DisplayName("reads nested and dotted keys alike, sizes with suffixes and lists from comma-separated text")
  void shapes() {
    CloudSyncConfig nested = CloudSyncConfig.from(new JsonObject()
        .put("http", new JsonObject().put("body_limit", new JsonObject().put("json", "64k")))
        .put("cluster_members", "10.0.0.1, 10.0.0.2:5702")
        .put("cluster", "yes"));
    CloudSyncConfig dotted = CloudSyncConfig.from(new JsonObject().put("http.body_limit.json", 65536));
    assertThat(nested.http().jsonBodyLimit()).isEqualTo(65536).isEqualTo(dotted.http().jsonBodyLimit());
    assertThat(nested.cluster().members()).containsExactly("10.0.0.1", "10.0.0.2:5702");
    assertThat(nested.cluster().enabled()).isTrue();
    assertThat(CloudSyncConfig.from(new JsonObject().put("files.max_file_size", "5g")).files().maxFileSize())
        .isEqualTo(5L << 30);
  }

  @Test
  @DisplayName("maps every key to its environment variable by one rule")
  void envRule() {
    assertThat(Settings.HTTP_PORT.envName()).isEqualTo("CLOUDSYNC_HTTP_PORT");
    assertThat(Settings.DATA_DIR.envName()).isEqualTo("CLOUDSYNC_DATA_DIR");
    assertThat(Settings.PG_URL.envName()).isEqualTo("CLOUDSYNC_PG_URL");
    assertThat(Settings.REDIS_URL.envName()).isEqualTo("CLOUDSYNC_REDIS_URL");
    assertThat(Settings.KAFKA_BOOTSTRAP.envName()).isEqualTo("CLOUDSYNC_KAFKA_BOOTSTRAP");
    assertThat(Settings.CLUSTER.envName()).isEqualTo("CLOUDSYNC_CLUSTER");
    assertThat(Settings.BLOB_S3_PATH_STYLE.envName()).isEqualTo("CLOUDSYNC_BLOB_S3_PATH_STYLE");
  }

  @Test
  @DisplayName("ships conf/cloudsync.yaml with every key and nothing unknown")
  void shippedFile() {
    JsonObject flat = ConfigLoader.flatten(ConfigLoader.readFile(Path.of("conf", "cloudsync.yaml")));
    assertThat(CloudSyncConfig.from(flat).unknownKeys()).isEmpty();
    assertThat(flat.fieldNames()).containsAll(Settings.all().keySet());
  }

  @Test
  @DisplayName("documents every key and its environment variable in the README's configuration table")
  void readmeTable() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    for (Setting setting : Settings.all().values()) {
      assertThat(readme).as("README row for " + setting.name())
          .contains("`" + setting.name() + "`").contains("`" + setting.envName() + "`");
    }
  }
}
