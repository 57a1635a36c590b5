package io.cloudsync.bench;

import io.cloudsync.test.Api;
import io.cloudsync.test.Servers;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/**
 * Live-sync load, printed, never asserted: many idle subscribers of one space on the raw
 * WebSocket {@code /api/v1/sync} and on the SockJS bridge {@code /eventbus}, a writer creating
 * folders through the HTTP API at fixed rates, and for each rate the publish-to-receive latency,
 * deliveries per second and the server's CPU time; before any change, the resident memory each
 * idle connection costs the server. The same client measures, in the same run, one CloudSync
 * node, two clustered nodes (subscribers split across both, every write through the first), and
 * {@link BareBroadcastServer}, the least a Vert.x server does to push a message to the same
 * connections at the same rates.
 *
 * <p>Servers run as their own JVMs (same flags for all) so that their CPU time and RSS can be read
 * from {@code /proc}; PostgreSQL is the test harness's embedded one, started by this process.
 * Timestamps: the writer takes {@link System#nanoTime()} just before it sends each write and
 * stores it under the write's number, which is also in the folder's name ({@code zq<phase>x<n>z});
 * a subscriber finds that name in each change frame as it arrives and records arrival minus send
 * time. Writer and subscribers share this JVM's clock. A CloudSync latency therefore includes the
 * HTTP request, the PostgreSQL transaction and the event-bus hop; the bare server's includes its
 * HTTP request and broadcast.
 *
 * <pre>
 * mvn -q test-compile dependency:build-classpath -Dmdep.outputFile=target/cp.txt
 * java -Xmx3g -cp target/test-classes:target/classes:$(cat target/cp.txt) io.cloudsync.bench.SyncBench \
 *     [raw=10000] [sockjs=1000] [seconds per rate=15] [--rates=1,10,100] [--configs=one,two,bare] \
 *     [--drain=60] [--source-addresses=1] [--warm-writes=10000] [--squeezed-latency]
 * </pre>
 * {@code SyncBench 1000 100 10} is a quick run of a few minutes.
 */
public final class SyncBench {
  /** Server JVM flags, the same for CloudSync and the bare server: after a full GC the heap gives free memory back. */
  private static final List<String> SERVER_JVM = List.of("-Xmx2g", "-XX:+UseG1GC", "-XX:MinHeapFreeRatio=10",
      "-XX:MaxHeapFreeRatio=30", "-Dhazelcast.phone.home.enabled=false", "-Dhazelcast.logging.type=slf4j");
  private static final int CONNECT_WINDOW = 200;
  /** Writes per second of the write-path warm-up. */
  private static final int WARM_RATE = 250;
  /** Warm-up folders made in one folder before the next takes over. */
  private static final int WARM_PER_FOLDER = 5_000;
  /** {@code --warm-writes=N}: writes of the write-path warm-up, before anything is measured. */
  private static int warmWrites;
  /**
   * {@code --jfr[=SETTINGS]}: record each server with Java Flight Recorder into the work directory,
   * with the JDK's {@code profile} settings or the given {@code .jfc} file; null: no recording.
   */
  private static String jfr;
  /**
   * {@code --squeezed-latency}: keep the memory phase's heap flags for the latency phases too. By
   * default the servers get the JVM's own heap free ratios back (40 and 70 %, as in the Dockerfile's
   * deployment) once memory is measured: the squeezed heap that makes RSS follow live data also
   * makes G1 collect every second and start a concurrent cycle every other, which both servers'
   * latency would otherwise measure.
   */
  private static boolean squeezedLatency;
  /** {@code --histo}: print which classes the idle raw connections' heap is made of (first server). */
  private static boolean histo;
  private static final long MAX_MICROS = TimeUnit.SECONDS.toMicros(300);
  private static final int RAW = 0;
  private static final int SOCKJS = 1;
  private static final String[] KINDS = {"raw", "sockjs"};
  /** Histograms 0-3 are per kind and server; these two split the latency into its parts. */
  private static final int WRITE_PATH = 4;
  private static final int FAN_OUT = 5;
  /** The bridge closes a socket that sends no ping within its ping timeout (sync.idle_timeout). */
  private static final String SOCKJS_PING = new JsonArray().add(new JsonObject().put("type", "ping").encode()).encode();

  private final int raw;
  private final int sockjs;
  private final int seconds;
  private final int[] rates;
  private final List<String> configs;
  private final int drainSeconds;
  private final int sourceAddresses;
  private final Path work;
  private final Vertx clients;
  private final Vertx control;
  private final WebClient http;
  /** Every phase of the run by its number, the one in its writes' names; each gets a new number. */
  private final java.util.concurrent.atomic.AtomicReferenceArray<Phase> phases =
      new java.util.concurrent.atomic.AtomicReferenceArray<>(1024);
  private int phaseCount;
  /** Length of the first change frame seen, so the bare server sends messages of the same size. */
  private volatile int frameLength = 700;
  /**
   * The first raw change frame seen and the write's name in it: the bare server broadcasts this
   * text with each write's own name, the same bytes a CloudSync subscriber gets (SockJS escapes
   * every quote of a JSON message, so the text costs as much as its length); null before one.
   */
  private volatile FrameTemplate frameTemplate;

  private record FrameTemplate(String text, String marker) {
  }
  private final List<String> summary = new ArrayList<>();

