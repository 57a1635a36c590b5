package io.cloudsync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Runs the standalone server as its own process, as an operator would. */
@DisplayName("The standalone server process")
@ExtendWith(RealServers.class)
class MainProcessTest {
  private static Process start(Map<String, String> env, String... args) throws IOException {
    return start(null, env, args);
  }

  private static Process start(Path stdout, Map<String, String> env, String... args) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command = new java.util.ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
        "-Dhazelcast.phone.home.enabled=false", "io.cloudsync.Main"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(false);
    builder.environment().keySet().removeIf(name -> name.startsWith("CLOUDSYNC_"));
    builder.environment().putAll(env);
    // The shipped conf/cloudsync.yaml would otherwise be read from the working directory.
    builder.directory(TestCloudSync.tempDir().toFile());
    if (stdout != null) {
      // Read after exit: Process.destroy() closes the pipes, so the output goes to a file.
      builder.redirectOutput(stdout.toFile());
    }
    return builder.start();
  }

  private static String stderr(Process process) throws Exception {
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("process ended").isTrue();
    return new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).trim();
  }

  @Test
  @DisplayName("stops with exit code 2 and one line naming the key when a value is invalid")
  void invalidValue() throws Exception {
    Process process = start(Map.of("CLOUDSYNC_HTTP_PORT", "eighty"));
    String err = stderr(process);
    assertThat(process.exitValue()).isEqualTo(2);
    assertThat(err.lines()).hasSize(1);
    assertThat(err).contains("http.port").contains("CLOUDSYNC_HTTP_PORT");
  }

  @Test
  @DisplayName("stops with exit code 1 and one line when the HTTP port is taken")
  void portTaken(Servers servers) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      Process process = start(Map.of("CLOUDSYNC_HTTP_PORT", String.valueOf(taken.getLocalPort()),
          "CLOUDSYNC_HTTP_HOST", "127.0.0.1", "CLOUDSYNC_PG_URL", servers.newDatabaseUrl(),
          "CLOUDSYNC_DATA_DIR", TestCloudSync.tempDir().toString()));
      String err = stderr(process);
      assertThat(process.exitValue()).isEqualTo(1);
      assertThat(err.lines()).hasSize(1);
      assertThat(err).contains("cannot listen on 127.0.0.1:" + taken.getLocalPort());
    }
  }

  @Test
  @DisplayName("stops with exit code 1 and one line when the data directory cannot be written")
  void unwritableDataDir() throws Exception {
    Path file = Files.createTempFile("not-a-dir", ".txt");
    Process process = start(Map.of("CLOUDSYNC_DATA_DIR", file.resolve("data").toString(), "CLOUDSYNC_HTTP_PORT", "0"));
    String err = stderr(process);
    assertThat(process.exitValue()).isEqualTo(1);
    assertThat(err.lines()).hasSize(1);
    assertThat(err).contains("data directory").contains("not writable");
  }

  @Test
  @DisplayName("serves once ready, reads a config file given with --config, and shuts down cleanly on SIGTERM")
  void readyThenSigterm(Servers servers) throws Exception {
    int port = Servers.freePort();
    Path config = Files.createTempFile("cloudsync", ".yaml");
    Files.writeString(config, "http:\n  host: 127.0.0.1\n  port: " + port + "\n");
    Path stdout = Files.createTempFile("cloudsync", ".out");
    Process process = start(stdout, Map.of("CLOUDSYNC_PG_URL", servers.newDatabaseUrl(),
        "CLOUDSYNC_DATA_DIR", TestCloudSync.tempDir().toString(), "CLOUDSYNC_LOG_FORMAT", "json"),
        "--config", config.toString());
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build();
      int status = 0;
      long deadline = System.currentTimeMillis() + 60_000;
      while (status != 200 && System.currentTimeMillis() < deadline && process.isAlive()) {
        try {
          status = http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException notYet) {
          Thread.sleep(100);
        }
      }
      assertThat(status).isEqualTo(200);
      String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      assertThat(metrics).as("Vert.x's own figures, not only the JVM's")
          .contains("vertx_http_server_requests_total").contains("jvm_memory_used_bytes").contains("vertx_pool");

      process.destroy();
      assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
      String out = Files.readString(stdout);
      assertThat(out.lines().filter(line -> !line.isBlank()))
          .allMatch(line -> line.startsWith("{") && line.endsWith("}"), "every log line is JSON");
      assertThat(out).contains("\"message\":\"Stopped\"");
      if (System.getProperty("os.name").equals("Linux")
          && List.of("amd64", "aarch64").contains(System.getProperty("os.arch"))) {
        assertThat(out).as("the native transport on Linux").contains("network: native epoll");
      }
      assertThat(metrics).as("the files role's own pool").contains("cloudsync-pg-files");
      assertThat(process.exitValue()).isEqualTo(143);
    } finally {
      process.destroyForcibly();
    }
  }
}
