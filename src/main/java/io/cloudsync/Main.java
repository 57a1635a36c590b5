package io.cloudsync;

import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.config.ConfigException;
import io.cloudsync.config.ConfigLoader;
import io.cloudsync.db.StartupException;
import io.cloudsync.observability.Logging;
import io.netty.channel.unix.Errors;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar cloudsync.jar [--config FILE] [--cluster]}: the standalone server. */
public final class Main {
  static final int EXIT_CONFIG = 2;
  static final int EXIT_START = 1;

  private Main() {
  }

  public static void main(String[] args) {
    int code = run(args, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  static int run(String[] args, PrintStream err) {
    String configFile = null;
    boolean clusterFlag = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-c" -> {
          if (i + 1 >= args.length) {
            return usage(err, "--config needs a file");
          }
          configFile = args[++i];
        }
        case "--cluster" -> clusterFlag = true;
        case "--version" -> {
          System.out.println("CloudSync " + CloudSync.version());
          return 0;
        }
        case "--help", "-h" -> {
          usage(System.out, null);
          return 0;
        }
        default -> {
          return usage(err, "unknown argument " + args[i]);
        }
      }
    }

    Logging.configureConsole("text", "info");
    Logger log = LoggerFactory.getLogger(Main.class);
    JsonObject flat;
    CloudSyncConfig config;
    List<String> warnings = new ArrayList<>();
    try {
      Path file = ConfigLoader.chooseFile(configFile, System.getenv());
      flat = ConfigLoader.load(file, System.getenv(), System.getProperties(), warnings);
      if (clusterFlag) {
        flat.put("cluster", true);
      }
      config = CloudSyncConfig.from(flat);
    } catch (ConfigException e) {
      err.println("cloudsync: invalid configuration: " + e.getMessage());
      return EXIT_CONFIG;
    }
    Logging.configureConsole(config.log().format(), config.log().level());
    warnings.forEach(log::warn);

    long started = System.nanoTime();
    Vertx vertx;
    CloudSyncHandle handle;
    try {
      vertx = Clustering.start(config).await();
    } catch (Throwable e) {
      err.println("cloudsync: cannot join the cluster: " + oneLine(e));
      return EXIT_START;
    }
    try {
      handle = CloudSync.deploy(vertx, flat).await();
    } catch (Throwable e) {
      err.println("cloudsync: " + describeStartFailure(e, config));
      closeQuietly(vertx);
      return EXIT_START;
    }
    long timeout = config.http().shutdownTimeout().toMillis() + 10_000;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      log.info("Shutting down: finishing requests in flight, then closing pools");
      try {
        handle.close().toCompletionStage().toCompletableFuture().get(timeout, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        log.warn("Shutdown did not finish cleanly: {}", oneLine(e));
      }
      closeQuietly(vertx);
      log.info("Stopped");
    }, "cloudsync-shutdown"));
    String scheme = config.http().tls().isPresent() ? "https" : "http";
    if (handle.httpPort() > 0) {
      log.info("CloudSync {} ready on {}://{}:{} in {} ms (roles: {}{}; network: {})", CloudSync.version(), scheme,
          config.http().host(), handle.httpPort(), (System.nanoTime() - started) / 1_000_000,
          roleNames(config), config.cluster().enabled() ? ", clustered" : "", transport(vertx));
    } else {
      log.info("CloudSync {} ready in {} ms (roles: {}{}; network: {})", CloudSync.version(),
          (System.nanoTime() - started) / 1_000_000, roleNames(config), config.cluster().enabled() ? ", clustered" : "",
          transport(vertx));
    }
    return 0;
  }

  /** Which transport the server's sockets use: Netty's native epoll where the platform has it, else Java NIO. */
  private static String transport(Vertx vertx) {
    return vertx.isNativeTransportEnabled() ? "native epoll" : "Java NIO";
  }

  private static String roleNames(CloudSyncConfig config) {
    return config.roles().stream().map(io.cloudsync.config.Role::configName).sorted()
        .collect(java.util.stream.Collectors.joining(", "));
  }

  private static String describeStartFailure(Throwable e, CloudSyncConfig config) {
    if (e instanceof ConfigException || e instanceof StartupException) {
      return e.getMessage();
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      // Java NIO reports a port it cannot take as a BindException; the native epoll transport as the
      // failed bind call and its error.
      if (t instanceof BindException || t instanceof Errors.NativeIoException nativeError
          && String.valueOf(nativeError.getMessage()).startsWith("bind(")) {
        return "cannot listen on " + config.http().host() + ":" + config.http().port() + ": " + t.getMessage();
      }
    }
    return "start failed: " + oneLine(e);
  }

  private static String oneLine(Throwable e) {
    String message = e.getMessage();
    return (message == null ? e.getClass().getSimpleName() : message).replace('\n', ' ');
  }

  private static void closeQuietly(Vertx vertx) {
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Exiting anyway.
    }
  }

  private static int usage(PrintStream out, String problem) {
    if (problem != null) {
      out.println("cloudsync: " + problem);
    }
    out.println("usage: java -jar cloudsync.jar [--config FILE] [--cluster] [--version] [--help]");
    out.println("Configuration: conf/cloudsync.yaml, CLOUDSYNC_* environment variables, -Dcloudsync.* properties.");
    return problem == null ? 0 : EXIT_CONFIG;
  }
}