  private SyncBench(int raw, int sockjs, int seconds, int[] rates, List<String> configs, int drainSeconds,
                    int sourceAddresses, Path work) {
    this.raw = raw;
    this.sockjs = sockjs;
    this.seconds = seconds;
    this.rates = rates;
    this.configs = configs;
    this.drainSeconds = drainSeconds;
    this.sourceAddresses = sourceAddresses;
    this.work = work;
    this.clients = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true)
        .setEventLoopPoolSize(Runtime.getRuntime().availableProcessors()));
    this.control = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true).setEventLoopPoolSize(1));
    this.http = WebClient.create(control, new WebClientOptions().setKeepAlive(true),
        new io.vertx.core.http.PoolOptions().setHttp1MaxSize(64));
  }

  public static void main(String[] args) throws Exception {
    List<String> positional = new ArrayList<>();
    Map<String, String> flags = new LinkedHashMap<>();
    for (String arg : args) {
      if (arg.startsWith("--")) {
        String[] kv = arg.substring(2).split("=", 2);
        flags.put(kv[0], kv.length > 1 ? kv[1] : "true");
      } else {
        positional.add(arg);
      }
    }
    int raw = positional.size() > 0 ? Integer.parseInt(positional.get(0)) : 10_000;
    int sockjs = positional.size() > 1 ? Integer.parseInt(positional.get(1)) : 1_000;
    int seconds = positional.size() > 2 ? Integer.parseInt(positional.get(2)) : 15;
    int[] rates = Arrays.stream(flags.getOrDefault("rates", "1,10,100").split(",")).mapToInt(Integer::parseInt).toArray();
    List<String> configs = List.of(flags.getOrDefault("configs", "one,two,bare").split(","));
    int drain = Integer.parseInt(flags.getOrDefault("drain", "60"));
    int sources = Integer.parseInt(flags.getOrDefault("source-addresses", "1"));
    jfr = flags.containsKey("jfr") ? (flags.get("jfr").equals("true") ? "profile" : flags.get("jfr")) : null;
    histo = flags.containsKey("histo");
    squeezedLatency = flags.containsKey("squeezed-latency");
    warmWrites = Integer.parseInt(flags.getOrDefault("warm-writes", "10000"));
    Path work = Files.createTempDirectory("sync-bench");
    SyncBench bench = new SyncBench(raw, sockjs, seconds, rates, configs, drain, sources, work);
    try {
      bench.run();
    } finally {
      bench.clients.close().await();
      bench.control.close().await();
      Servers.get().close();
    }
    System.exit(0);
  }

  // ------------------------------------------------------------------------------------------ run

  private void run() throws Exception {
    int total = raw + sockjs;
    long fdLimit = openFileLimit(ProcessHandle.current().pid());
    String ports = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).get(0).trim().replaceAll("\\s+", "-");
    System.out.printf("%nSyncBench: %d raw WebSocket + %d SockJS subscribers, %d s per rate at %s changes/s, "
            + "configurations %s%n", raw, sockjs, seconds, Arrays.toString(rates), configs);
    System.out.printf("  %d CPUs; open files limit %d here (children inherit it; each process needs about "
            + "its connections + 500); ephemeral ports %s; %d source address(es); logs in %s%n",
        Runtime.getRuntime().availableProcessors(), fdLimit, ports, sourceAddresses, work);
    System.out.printf("  load average at start: %s (other work on this machine shares its CPUs; see \"other "
        + "processes\" below)%n", Files.readAllLines(Path.of("/proc/loadavg")).get(0));
    if (fdLimit < total + 500) {
      System.out.printf("  WARNING: raise the limit first (ulimit -n %d): this run will run out of descriptors%n",
          total + 2000);
    }
    Map<String, ConfigResult> results = new LinkedHashMap<>();
    for (String config : configs) {
      ConfigResult result = switch (config) {
        case "one" -> runCloudSync("one node", 1);
        case "two" -> runCloudSync("two nodes", 2);
        case "bare" -> runBare();
        default -> throw new IllegalArgumentException("unknown configuration " + config + " (one, two, bare)");
      };
      results.put(config, result);
    }
    printSummary(results);
  }

  /** Figures of one configuration. */
  private record ConfigResult(String name, List<PhaseResult> phases, double bytesPerRaw, double bytesPerSockjs,
                              double heapPerRaw, double heapPerSockjs) {
    PhaseResult at(int rate) {
      return phases.stream().filter(p -> p.rate == rate).findFirst().orElse(null);
    }
  }

  private record PhaseResult(int rate, long sent, long expected, long delivered, Histogram all, Map<String, Histogram> parts,
                             Histogram writePath, Histogram fanOut, double deliveriesPerSecond, double serverCpu,
                             double clientCpu, double postgresCpu, double machineCpu, double wallSeconds, long logReads,
                             Histogram publishCalls, int publishErrors) {
  }

  private ConfigResult runCloudSync(String name, int nodes) throws Exception {
    Servers servers = Servers.get();
    String db = servers.newDatabaseUrl();
    List<ServerProcess> started = new ArrayList<>();
    int[] clusterPorts = {Servers.freePort(), Servers.freePort()};
    String members = "127.0.0.1:" + clusterPorts[0] + ",127.0.0.1:" + clusterPorts[1];
    try {
      for (int n = 0; n < nodes; n++) {
        int port = Servers.freePort();
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CLOUDSYNC_HTTP_HOST", "127.0.0.1");
        env.put("CLOUDSYNC_HTTP_PORT", String.valueOf(port));
        env.put("CLOUDSYNC_PG_URL", db);
        env.put("CLOUDSYNC_DATA_DIR", work.resolve(name.replace(' ', '-') + "-" + n).toString());
        env.put("CLOUDSYNC_RATELIMIT_API_PER_MINUTE", "1000000");
        env.put("CLOUDSYNC_RATELIMIT_AUTH_PER_MINUTE", "1000000");
        env.put("CLOUDSYNC_AUTH_ACCESS_TOKEN_TTL", "86400");
        if (nodes > 1) {
          env.put("CLOUDSYNC_CLUSTER", "true");
          env.put("CLOUDSYNC_CLUSTER_HOST", "127.0.0.1");
          env.put("CLOUDSYNC_CLUSTER_PORT", String.valueOf(clusterPorts[n]));
          env.put("CLOUDSYNC_CLUSTER_MEMBERS", members);
        }
        ServerProcess server = ServerProcess.start(name + " #" + (n + 1), serverClasspath(false), "io.cloudsync.Main",
            List.of(), env, work, port);
        started.add(server);
        // One after the other: the first runs the migrations.
        server.awaitReady(http, "/health/ready", 120);
      }
      System.out.printf("%n== %s: CloudSync %s (pids %s)%n", name, nodes == 1 ? "alone" : "clustered",
          started.stream().map(s -> String.valueOf(s.pid)).collect(Collectors.joining(", ")));
      Api api = new Api(control, started.get(0).port);
      String token = api.newUser("bench-" + nodes + "@example.com");
      String space = api.post("/api/v1/spaces", token, new JsonObject().put("name", "bench")).bodyAsJsonObject()
          .getString("id");
      int writePort = started.get(0).port;
      // Warm-up writes go into folders of their own, WARM_PER_FOLDER each (below the default
      // files.folder_entry_limit): the measured ones should not land in a folder that thousands of
      // warm-up folders have already filled.
      List<Publisher> warmFolders = new ArrayList<>();
      for (int f = 0; f < (warmWrites + WARM_RATE) / WARM_PER_FOLDER + 1; f++) {
        String folder = api.post("/api/v1/spaces/" + space + "/nodes", token, new JsonObject()
            .put("name", "warm-up-" + f).put("type", "folder")).bodyAsJsonObject().getString("id");
        warmFolders.add(folderWriter(writePort, token, space, folder));
      }
      Publisher publisher = folderWriter(writePort, token, space, null);
      Publisher warmWriter = (phase, k) -> warmFolders.get(k / WARM_PER_FOLDER).publish(phase, k);
      String database = db.substring(db.lastIndexOf('/') + 1);
      Target target = new Target(started, true, space, token, () -> logReads(database));
      return measure(name, target, publisher, warmWriter, () -> head(api, token, space));
    } finally {
      started.forEach(ServerProcess::stop);
    }
  }

  /** Creates folder {@code zq<phase>x<k>z} in {@code parent} (null: at the top level) through the API. */
  private Publisher folderWriter(int port, String token, String space, String parent) {
    return (phase, k) -> http.request(HttpMethod.POST, port, "127.0.0.1", "/api/v1/spaces/" + space + "/nodes")
        .putHeader("Authorization", "Bearer " + token)
        .sendJsonObject(new JsonObject().put("name", marker(phase, k)).put("type", "folder").put("parent_id", parent));
  }

  private ConfigResult runBare() throws Exception {
    int port = Servers.freePort();
    ServerProcess server = ServerProcess.start("bare", serverClasspath(true), BareBroadcastServer.class.getName(),
        List.of(String.valueOf(port)), Map.of(), work, port);
    try {
      server.awaitReady(http, "/ready", 60);
      System.out.printf("%n== bare Vert.x broadcast server (pid %d)%n", server.pid);
      Publisher publisher = (phase, k) -> http.post(port, "127.0.0.1", "/publish")
          .sendBuffer(Buffer.buffer(barePayload(phase, k)));
      return measure("bare server", new Target(List.of(server), false, null, null, () -> 0L), publisher, publisher,
          () -> 0L);
    } finally {
      server.stop();
    }
  }

  /** A change frame as CloudSync sent it, with this write's marker; else one of its length. */
  private String barePayload(int phase, int k) {
    FrameTemplate template = frameTemplate;
    if (template != null) {
      return template.text().replace(template.marker(), marker(phase, k));
    }
    StringBuilder payload = new StringBuilder("{\"type\":\"change\",\"name\":\"").append(marker(phase, k))
        .append("\",\"pad\":\"");
    while (payload.length() < frameLength - 2) {
      payload.append('x');
    }
    return payload.append("\"}").toString();
  }

  private static long head(Api api, String token, String space) {
    long cursor = 0;
    while (true) {
      JsonObject page = api.get("/api/v1/spaces/" + space + "/changes?cursor=" + cursor + "&limit=1000", token)
          .bodyAsJsonObject();
      cursor = page.getLong("cursor");
      if (!page.getBoolean("has_more")) {
        return cursor;
      }
    }
  }

  /**
   * Where subscribers connect: the servers in turn, speaking CloudSync's protocols, or the bare
   * server's plain WebSocket and SockJS.
   */
  private record Target(List<ServerProcess> servers, boolean cloudSync, String space, String token,
                        java.util.function.LongSupplier logReads) {
  }

  @FunctionalInterface
  private interface Publisher {
    Future<HttpResponse<Buffer>> publish(int phase, int k);
  }

  @FunctionalInterface
  private interface Head {
    long get();
  }

  /**
   * Runs the phases against one configuration. {@code warmWriter} makes the writes of the warm-up,
   * which the measurement should not see.
   */
  private ConfigResult measure(String name, Target target, Publisher publisher, Publisher warmWriter, Head head)
      throws Exception {
    List<Subscriber> all = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<WebSocketClient> wsClients = new ArrayList<>();
    for (int i = 0; i < sourceAddresses; i++) {
      WebSocketClientOptions options = new WebSocketClientOptions().setMaxConnections(raw + sockjs + 1000)
          .setMaxFrameSize(1 << 20).setMaxMessageSize(1 << 20).setConnectTimeout(60_000).setIdleTimeout(0);
      if (sourceAddresses > 1) {
        options.setLocalAddress("127.0.0." + (i + 1));
      }
      wsClients.add(clients.createWebSocketClient(options));
    }
    long sockjsPings = clients.setPeriodic(20_000, id -> all.stream().filter(s -> s.sockjs && s.ws != null)
        .forEach(s -> s.ws.writeTextMessage(SOCKJS_PING)));
    try {
      // Warm the server up (class loading, JIT of the connect, subscribe and delivery paths) with a
      // small set that is closed again before memory is measured.
      Phase warmReady = newPhase(10_000);
      List<Subscriber> warm = connect(target, wsClients, Math.max(1, Math.min(500, raw / 10)),
          Math.max(1, Math.min(50, sockjs / 10)), head.get());
      awaitReady(warm, publisher, warmReady);
      runPhase(warm, publisher, newPhase(200), 50, 4, target);
      for (Subscriber s : warm) {
        s.ws.close();
      }
      // Then the write path alone, until the JIT has compiled it as a long-running server has: the
      // rates measured first (1/s, 10/s) would otherwise time partly interpreted code.
      if (warmWrites > 0) {
        long warmStart = System.nanoTime();
        int warmSeconds = (warmWrites + WARM_RATE - 1) / WARM_RATE;
        PhaseResult warmed = runPhase(List.of(), warmWriter, newPhase(WARM_RATE * warmSeconds + 1), WARM_RATE,
            warmSeconds, target);
        System.out.printf("  warm-up: %d writes at %d/s without subscribers in %.1f s (write answered p50 %.1f ms)%n",
            warmed.sent(), WARM_RATE, (System.nanoTime() - warmStart) / 1e9,
            warmed.publishCalls().getValueAtPercentile(50) / 1000.0);
      }
      Thread.sleep(3000);

      List<Memory> baseline = memory(target);
      Map<String, long[]> histoBefore = histo ? target.servers.get(0).classHistogram() : null;
      all.addAll(connect(target, wsClients, raw, 0, head.get()));
      List<Memory> afterRaw = memory(target);
      if (histo) {
        printHistogramDelta(histoBefore, target.servers.get(0).classHistogram(),
            (raw + target.servers.size() - 1) / target.servers.size());
      }
      all.addAll(connect(target, wsClients, 0, sockjs, head.get()));
      List<Memory> afterSockjs = memory(target);
      double bytesPerRaw = raw == 0 ? 0 : Memory.rssDelta(baseline, afterRaw) / raw;
      double bytesPerSockjs = sockjs == 0 ? 0 : Memory.rssDelta(afterRaw, afterSockjs) / sockjs;
      double heapPerRaw = raw == 0 ? 0 : Memory.heapDelta(baseline, afterRaw) / raw;
      double heapPerSockjs = sockjs == 0 ? 0 : Memory.heapDelta(afterRaw, afterSockjs) / sockjs;
      System.out.printf("  idle memory: RSS %s -> %s -> %s MiB (before, after %d %s, after %d SockJS)%n",
          Memory.rssMiB(baseline), Memory.rssMiB(afterRaw), Memory.rssMiB(afterSockjs), raw,
          target.cloudSync ? "raw WebSocket" : "plain WebSocket", sockjs);
      System.out.printf("    per %s connection: %.1f KB RSS (%.1f KB live heap); per SockJS connection: %.1f KB RSS "
              + "(%.1f KB live heap)%n", target.cloudSync ? "raw" : "plain", bytesPerRaw / 1024, heapPerRaw / 1024,
          bytesPerSockjs / 1024, heapPerSockjs / 1024);

      if (!squeezedLatency) {
        for (ServerProcess server : target.servers) {
          // Manageable flags: the larger one first, so the pair never has min > max.
          server.jcmd("VM.set_flag MaxHeapFreeRatio 70");
          server.jcmd("VM.set_flag MinHeapFreeRatio 40");
        }
        System.out.println("  latency phases: heap free ratio 40-70 % (the JVM's defaults; "
            + "--squeezed-latency keeps 10-30 %)");
      }
      int notReady = awaitReady(all, publisher, newPhase(10_000));
      if (notReady > 0) {
        System.out.printf("  WARNING: %d of %d subscribers received nothing before the measurement%n", notReady,
            all.size());
      }
      List<PhaseResult> results = new ArrayList<>();
      for (int rate : rates) {
        PhaseResult result = runPhase(all, publisher, newPhase(rate * seconds + 1), rate, seconds, target);
        results.add(result);
        print(name, result, target);
        Thread.sleep(2000);
      }
      long closedEarly = all.stream().filter(s -> s.closed).count();
      if (closedEarly > 0) {
        System.out.printf("  WARNING: %d subscribers were disconnected during the run (first reason: %s)%n",
            closedEarly, all.stream().filter(s -> s.closed).map(s -> s.closeReason).findFirst().orElse("?"));
      }
      return new ConfigResult(name, results, bytesPerRaw, bytesPerSockjs, heapPerRaw, heapPerSockjs);
    } finally {
      clients.cancelTimer(sockjsPings);
      for (WebSocketClient client : wsClients) {
        try {
          client.close().await();
        } catch (RuntimeException e) {
          // Closing anyway.
        }
      }
    }
  }

  // ------------------------------------------------------------------------------------ subscribers

  /** One subscriber connection; {@code group} = kind * 2 + server index. */
  private final class Subscriber {
    final boolean sockjs;
    final int group;
    volatile WebSocket ws;
    volatile int lastPhaseSeen = -1;
    volatile boolean closed;
    volatile String closeReason;

    Subscriber(boolean sockjs, int node) {
      this.sockjs = sockjs;
      this.group = (sockjs ? SOCKJS : RAW) * 2 + node;
    }

    void onMessage(Buffer message) {
      long now = System.nanoTime();
      int length = message.length();
      byte[] bytes = SCRATCH.get();
      if (bytes.length < length) {
        bytes = new byte[length];
        SCRATCH.set(bytes);
      }
      message.getBytes(0, length, bytes, 0);
      boolean found = false;
      for (int i = indexOfMarker(bytes, 0, length); i >= 0; i = indexOfMarker(bytes, i + 2, length)) {
        int at = i + 2;
        int phase = 0;
        while (at < length && bytes[at] != 'x') {
          phase = phase * 10 + (bytes[at++] - '0');
        }
        int k = 0;
        at++;
        while (at < length && bytes[at] != 'z') {
          k = k * 10 + (bytes[at++] - '0');
        }
        Phase current = phase < phases.length() ? phases.get(phase) : null;
        if (current != null) {
          current.record(group, k, now);
          lastPhaseSeen = phase;
          found = true;
          if (!sockjs && frameLength == 700 && bytes[0] == '{') {
            frameLength = length;
            frameTemplate = new FrameTemplate(new String(bytes, 0, length, StandardCharsets.UTF_8), marker(phase, k));
          }
        }
      }
      if (!found) {
        control(message.toString(StandardCharsets.UTF_8));
      }
    }

    private void control(String text) {
      if (text.equals("o") || text.equals("h") || text.contains("\"subscribed\"") || text.contains("\"authenticated\"")
          || text.contains("zq")) {
        return;
      }
      if (text.contains("error") || text.contains("\"err\"")) {
        ERRORS.incrementAndGet();
        if (FIRST_ERROR.get() == null) {
          FIRST_ERROR.compareAndSet(null, text.length() > 300 ? text.substring(0, 300) : text);
        }
      }
    }
  }

  private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[4096]);
  private static final AtomicInteger ERRORS = new AtomicInteger();
  private static final java.util.concurrent.atomic.AtomicReference<String> FIRST_ERROR =
      new java.util.concurrent.atomic.AtomicReference<>();

  private static int indexOfMarker(byte[] bytes, int from, int length) {
    for (int i = from; i < length - 1; i++) {
      if (bytes[i] == 'z' && bytes[i + 1] == 'q') {
        return i;
      }
    }
    return -1;
  }

  private static String marker(int phase, int k) {
    return "zq" + phase + "x" + k + "z";
  }

  /** Opens the subscribers, {@link #CONNECT_WINDOW} handshakes at a time, spread over the servers. */
  private List<Subscriber> connect(Target target, List<WebSocketClient> wsClients, int rawCount, int sockjsCount,
                                   long cursor) throws InterruptedException {
    List<Subscriber> subscribers = new ArrayList<>();
    int servers = target.servers.size();
    for (int i = 0; i < rawCount; i++) {
      subscribers.add(new Subscriber(false, i % servers));
    }
    for (int i = 0; i < sockjsCount; i++) {
      subscribers.add(new Subscriber(true, i % servers));
    }
    long start = System.nanoTime();
    CountDownLatch done = new CountDownLatch(subscribers.size());
    AtomicInteger next = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicInteger subscribed = new AtomicInteger();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    Runnable[] launch = new Runnable[1];
    launch[0] = () -> {
      int index = next.getAndIncrement();
      if (index >= subscribers.size()) {
        return;
      }
      Subscriber s = subscribers.get(index);
      ServerProcess server = target.servers.get(s.group % 2);
      WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(server.port);
      if (s.sockjs) {
        options.setURI("/eventbus/" + ThreadLocalRandom.current().nextInt(1000) + "/" + Long.toHexString(
            ThreadLocalRandom.current().nextLong()) + index + "/websocket");
      } else if (!target.cloudSync) {
        options.setURI("/ws");
      } else {
        options.setURI("/api/v1/sync").addHeader("Authorization", "Bearer " + target.token);
      }
      // Counts the subscriber as done (subscribed, or given up on) once, and starts the next handshake.
      java.util.concurrent.atomic.AtomicBoolean counted = new java.util.concurrent.atomic.AtomicBoolean();
      Runnable finished = () -> {
        if (counted.compareAndSet(false, true)) {
          done.countDown();
          launch[0].run();
        }
      };
      wsClients.get(index % wsClients.size()).connect(options).onComplete(connected -> {
        if (connected.failed()) {
          failed.incrementAndGet();
          if (failures.size() < 3) {
            failures.add(String.valueOf(connected.cause()));
          }
          finished.run();
          return;
        }
        WebSocket ws = connected.result();
        s.ws = ws;
        ws.handler(s::onMessage);
        ws.closeHandler(v -> {
          s.closed = true;
          s.closeReason = ws.closeStatusCode() + " " + ws.closeReason();
          finished.run();
        });
        if (!target.cloudSync) {
          finished.run();
        } else if (s.sockjs) {
          JsonObject register = new JsonObject().put("type", "register")
              .put("address", "cloudsync.sync.space." + target.space)
              .put("headers", new JsonObject().put("authorization", "Bearer " + target.token));
          // SockJS framing: the client sends a JSON array of strings, each one bridge message. The
          // bridge does not confirm a registration; the readiness check sees it work.
          ws.writeTextMessage(new JsonArray().add(register.encode()).encode());
          finished.run();
        } else {
          // Subscribed when the server says so (or refused with an error); the next handshake starts then.
          ws.handler(message -> {
            String text = message.length() < 500 ? message.toString(StandardCharsets.UTF_8) : "";
            if (text.contains("\"subscribed\"")) {
              ws.handler(s::onMessage);
              subscribed.incrementAndGet();
              finished.run();
            } else {
              s.onMessage(message);
              if (text.contains("\"error\"")) {
                finished.run();
              }
            }
          });
          ws.writeTextMessage(new JsonObject().put("type", "subscribe").put("space", target.space)
              .put("cursor", cursor).encode());
        }
      });
    };
    for (int i = 0; i < Math.min(CONNECT_WINDOW, subscribers.size()); i++) {
      launch[0].run();
    }
    if (!done.await(10, TimeUnit.MINUTES)) {
      System.out.printf("  WARNING: %d connections still pending after 10 minutes%n", done.getCount());
    }
    double secs = (System.nanoTime() - start) / 1e9;
    System.out.printf("  connected %d raw + %d SockJS in %.1f s (%.0f/s)%s%n", rawCount, sockjsCount, secs,
        subscribers.size() / secs,
        failed.get() == 0 ? "" : ", " + failed.get() + " FAILED: " + failures);
    if (target.cloudSync && rawCount > 0 && subscribed.get() < rawCount) {
      System.out.printf("  WARNING: only %d of %d raw subscriptions were confirmed; first error: %s%n",
          subscribed.get(), rawCount, FIRST_ERROR.get());
    }
    subscribers.removeIf(s -> s.ws == null);
    return subscribers;
  }

  /** Publishes a change every 250 ms until every subscriber has received one; answers how many did not. */
  private int awaitReady(List<Subscriber> subscribers, Publisher publisher, Phase phase) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 60_000;
    int k = 0;
    while (System.currentTimeMillis() < deadline) {
      phase.stamp(k);
      publisher.publish(phase.id, k++);
      Thread.sleep(250);
      long missing = subscribers.stream().filter(s -> s.lastPhaseSeen < phase.id && !s.closed).count();
      if (missing == 0) {
        Thread.sleep(500);
        return 0;
      }
    }
    return (int) subscribers.stream().filter(s -> s.lastPhaseSeen < phase.id).count();
  }

  // ----------------------------------------------------------------------------------------- phases

  /** The send times and arrivals of one rate. */
  private Phase newPhase(int capacity) {
    Phase phase = new Phase(++phaseCount, capacity);
    phases.set(phase.id, phase);
    return phase;
  }

  private static final class Phase {
    final int id;
    final AtomicLongArray sendNanos;
    /** When each write first reached any subscriber. */
    final AtomicLongArray firstArrival;
    final ConcurrentLinkedQueue<Histogram[]> perThread = new ConcurrentLinkedQueue<>();
    final ThreadLocal<Histogram[]> local = ThreadLocal.withInitial(() -> {
      Histogram[] h = new Histogram[6];
      for (int i = 0; i < h.length; i++) {
        h[i] = new Histogram(MAX_MICROS, 3);
      }
      perThread.add(h);
      return h;
    });
    final LongAdder delivered = new LongAdder();
    final AtomicLong lastArrival = new AtomicLong();

    Phase(int id, int capacity) {
      this.id = id;
      this.sendNanos = new AtomicLongArray(capacity);
      this.firstArrival = new AtomicLongArray(capacity);
    }

    void stamp(int k) {
      sendNanos.set(k, System.nanoTime());
    }

    void record(int group, int k, long now) {
      if (k >= sendNanos.length()) {
        return;
      }
      long sent = sendNanos.get(k);
      if (sent == 0) {
        return;
      }
      Histogram[] h = local.get();
      h[group].recordValue(micros(now - sent));
      long first = firstArrival.get(k);
      if (first == 0 && firstArrival.compareAndSet(k, 0, now)) {
        first = now;
        h[WRITE_PATH].recordValue(micros(now - sent));
      } else if (first == 0) {
        first = firstArrival.get(k);
      }
      h[FAN_OUT].recordValue(micros(now - first));
      delivered.increment();
      lastArrival.accumulateAndGet(now, Math::max);
    }

    private static long micros(long nanos) {
      return Math.min(MAX_MICROS, Math.max(0, nanos / 1000));
    }

    Histogram merged(int... groups) {
      Histogram out = new Histogram(MAX_MICROS, 3);
      for (Histogram[] h : perThread) {
        for (int g : groups) {
          out.add(h[g]);
        }
      }
      return out;
    }
  }

  private PhaseResult runPhase(List<Subscriber> subscribers, Publisher publisher, Phase phase, int rate, int secs,
                               Target target) throws InterruptedException {
    int p = phase.id;
    int count = rate * secs;
    long active = subscribers.stream().filter(s -> !s.closed).count();
    Histogram calls = new Histogram(MAX_MICROS, 3);
    AtomicInteger errors = new AtomicInteger();
    CountDownLatch answered = new CountDownLatch(count);
    double serverCpu0 = target.servers.stream().mapToDouble(ServerProcess::cpuSeconds).sum();
    double clientCpu0 = clientCpuSeconds();
    double machine0 = machineCpuSeconds();
    double pg0 = postgresCpuSeconds(target);
    long logReads0 = target.logReads.getAsLong();
    long start = System.nanoTime();
    long periodNanos = 1_000_000_000L / rate;
    // Open loop on the writer's own event loop: each write goes out at its time, whatever the
    // ones before are doing.
    Promise<Void> sentAll = Promise.promise();
    AtomicInteger next = new AtomicInteger();
    control.runOnContext(v -> new Runnable() {
      @Override
      public void run() {
        int k = next.getAndIncrement();
        if (k >= count) {
          sentAll.complete();
          return;
        }
        phase.stamp(k);
        long sent = System.nanoTime();
        publisher.publish(p, k).onComplete(response -> {
          synchronized (calls) {
            calls.recordValue(Math.min(MAX_MICROS, (System.nanoTime() - sent) / 1000));
          }
          if (response.failed() || response.result().statusCode() >= 300) {
            if (errors.incrementAndGet() == 1) {
              System.out.println("  publish failed: " + (response.failed() ? response.cause()
                  : response.result().statusCode() + " " + response.result().bodyAsString()));
            }
          }
          answered.countDown();
        });
        long due = start + (k + 1) * periodNanos;
        long delayMs = Math.max(0, (due - System.nanoTime()) / 1_000_000);
        if (delayMs == 0) {
          control.runOnContext(x -> run());
        } else {
          control.setTimer(delayMs, id -> run());
        }
      }
    }.run());
    sentAll.future().await();
    long sendEnd = System.nanoTime();
    answered.await(drainSeconds, TimeUnit.SECONDS);
    long expected = (long) count * active;
    // Drain: until everything arrived, nothing arrived for 10 s, or the drain limit.
    long drainDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(drainSeconds);
    long lastCount = -1;
    long lastProgress = System.nanoTime();
    while (System.nanoTime() < drainDeadline) {
      long got = phase.delivered.sum();
      if (got >= expected) {
        break;
      }
      if (got != lastCount) {
        lastCount = got;
        lastProgress = System.nanoTime();
      } else if (System.nanoTime() - lastProgress > TimeUnit.SECONDS.toNanos(10)) {
        break;
      }
      Thread.sleep(100);
    }
    double serverCpu = target.servers.stream().mapToDouble(ServerProcess::cpuSeconds).sum() - serverCpu0;
    double clientCpu = clientCpuSeconds() - clientCpu0;
    double machine = machineCpuSeconds() - machine0;
    double pg = postgresCpuSeconds(target) - pg0;
    // PostgreSQL publishes its statistics about half a second late.
    Thread.sleep(1000);
    long logReads = target.logReads.getAsLong() - logReads0;
    long end = Math.max(sendEnd, phase.lastArrival.get());
    double wall = (end - start) / 1e9;
    Map<String, Histogram> parts = new LinkedHashMap<>();
    for (int kind = 0; kind < 2; kind++) {
      for (int node = 0; node < target.servers.size(); node++) {
        String label = (target.cloudSync || kind == SOCKJS ? KINDS[kind] : "ws")
            + (target.servers.size() > 1 ? (node == 0 ? " @node1" : " @node2") : "");
        parts.put(label, phase.merged(kind * 2 + node));
      }
    }
    if (target.servers.size() > 1) {
      parts.put("all @node1", phase.merged(0, 2));
      parts.put("all @node2", phase.merged(1, 3));
    }
    long delivered = phase.delivered.sum();
    return new PhaseResult(rate, count, expected, delivered, phase.merged(0, 1, 2, 3), parts,
        phase.merged(WRITE_PATH), phase.merged(FAN_OUT), delivered / wall, serverCpu, clientCpu, pg, machine, wall, logReads,
        calls, errors.get());
  }

  // ------------------------------------------------------------------------------------- reporting

  private static String ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? "-" : String.format("%.1f", h.getValueAtPercentile(percentile) / 1000.0);
  }

  private void print(String name, PhaseResult r, Target target) {
    System.out.printf("  %-11s %4d/s: sent %d, delivered %d of %d (%.2f%%) in %.1f s; latency ms p50 %s p99 %s "
            + "p99.9 %s max %s; %.0f deliveries/s%n", name, r.rate, r.sent, r.delivered, r.expected,
        r.expected == 0 ? 0 : 100.0 * r.delivered / r.expected, r.wallSeconds, ms(r.all, 50), ms(r.all, 99),
        ms(r.all, 99.9), r.all.getTotalCount() == 0 ? "-" : String.format("%.1f", r.all.getMaxValue() / 1000.0),
        r.deliveriesPerSecond);
    System.out.printf("      parts: send -> first subscriber p50 %s p99 %s ms; first -> each subscriber (fan-out) "
        + "p50 %s p99 %s p99.9 %s ms%s%n", ms(r.writePath, 50), ms(r.writePath, 99), ms(r.fanOut, 50), ms(r.fanOut, 99),
        ms(r.fanOut, 99.9), target.cloudSync ? String.format("; change-log reads %d (%.2f per change and subscriber)",
            r.logReads, r.expected == 0 ? 0 : (double) r.logReads / r.expected) : "");
    System.out.printf("      CPU s: server %.1f (%.2f cores, %.1f us per delivery), client %.1f, PostgreSQL %.1f, "
            + "other processes %.1f, whole machine %.1f of %.0f; publish call p50 %s p99 %s ms%s%n", r.serverCpu,
        r.serverCpu / r.wallSeconds, r.delivered == 0 ? 0 : r.serverCpu * 1e6 / r.delivered, r.clientCpu,
        r.postgresCpu, r.machineCpu - r.serverCpu - r.clientCpu - r.postgresCpu, r.machineCpu,
        r.wallSeconds * Runtime.getRuntime().availableProcessors(), ms(r.publishCalls, 50),
        ms(r.publishCalls, 99), r.publishErrors == 0 ? "" : ", " + r.publishErrors + " publish errors");
    StringBuilder parts = new StringBuilder("      p50/p99 ms by subscriber:");
    r.parts.forEach((label, h) -> parts.append(String.format(" %s %s/%s (%d);", label, ms(h, 50), ms(h, 99),
        h.getTotalCount())));
    System.out.println(parts);
    if (ERRORS.get() > 0) {
      System.out.printf("      %d error messages so far; first: %s%n", ERRORS.get(), FIRST_ERROR.get());
    }
  }

  private void printSummary(Map<String, ConfigResult> results) {
    ConfigResult one = results.get("one");
    ConfigResult two = results.get("two");
    ConfigResult bare = results.get("bare");
    System.out.printf("%nSummary (%d raw + %d SockJS subscribers, %d s per rate; latency = writer's send to "
        + "subscriber's receipt, ms)%n", raw, sockjs, seconds);
    System.out.printf("  %-12s %6s %8s %8s %8s %12s %10s %9s %11s %11s %9s%n", "", "rate/s", "p50", "p99", "p99.9",
        "deliveries/s", "delivered", "server s", "fan-out p50", "fan-out p99", "log reads");
    for (ConfigResult c : results.values()) {
      for (PhaseResult r : c.phases) {
        System.out.printf("  %-12s %6d %8s %8s %8s %12.0f %9.2f%% %9.1f %11s %11s %9d%n", c.name, r.rate, ms(r.all, 50),
            ms(r.all, 99), ms(r.all, 99.9), r.deliveriesPerSecond,
            r.expected == 0 ? 0 : 100.0 * r.delivered / r.expected, r.serverCpu, ms(r.fanOut, 50), ms(r.fanOut, 99),
            r.logReads);
      }
    }
    System.out.println("  Idle connection memory (RSS delta after a full GC / connections; live heap in brackets):");
    for (ConfigResult c : results.values()) {
      boolean cs = !c.name.startsWith("bare");
      System.out.printf("    %-12s %s %.1f KB (%.1f KB heap), SockJS %.1f KB (%.1f KB heap)%n", c.name,
          cs ? "raw WebSocket" : "plain WebSocket", c.bytesPerRaw / 1024, c.heapPerRaw / 1024,
          c.bytesPerSockjs / 1024, c.heapPerSockjs / 1024);
    }
    System.out.println("  Against the targets:");
    for (int rate : rates) {
      if (one != null && bare != null && one.at(rate) != null && bare.at(rate) != null) {
        double ratio = (double) one.at(rate).all.getValueAtPercentile(99) / Math.max(1,
            bare.at(rate).all.getValueAtPercentile(99));
        System.out.printf("    p99 one node / bare at %3d/s: %6.2f x   (target <= 1.2)  %s%n", rate, ratio,
            ratio <= 1.2 ? "met" : "NOT met");
      }
    }
    if (one != null) {
      double kb = one.bytesPerRaw / 1024;
      System.out.printf("    memory per idle raw WebSocket, one node: %.1f KB   (target <= 11 KB)  %s  (%.2f x)%n",
          kb, kb <= 11 ? "met" : "NOT met", kb / 11);
      System.out.printf("    memory per idle SockJS WebSocket, one node: %.1f KB   (%.2f x the WebSocket target)%n",
          one.bytesPerSockjs / 1024, one.bytesPerSockjs / 1024 / 11);
    }
    for (int rate : rates) {
      if (one != null && bare != null && one.at(rate) != null && bare.at(rate) != null) {
        double ratio = (double) one.at(rate).fanOut.getValueAtPercentile(99) / Math.max(1,
            bare.at(rate).fanOut.getValueAtPercentile(99));
        System.out.printf("    fan-out p99 one node / bare at %3d/s: %6.2f x   (the same, without the write before it)%n",
            rate, ratio);
      }
    }
    for (int rate : rates) {
      if (one != null && two != null && one.at(rate) != null && two.at(rate) != null) {
        double added = (two.at(rate).all.getValueAtPercentile(50) - one.at(rate).all.getValueAtPercentile(50)) / 1000.0;
        System.out.printf("    p50 two nodes - one node at %3d/s: %+7.1f ms   (target <= +2 ms)  %s%n", rate, added,
            added <= 2 ? "met" : "NOT met");
      }
    }
  }

  // ------------------------------------------------------------------------------------- processes

  private static String serverClasspath(boolean withTests) {
    return Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
        .filter(entry -> withTests || !entry.endsWith("test-classes") && !entry.endsWith("test-classes/"))
        // Servers run in the bench's temp directory.
        .map(entry -> Path.of(entry).toAbsolutePath().toString())
        .collect(Collectors.joining(java.io.File.pathSeparator));
  }

  /** A server JVM started by the bench. */
  private static final class ServerProcess {
    final String name;
    final Process process;
    final long pid;
    final int port;
    final Path log;

    private ServerProcess(String name, Process process, int port, Path log) {
      this.name = name;
      this.process = process;
      this.pid = process.pid();
      this.port = port;
      this.log = log;
    }

    static ServerProcess start(String name, String classpath, String mainClass, List<String> args,
                               Map<String, String> env, Path work, int port) throws IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> command = new ArrayList<>(List.of(java));
      command.addAll(SERVER_JVM);
      String file = name.replaceAll("[^A-Za-z0-9]+", "-");
      if (jfr != null) {
        command.add("-XX:StartFlightRecording=dumponexit=true,settings=" + jfr + ",filename="
            + work.resolve(file + ".jfr"));
      }
      command.addAll(List.of("-cp", classpath, mainClass));
      command.addAll(args);
      Path log = work.resolve(file + ".log");
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
          .directory(work.toFile());
      builder.environment().keySet().removeIf(key -> key.startsWith("CLOUDSYNC_"));
      builder.environment().putAll(env);
      ServerProcess server = new ServerProcess(name, builder.start(), port, log);
      // A bench that is stopped or fails takes its servers with it.
      Runtime.getRuntime().addShutdownHook(new Thread(server.process::destroyForcibly, "stop-" + file));
      return server;
    }

    void awaitReady(WebClient http, String path, int timeoutSeconds) throws InterruptedException {
      long deadline = System.currentTimeMillis() + timeoutSeconds * 1000L;
      while (System.currentTimeMillis() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException(name + " exited with " + process.exitValue() + "; see " + log);
        }
        try {
          if (http.get(port, "127.0.0.1", path).send().await().statusCode() == 200) {
            return;
          }
        } catch (Exception notYet) {
          // Not listening yet (await rethrows the connect failure as it is).
        }
        Thread.sleep(200);
      }
      throw new IllegalStateException(name + " not ready after " + timeoutSeconds + " s; see " + log);
    }

    double cpuSeconds() {
      return ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration()).map(Duration::toNanos).orElse(0L) / 1e9;
    }

    long rssBytes() {
      try {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
          if (line.startsWith("VmRSS:")) {
            return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      throw new IllegalStateException("no VmRSS for " + pid);
    }

    String jcmd(String what) {
      try {
        Process jcmd = new ProcessBuilder("jcmd", String.valueOf(pid), what).redirectErrorStream(true).start();
        String out = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        jcmd.waitFor(60, TimeUnit.SECONDS);
        return out;
      } catch (IOException | InterruptedException e) {
        throw new IllegalStateException("jcmd " + what + " failed", e);
      }
    }

    /** Full GC, a moment to settle, then RSS and live heap. */
    Memory measure() throws InterruptedException {
      jcmd("GC.run");
      Thread.sleep(1500);
      Matcher used = Pattern.compile("used (\\d+)K").matcher(jcmd("GC.heap_info"));
      long heap = used.find() ? Long.parseLong(used.group(1)) * 1024 : 0;
      return new Memory(rssBytes(), heap);
    }

    /** Live objects by class (after a full GC): class name to {instances, bytes}. */
    Map<String, long[]> classHistogram() {
      Map<String, long[]> out = new LinkedHashMap<>();
      Matcher line = Pattern.compile("(?m)^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)").matcher(jcmd("GC.class_histogram"));
      while (line.find()) {
        out.put(line.group(3), new long[] {Long.parseLong(line.group(1)), Long.parseLong(line.group(2))});
      }
      return out;
    }

    void stop() {
      process.destroy();
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void printHistogramDelta(Map<String, long[]> before, Map<String, long[]> after, int connections) {
    record Row(String name, double instances, double bytes) {
    }
    List<Row> rows = new ArrayList<>();
    after.forEach((name, now) -> {
      long[] was = before.getOrDefault(name, new long[2]);
      rows.add(new Row(name, (now[0] - was[0]) / (double) connections, (now[1] - was[1]) / (double) connections));
    });
    rows.sort((a, b) -> Double.compare(b.bytes, a.bytes));
    System.out.printf("    live heap per idle connection by class (top 25 of %.0f bytes):%n",
        rows.stream().mapToDouble(Row::bytes).sum());
    rows.stream().limit(25).forEach(r -> System.out.printf("      %8.0f B %6.2f x %s%n", r.bytes, r.instances, r.name));
  }

  private record Memory(long rss, long heap) {
    static double rssDelta(List<Memory> before, List<Memory> after) {
      double sum = 0;
      for (int i = 0; i < before.size(); i++) {
        sum += after.get(i).rss - before.get(i).rss;
      }
      return sum;
    }

    static double heapDelta(List<Memory> before, List<Memory> after) {
      double sum = 0;
      for (int i = 0; i < before.size(); i++) {
        sum += after.get(i).heap - before.get(i).heap;
      }
      return sum;
    }

    static String rssMiB(List<Memory> all) {
      return all.stream().map(m -> String.format("%.0f", m.rss / 1048576.0)).collect(Collectors.joining("+"));
    }
  }

  private static List<Memory> memory(Target target) throws InterruptedException {
    Thread.sleep(2000);
    List<Memory> out = new ArrayList<>();
    for (ServerProcess server : target.servers) {
      out.add(server.measure());
    }
    return out;
  }

  private static long openFileLimit(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/limits"))) {
      if (line.startsWith("Max open files")) {
        return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
      }
    }
    return -1;
  }

  /**
   * Reads of the change log: index scans of the {@code changes} table, which only the log readers
   * (subscribers catching up, the bench's own head reads) make; writes insert without scanning it.
   */
  private static long logReads(String database) {
    try (java.sql.Connection c = Servers.get().postgres().getDatabase("postgres", database).getConnection();
         java.sql.Statement st = c.createStatement();
         java.sql.ResultSet rows = st.executeQuery("SELECT coalesce(sum(coalesce(idx_scan, 0) + seq_scan), 0) "
             + "FROM pg_stat_user_tables WHERE relname = 'changes'")) {
      rows.next();
      return rows.getLong(1);
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** CPU time of the embedded PostgreSQL's processes (the postmaster on this port and its backends). */
  private static double postgresCpuSeconds(Target target) {
    if (!target.cloudSync) {
      return 0;
    }
    String port = " -p " + Servers.get().postgresPort() + " ";
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine().map(c -> c.contains("postgres") && c.contains(port)).orElse(false))
        .flatMap(p -> java.util.stream.Stream.concat(java.util.stream.Stream.of(p), p.descendants()))
        .mapToDouble(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L) / 1e9).sum();
  }

  private static double clientCpuSeconds() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime() / 1e9;
  }

  /** Busy CPU time of the whole machine from /proc/stat (user, nice, system, irq, softirq, steal). */
  private static double machineCpuSeconds() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long ticks = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]) + Long.parseLong(f[6])
          + Long.parseLong(f[7]) + Long.parseLong(f[8]);
      return ticks / 100.0;
    } catch (IOException e) {
      return 0;
    }
  }
}
