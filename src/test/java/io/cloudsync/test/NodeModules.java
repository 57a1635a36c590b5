package io.cloudsync.test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The node packages some tests run against — the stock Vert.x event-bus bridge client, the
 * reference Standard Webhooks library — pinned by src/test/js/package-lock.json and installed into
 * target/js-client with npm. A test that needs them is skipped, and says why, where node or the
 * registry is missing. A copy of the lock file marks a finished install, so an interrupted one is
 * redone.
 */
public final class NodeModules {
  public static final Path SOURCES = Path.of("src/test/js");
  private static final Path INSTALL = Path.of("target/js-client");

  private NodeModules() {
  }

  /** The installed node_modules directory; skips the calling test when it cannot be had. */
  public static synchronized Path require() {
    try {
      Assumptions.assumeTrue(run(Path.of("."), 10, "node", "--version") == 0, "node is not installed");
      String lock = Files.readString(SOURCES.resolve("package-lock.json"));
      Path installed = INSTALL.resolve("installed.lock");
      if (!Files.exists(installed) || !Files.readString(installed).equals(lock)) {
        Files.createDirectories(INSTALL);
        for (String file : List.of("package.json", "package-lock.json")) {
          Files.copy(SOURCES.resolve(file), INSTALL.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        }
        // Offline, npm's default retries would take minutes to give up; one quick retry is enough.
        Assumptions.assumeTrue(run(INSTALL, 60, "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund",
            "--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=3000") == 0,
            "npm could not install src/test/js's packages (offline?)");
        Files.writeString(installed, lock);
      }
      return INSTALL.resolve("node_modules").toAbsolutePath();
    } catch (IOException e) {
      throw new IllegalStateException("installing src/test/js's packages failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Runs a command, answering its exit code, or -1 when it cannot start or does not finish in time. */
  private static int run(Path directory, int seconds, String... command) throws InterruptedException {
    try {
      Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        return -1;
      }
      return process.exitValue();
    } catch (IOException e) {
      return -1;
    }
  }
}
