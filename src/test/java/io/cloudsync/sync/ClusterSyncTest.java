package io.cloudsync.sync;

import static io.cloudsync.files.FilesFixture.expect;
import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.Clustering;
import io.cloudsync.bus.Addresses;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.files.FilesFixture;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.spi.cluster.RegistrationInfo;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three clustered nodes in one JVM (one Vert.x and one CloudSync each, full roles, one database and
 * one chunk directory), reached over HTTP and the raw WebSocket like three members of a fleet
 * behind a load balancer.
 */
@DisplayName("Live sync and conflicts across three clustered nodes")
@ExtendWith(RealServers.class)
class ClusterSyncTest {
  private static final int NODES = 3;
  private static final List<Vertx> nodes = new ArrayList<>();
  private static final List<CloudSyncHandle> handles = new ArrayList<>();
  private static final List<Api> apis = new ArrayList<>();
  /** The test's own clients (HTTP and WebSocket) run here, on none of the nodes. */
  private static Vertx clients;
  private static Pool db;
  private static JsonObject owner;
  private static JsonObject editor;

  @BeforeAll
  static void start(Servers servers) {
    String dbUrl = servers.newDatabaseUrl();
    // Chunks written through one node must be readable through the others, as with S3 in production.
    String blobs = TestCloudSync.tempDir().toString();
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < NODES; i++) {
      ports.add(Servers.freePort());
    }
    String members = ports.stream().map(port -> "127.0.0.1:" + port).collect(Collectors.joining(","));
    clients = Vertx.vertx();
    for (int port : ports) {
      JsonObject cluster = new JsonObject().put("cluster", true).put("cluster_host", "127.0.0.1")
          .put("cluster_port", port).put("cluster_members", members);
      Vertx node = Clustering.start(CloudSyncConfig.from(cluster)).await();
      nodes.add(node);
      // Two gateway event loops per node: each holds its own consumer for a space it serves.
      CloudSyncHandle handle = TestCloudSync.deploy(node, TestCloudSync.config(servers).put("pg.url", dbUrl)
          .put("blob.local.dir", blobs).put("http.instances", 2).mergeIn(cluster));
      handles.add(handle);
      apis.add(new Api(clients, handle.httpPort()));
    }
    db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(dbUrl)).using(clients).build();
    owner = user(0, "owner");
    editor = user(1, "editor");
  }

  @AfterAll
  static void stop() {
    if (db != null) {
      db.close().await();
    }
    for (int i = handles.size() - 1; i >= 0; i--) {
      handles.get(i).close().await();
    }
    for (int i = nodes.size() - 1; i >= 0; i--) {
      nodes.get(i).close().await();
    }
    if (clients != null) {
      clients.close().await();
    }
  }

  private static JsonObject user(int node, String name) {
    String email = name + "-" + FilesFixture.unique("cluster") + "@example.com";
    String token = apis.get(node).newUser(email);
    String id = apis.get(node).get("/api/v1/me", token).bodyAsJsonObject().getString("id");
    return new JsonObject().put("token", token).put("id", id);
  }

  private static String token(JsonObject user) {
    return user.getString("token");
  }

  private static HttpResponse<Buffer> send(int node, HttpMethod method, String path, JsonObject user, JsonObject body) {
    var request = apis.get(node).request(method, path, token(user));
    return (body == null ? request.send() : request.sendJsonObject(body)).await();
  }

  private static String space(int node, String name, String policy) {
    JsonObject body = new JsonObject().put("name", name);
    if (policy != null) {
      body.put("conflict_policy", policy);
    }
    return expect(send(node, HttpMethod.POST, "/api/v1/spaces", owner, body), 201).getString("id");
  }

  /** Makes folders through one node, a few requests in flight at a time. */
  private static void folders(int node, String space, int count, String prefix) {
    List<Future<HttpResponse<Buffer>>> inFlight = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      inFlight.add(apis.get(node).request(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token(owner))
          .sendJsonObject(new JsonObject().put("name", prefix + "-" + i)));
      if (inFlight.size() == 4 || i == count - 1) {
        for (HttpResponse<Buffer> response : Future.all(inFlight).await().<HttpResponse<Buffer>>list()) {
          expect(response, 201);
        }
        inFlight.clear();
      }
    }
  }

  /** The newest seq of the space's log, from the shared database. */
  private static long head(String space) {
    return db.preparedQuery("SELECT next_seq FROM spaces WHERE id = $1::uuid").execute(Tuple.of(space)).await()
        .iterator().next().getLong(0);
  }

  private static LiveClient live(int node, JsonObject user) {
    LiveClient client = LiveClient.connect(clients, apis.get(node).port(), token(user));
    client.nextOfType("authenticated", 10_000);
    return client;
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  private static void await(String what, long millis, BooleanSupplier condition) {
    long deadline = System.currentTimeMillis() + millis;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not within " + millis + " ms: " + what);
      }
      clients.timer(50).await();
    }
  }

  /** The event-bus consumers the cluster knows for an address, as one node's cluster manager sees them. */
  private static List<RegistrationInfo> registrations(int node, String address) {
    Promise<List<RegistrationInfo>> found = Promise.promise();
    ((VertxInternal) nodes.get(node)).clusterManager().getRegistrations(address, found);
    return found.future().await();
  }

  private static String nodeId(int node) {
    return ((VertxInternal) nodes.get(node)).clusterManager().getNodeId();
  }

  private static Set<String> consumerNodes(String space) {
    return registrations(0, Addresses.SYNC_SPACE_PREFIX + space).stream().map(RegistrationInfo::nodeId)
        .collect(Collectors.toSet());
  }

  @Test
  @DisplayName("changes written through all three nodes reach subscribers on the others gap-free, backlog then live")
  void liveAcrossNodes() throws Exception {
    String space = space(0, "Fleet", null);
    // A plain consumer on every node, there before the first change: whichever node commits a
    // change, it is published to all of them.
    List<List<Long>> published = new ArrayList<>();
    List<MessageConsumer<JsonObject>> observers = new ArrayList<>();
    for (Vertx node : nodes) {
      List<Long> seqs = Collections.synchronizedList(new ArrayList<>());
      published.add(seqs);
      MessageConsumer<JsonObject> observer = node.eventBus().consumer(Addresses.SYNC_SPACE_PREFIX + space,
          message -> seqs.add(message.body().getLong("seq")));
      observers.add(observer);
      observer.completion().await();
    }
    folders(0, space, 10, "before");
    int perNodeAndPhase = 25;
    CountDownLatch secondPhase = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(NODES);
    List<LiveClient> subscribers = new ArrayList<>();
    try {
      List<CompletableFuture<Void>> writers = new ArrayList<>();
      for (int i = 0; i < NODES; i++) {
        int node = i;
        writers.add(CompletableFuture.runAsync(() -> {
          folders(node, space, perNodeAndPhase, "n" + node + "-first");
          try {
            assertThat(secondPhase.await(60, TimeUnit.SECONDS)).isTrue();
          } catch (InterruptedException e) {
            throw new AssertionError(e);
          }
          folders(node, space, perNodeAndPhase, "n" + node + "-second");
        }, pool));
      }
      // Two subscribe while the first writes are in flight, from the start of the log...
      LiveClient b1 = live(1, owner);
      LiveClient c1 = live(2, owner);
      subscribers.addAll(List.of(b1, c1));
      await("the first writes land", 30_000, () -> head(space) >= 25);
      b1.subscribe(space, 0);
      c1.subscribe(space, 0);
      // ...two more as the second round starts, one of them a member the space is shared with meanwhile.
      secondPhase.countDown();
      LiveClient b2 = live(1, owner);
      LiveClient c2 = live(2, editorOf(space));
      subscribers.addAll(List.of(b2, c2));
      b2.subscribe(space, 0);
      c2.subscribe(space, 0);
      CompletableFuture.allOf(writers.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);

      long last = head(space);
      // 10 folders, one share with the editor, then 2 rounds of 25 through each of 3 nodes.
      assertThat(last).isEqualTo(10 + 1 + 2 * NODES * perNodeAndPhase);
      for (LiveClient subscriber : subscribers) {
        assertThat(subscriber.changesUntil(space, last, 30_000)).containsExactlyElementsOf(range(1, last));
      }

      // One more change through the first node: the next thing every subscriber sees is exactly it,
      // so nothing was delivered twice after the last one either.
      folders(0, space, 1, "after");
      for (LiveClient subscriber : subscribers) {
        assertThat(subscriber.changesUntil(space, last + 1, 10_000)).containsExactly(last + 1);
      }
      for (List<Long> seqs : published) {
        await("every change is published to every node", 10_000, () -> seqs.size() >= last + 1);
        assertThat(seqs.stream().sorted().toList()).containsExactlyElementsOf(range(1, last + 1));
      }
    } finally {
      observers.forEach(MessageConsumer::unregister);
      subscribers.forEach(LiveClient::close);
      pool.shutdownNow();
    }
  }

  /** Shares the space with the editor (one change in its log) and answers the editor. */
  private static JsonObject editorOf(String space) {
    expect(send(2, HttpMethod.PUT, "/api/v1/spaces/" + space + "/members/" + editor.getString("id"), owner,
        new JsonObject().put("role", "editor")), 200);
    return editor;
  }

  private static void awaitNoConsumers(String address) {
    for (int node = 0; node < NODES; node++) {
      int seenFrom = node;
      await("no consumer for " + address + " as node " + node + " sees it", 10_000,
          () -> registrations(seenFrom, address).isEmpty());
    }
  }

  @Test
  @DisplayName("no consumer is left for a space once its subscribers unsubscribe, disconnect or abandon a long-poll")
  void consumersCleanedUp() {
    String space = space(0, "Coming and going", null);
    String address = Addresses.SYNC_SPACE_PREFIX + space;
    folders(0, space, 3, "seed");
    List<LiveClient> subscribers = new ArrayList<>();
    try {
      for (int i = 0; i < 2 * NODES; i++) {
        LiveClient client = live(i % NODES, owner);
        subscribers.add(client);
        client.subscribe(space, 0);
        assertThat(client.changesUntil(space, 3, 10_000)).containsExactly(1L, 2L, 3L);
      }
      await("every node's consumer is known to the cluster", 10_000,
          () -> consumerNodes(space).equals(Set.of(nodeId(0), nodeId(1), nodeId(2))));

      // One unsubscribes and stays connected; the others hang up.
      LiveClient stays = subscribers.get(0);
      stays.send(new JsonObject().put("type", "unsubscribe").put("space", space));
      stays.nextOfType("unsubscribed", 10_000);
      for (LiveClient client : subscribers.subList(1, subscribers.size())) {
        client.close();
      }
      // Clients that hang up right after subscribing, before the server has finished subscribing them.
      for (int i = 0; i < 3 * NODES; i++) {
        LiveClient client = LiveClient.connect(clients, apis.get(i % NODES).port(), token(owner));
        client.subscribe(space, 0);
        client.close();
      }
      awaitNoConsumers(address);

      // A long-poll whose client goes away while it waits.
      HttpClient http = clients.createHttpClient();
      try {
        HttpClientRequest poll = http.request(HttpMethod.GET, apis.get(2).port(), "127.0.0.1",
            "/api/v1/spaces/" + space + "/changes?cursor=3&wait=60").await();
        poll.putHeader("Authorization", "Bearer " + token(owner)).end().await();
        await("the long-poll listens on the third node", 10_000, () -> consumerNodes(space).equals(Set.of(nodeId(2))));
        poll.reset().await();
      } finally {
        http.close().await();
      }
      awaitNoConsumers(address);
      assertThat(stays.isClosed()).isFalse();
    } finally {
      subscribers.forEach(LiveClient::close);
    }
  }

  /** What a race of two writers came to: the parts that must not depend on which nodes served them. */
  record Outcome(List<Integer> statuses, List<String> codes, List<Long> versions, List<String> versionContents,
                 List<String> kinds, JsonObject conflict) {
  }

  /**
   * Owner and editor PUT the same file with the same If-Match base at the same time, through the
   * given nodes; the kept versions are downloaded through the third node.
   */
  private static Outcome race(String policy, int ownerNode, int editorNode) {
    String space = space(ownerNode, policy + " " + ownerNode + editorNode, policy);
    expect(send(editorNode, HttpMethod.PUT, "/api/v1/spaces/" + space + "/members/" + editor.getString("id"), owner,
        new JsonObject().put("role", "editor")), 200);
    String path = "/api/v1/spaces/" + space + "/files/docs/plan.txt";
    JsonObject base = expect(apis.get(ownerNode).request(HttpMethod.PUT, path, token(owner))
        .sendBuffer(Buffer.buffer("base")).await(), 200);
    assertThat(base.getLong("version")).isEqualTo(1);
    String ownerText = "owner's edit " + FilesFixture.unique(policy);
    String editorText = "editor's edit " + FilesFixture.unique(policy);
    Future<HttpResponse<Buffer>> byOwner = apis.get(ownerNode).request(HttpMethod.PUT, path, token(owner))
        .putHeader("If-Match", "\"1\"").sendBuffer(Buffer.buffer(ownerText));
    Future<HttpResponse<Buffer>> byEditor = apis.get(editorNode).request(HttpMethod.PUT, path, token(editor))
        .putHeader("If-Match", "\"1\"").sendBuffer(Buffer.buffer(editorText));
    List<HttpResponse<Buffer>> answers = Future.join(byOwner, byEditor).await().list();

    List<Integer> statuses = answers.stream().map(HttpResponse::statusCode).sorted().toList();
    List<String> codes = new ArrayList<>();
    List<Long> versions = new ArrayList<>();
    Set<String> applied = new TreeSet<>();
    for (int i = 0; i < answers.size(); i++) {
      HttpResponse<Buffer> answer = answers.get(i);
      if (answer.statusCode() == 200) {
        applied.add(i == 0 ? "owner" : "editor");
      }
      JsonObject body = answer.bodyAsJsonObject();
      if (answer.statusCode() == 200) {
        versions.add(body.getLong("version"));
      } else {
        codes.add(body.getString("code"));
        assertThat(body.getString("message")).as("the 409 names the version that won").contains("current version is 2");
      }
    }
    Collections.sort(versions);

    int reader = IntStream.range(0, NODES).filter(n -> n != ownerNode && n != editorNode).findFirst().getAsInt();
    String node = base.getString("id");
    JsonArray kept = expect(send(reader, HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/" + node + "/versions",
        owner, null), 200).getJsonArray("versions");
    List<String> contents = new ArrayList<>();
    for (Object each : kept) {
      long version = ((JsonObject) each).getLong("version");
      HttpResponse<Buffer> download = apis.get(reader).request(HttpMethod.GET, "/api/v1/spaces/" + space + "/nodes/"
          + node + "/content?version=" + version, token(owner)).send().await();
      assertThat(download.statusCode()).isEqualTo(200);
      // Which writer's text, not the text itself: the texts differ between runs.
      String text = download.bodyAsString();
      contents.add(text.equals(ownerText) ? "owner" : text.equals(editorText) ? "editor" : text);
    }
    JsonArray changes = expect(send(reader, HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=0", owner,
        null), 200).getJsonArray("changes");
    List<String> kinds = changes.stream().map(c -> ((JsonObject) c).getString("kind")).toList();
    JsonObject conflict = changes.stream().map(c -> (JsonObject) c).filter(c -> "conflict".equals(c.getString("kind")))
        .map(c -> c.getJsonObject("node").getJsonObject("conflict")).findFirst()
        .map(c -> new JsonObject().put("base_version", c.getLong("base_version"))
            .put("overwritten_version", c.getLong("overwritten_version"))).orElse(null);
    assertThat(new TreeSet<>(contents.subList(0, contents.size() - 1))).as("every applied write is a kept version")
        .isEqualTo(applied);
    // Which writer lost is up to the race; the same outcome names them in either order.
    List<String> normalized = contents.stream().map(c -> c.equals("owner") || c.equals("editor") ? "edit" : c).toList();
    return new Outcome(statuses, codes, versions, normalized, kinds, conflict);
  }

  @Test
  @DisplayName("manual: of two writers on two nodes with the same base, one wins and the other gets 409 version_conflict, as on one node")
  void manualAcrossNodes() {
    Outcome oneNode = race("manual", 0, 0);
    Outcome twoNodes = race("manual", 0, 1);
    assertThat(twoNodes).isEqualTo(new Outcome(List.of(200, 409), List.of("version_conflict"), List.of(2L),
        List.of("edit", "base"), List.of("shared", "created", "created", "updated"), null));
    assertThat(twoNodes).isEqualTo(oneNode);
  }

  @Test
  @DisplayName("last_writer_wins: both writes on two nodes apply, the overwritten one stays a version and a conflict is logged, as on one node")
  void lastWriterWinsAcrossNodes() {
    Outcome oneNode = race("last_writer_wins", 1, 1);
    Outcome twoNodes = race("last_writer_wins", 1, 2);
    // Kept versions newest first: the winner, the overwritten edit, the base.
    assertThat(twoNodes).isEqualTo(new Outcome(List.of(200, 200), List.of(), List.of(2L, 3L),
        List.of("edit", "edit", "base"), List.of("shared", "created", "created", "updated", "updated", "conflict"),
        new JsonObject().put("base_version", 1L).put("overwritten_version", 2L)));
    assertThat(twoNodes).isEqualTo(oneNode);
  }
}
