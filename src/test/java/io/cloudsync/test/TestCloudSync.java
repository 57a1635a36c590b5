package io.cloudsync.test;

import io.cloudsync.CloudSync;
import io.cloudsync.CloudSyncHandle;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Deploys CloudSync for a test: a fresh database on the shared PostgreSQL, a temp data dir, a random port. */
public final class TestCloudSync {
  private TestCloudSync() {
  }

  /** The base configuration; tests put their own keys over it. */
  public static JsonObject config(Servers servers) {
    return new JsonObject()
        .put("http.host", "127.0.0.1")
        .put("http.port", 0)
        .put("http.instances", 1)
        .put("data_dir", tempDir().toString())
        .put("pg.url", servers.newDatabaseUrl())
        .put("pg.pool_size", 4)
        // Tests send many requests from one address; the rate-limit tests set their own limits.
        .put("ratelimit.api_per_minute", 1_000_000)
        .put("ratelimit.auth_per_minute", 1_000_000);
  }

  /** The blob.* keys that point CloudSync at the harness's S3-compatible server. */
  public static JsonObject s3Config(Servers servers) {
    Servers.S3 bucket = servers.s3();
    return new JsonObject()
        .put("blob.type", "s3").put("blob.s3.endpoint", bucket.endpoint()).put("blob.s3.region", bucket.region())
        .put("blob.s3.bucket", bucket.bucket()).put("blob.s3.access_key", bucket.accessKey())
        .put("blob.s3.secret_key", bucket.secretKey()).put("blob.s3.path_style", true);
  }

  public static CloudSyncHandle deploy(Vertx vertx, JsonObject config) {
    return CloudSync.deploy(vertx, config).await();
  }

  public static Path tempDir() {
    try {
      return Files.createTempDirectory("cloudsync-test");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
