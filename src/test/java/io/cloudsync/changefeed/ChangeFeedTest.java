package io.cloudsync.changefeed;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.test.Api;
import io.cloudsync.test.KafkaBroker;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.Tuple;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.stream.LongStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@DisplayName("The Kafka change feed")
@ExtendWith(RealServers.class)
class ChangeFeedTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final int PARTITIONS = 3;

  @Test
  @DisplayName("relays each change once, keyed by its space, in seq order per space, as a CloudEvent carrying the change as the API shows it")
  void relaysEveryChange(Servers servers) {
    Feed feed = Feed.on(servers, servers.kafkaBootstrap());
    try (Node node = Node.start(feed.config())) {
      String token = node.newUser();
      String a = node.space(token, "A");
      String b = node.space(token, "B");
      String first = node.folder(token, a, "first");
      node.folder(token, b, "uno");
      node.folder(token, a, "second");
      node.expect(node.send(HttpMethod.PATCH, "/api/v1/spaces/" + a + "/nodes/" + first, token,
          new JsonObject().put("name", "first, renamed")), 200);
      String dos = node.folder(token, b, "dos");
      node.expect(node.send(HttpMethod.DELETE, "/api/v1/spaces/" + b + "/nodes/" + dos, token, null), 204);
      Map<String, JsonArray> logs = Map.of(a, node.changes(token, a), b, node.changes(token, b));
      assertThat(logs.get(a)).hasSize(3);
      assertThat(logs.get(b)).hasSize(3);

      List<ConsumerRecord<String, String>> records = feed.read(covers(Map.of(a, 3, b, 3)));

      Map<String, List<Long>> seqs = seqsByKey(records);
      assertThat(seqs).containsOnlyKeys(a, b);
      assertThat(seqs.get(a)).as("one record per change of A, in order").containsExactly(1L, 2L, 3L);
      assertThat(seqs.get(b)).as("one record per change of B, in order").containsExactly(1L, 2L, 3L);
      String installation = node.expect(node.send(HttpMethod.GET, "/api/v1/info", null, null), 200)
          .getString("installation_id");
      for (ConsumerRecord<String, String> record : records) {
        JsonObject event = new JsonObject(record.value());
        JsonObject change = logs.get(record.key()).getJsonObject((int) (event.getJsonObject("data").getLong("seq") - 1));
        assertThat(event.getJsonObject("data")).isEqualTo(change);
        assertThat(event.getString("specversion")).isEqualTo("1.0");
        assertThat(event.getString("id")).isEqualTo(record.key() + ":" + change.getLong("seq"));
        assertThat(event.getString("source")).isEqualTo("cloudsync/" + installation);
        assertThat(event.getString("type")).isEqualTo("io.cloudsync.change." + change.getString("kind"));
        assertThat(event.getString("subject")).isEqualTo(record.key());
        assertThat(event.getString("time")).isEqualTo(change.getString("at"));
        assertThat(event.getString("datacontenttype")).isEqualTo("application/json");
        assertThat(event.getString("sequence")).isEqualTo(String.format("%019d", change.getLong("seq")));
        Header contentType = record.headers().lastHeader("content-type");
        assertThat(new String(contentType.value(), StandardCharsets.UTF_8))
            .isEqualTo("application/cloudevents+json; charset=UTF-8");
      }
      assertThat(records).extracting(r -> new JsonObject(r.value()).getString("type"))
          .contains("io.cloudsync.change.created", "io.cloudsync.change.renamed", "io.cloudsync.change.deleted");
    }
  }

  @Test
  @DisplayName("catches up on changes made before it was on, in more spaces than one round looks at")
  void backlogOfManySpaces(Servers servers) {
    Feed feed = Feed.on(servers, servers.kafkaBootstrap());
    Map<String, Integer> expected = new LinkedHashMap<>();
    try (Node withoutFeed = Node.start(feed.config().put("kafka.bootstrap", ""))) {
      String token = withoutFeed.newUser();
      for (int i = 0; i < Relay.SPACES_PER_ROUND + 10; i++) {
        String space = withoutFeed.space(token, "Space " + i);
        withoutFeed.folders(token, space, "folder", 2);
        expected.put(space, 2);
      }
    }

    try (Node node = Node.start(feed.config())) {
      Map<String, List<Long>> seqs = seqsByKey(feed.read(covers(expected)));

      assertThat(seqs).hasSize(expected.size());
      assertThat(seqs.values()).allSatisfy(each -> assertThat(each).containsExactly(1L, 2L));
    }
  }

  @Test
  @DisplayName("loses no change while the broker is down: what was written meanwhile arrives, in order, once it is back")
  void brokerRestart(Servers servers) throws Exception {
    // A short broker session, so the controller lets the restarted broker in without waiting for the old one's.
    try (KafkaBroker broker = KafkaBroker.start(Map.of("broker.session.timeout.ms", "1500",
        "broker.heartbeat.interval.ms", "250"))) {
      Feed feed = Feed.on(servers, broker.bootstrap());
      // A short send timeout, so the outage below makes sends fail rather than merely wait.
      try (Node node = Node.start(feed.config().put("changefeed.send_timeout_ms", 2000))) {
        String token = node.newUser();
        String a = node.space(token, "A");
        String b = node.space(token, "B");
        node.folders(token, a, "before", 2);
        node.folders(token, b, "before", 1);
        feed.read(covers(Map.of(a, 2, b, 1)));

        broker.stopBroker();
        node.folders(token, a, "during", 3);
        node.folders(token, b, "during", 2);
        waitUntil(() -> node.metric("cloudsync_changefeed_failures_total") >= 1,
            "a relay round has failed while the broker is down");
        broker.restartBroker();
        node.folders(token, a, "after", 1);
        node.folders(token, b, "after", 1);

        Map<String, Integer> expected = Map.of(a, 6, b, 4);
        List<ConsumerRecord<String, String>> records = feed.read(covers(expected));
        assertEverySeqInOrder(records, expected);
      }
    }
  }

  @Test
  @DisplayName("after a restart goes on from the position stored in PostgreSQL instead of sending everything again")
  void resumesAfterRestart(Servers servers) {
    Feed feed = Feed.on(servers, servers.kafkaBootstrap());
    String token;
    String space;
    try (Node first = Node.start(feed.config())) {
      token = first.newUser();
      space = first.space(token, "S");
      first.folders(token, space, "first run", 5);
      feed.read(covers(Map.of(space, 5)));
      waitUntil(() -> first.position(space) == 5, "the relayed position of the space is stored");
    }
    try (Node second = Node.start(feed.config())) {
      second.folders(token, space, "second run", 2);
      List<ConsumerRecord<String, String>> records = feed.read(covers(Map.of(space, 7)));
      assertThat(seqsByKey(records).get(space)).as("each change exactly once across the restart")
          .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
    }
  }

  @Test
  @DisplayName("relays from one node at a time when two share a database, and the other takes over when it stops")
  void oneRelayingNode(Servers servers) {
    Feed feed = Feed.on(servers, servers.kafkaBootstrap());
    Node first = Node.start(feed.config());
    Node second = null;
    try {
      String token = first.newUser();
      String space = first.space(token, "S");
      first.folders(token, space, "alone", 1);
      feed.read(covers(Map.of(space, 1)));

      second = Node.start(feed.config().put("data_dir", TestCloudSync.tempDir().toString()));
      for (int i = 0; i < 4; i++) {
        (i % 2 == 0 ? first : second).folder(token, space, "together " + i);
      }
      feed.read(covers(Map.of(space, 5)));
      assertThat(second.metric("cloudsync_changefeed_relayed_total")).as("the second node relayed nothing").isZero();

      first.close();
      second.folders(token, space, "taken over", 3);
      List<ConsumerRecord<String, String>> records = feed.read(covers(Map.of(space, 8)));
      assertThat(seqsByKey(records).get(space)).as("each change exactly once, never from both nodes")
          .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
      assertThat(second.metric("cloudsync_changefeed_relayed_total")).isEqualTo(3);
    } finally {
      first.close();
      if (second != null) {
        second.close();
      }
    }
  }

  // --- the feed as a consumer sees it ------------------------------------------------------------

  /** A topic of its own on a broker, and the configuration of CloudSync deployments that feed it. */
  private record Feed(String bootstrap, String topic, JsonObject baseConfig) {
    /** Creates the topic, with several partitions so that order per key means something. */
    static Feed on(Servers servers, String bootstrap) {
      String topic = "cloudsync.changes.test-" + UUID.randomUUID();
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get();
      } catch (InterruptedException | ExecutionException e) {
        throw new IllegalStateException("could not create topic " + topic, e);
      }
      return new Feed(bootstrap, topic, TestCloudSync.config(servers)
          .put("kafka.bootstrap", bootstrap)
          .put("changefeed.topic", topic)
          .put("changefeed.poll_interval_ms", 100));
    }

    /** A fresh copy: deployments that share it share the database. */
    JsonObject config() {
      return baseConfig.copy();
    }

    /** Reads the topic from the start with a plain consumer until {@code done} holds (or the wait is over). */
    List<ConsumerRecord<String, String>> read(Predicate<List<ConsumerRecord<String, String>>> done) {
      Properties properties = new Properties();
      properties.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      properties.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      List<ConsumerRecord<String, String>> records = new ArrayList<>();
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(properties, new StringDeserializer(),
          new StringDeserializer())) {
        List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
            .map(info -> new TopicPartition(topic, info.partition())).toList();
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.test(records) && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(100)).forEach(records::add);
        }
      }
      assertThat(done.test(records)).as("the expected changes arrived in time; got " + seqsByKey(records)).isTrue();
      return records;
    }
  }

  /** Done when every space has at least the given number of different changes in the topic. */
  private static Predicate<List<ConsumerRecord<String, String>>> covers(Map<String, Integer> changesPerSpace) {
    return records -> {
      Map<String, List<Long>> seqs = seqsByKey(records);
      return changesPerSpace.entrySet().stream()
          .allMatch(e -> new TreeSet<>(seqs.getOrDefault(e.getKey(), List.of())).size() >= e.getValue());
    };
  }

  /** The seq of each record by record key, in topic order. */
  private static Map<String, List<Long>> seqsByKey(List<ConsumerRecord<String, String>> records) {
    Map<String, List<Long>> seqs = new LinkedHashMap<>();
    for (ConsumerRecord<String, String> record : records) {
      long seq = new JsonObject(record.value()).getJsonObject("data").getLong("seq");
      seqs.computeIfAbsent(record.key(), key -> new ArrayList<>()).add(seq);
    }
    return seqs;
  }

  /**
   * The feed's promise, at least once and in order per space: every seq is there, nothing else is, and a consumer
   * that applies a record only when its seq is the next one it expects (and ignores any other) applies them all.
   * Repeats after a failure are allowed.
   */
  private static void assertEverySeqInOrder(List<ConsumerRecord<String, String>> records, Map<String, Integer> expected) {
    Map<String, List<Long>> seqs = seqsByKey(records);
    assertThat(seqs).containsOnlyKeys(expected.keySet());
    for (Map.Entry<String, Integer> space : expected.entrySet()) {
      List<Long> all = LongStream.rangeClosed(1, space.getValue()).boxed().toList();
      List<Long> received = seqs.get(space.getKey());
      List<Long> applied = new ArrayList<>();
      for (long seq : received) {
        if (seq == applied.size() + 1) {
          applied.add(seq);
        }
      }
      assertThat(new TreeSet<>(received)).as("the changes of space " + space.getKey()).containsExactlyElementsOf(all);
      assertThat(applied).as("the changes of space " + space.getKey() + " in topic order: " + received)
          .containsExactlyElementsOf(all);
    }
  }

  private static void waitUntil(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting until " + what, e);
      }
    }
  }

  // --- one CloudSync deployment in a Vert.x of its own -------------------------------------------

  private static final class Node implements AutoCloseable {
    private final Vertx vertx;
    private final CloudSyncHandle handle;
    private final Api api;
    private final Pool db;
    private boolean closed;

    private Node(Vertx vertx, CloudSyncHandle handle, String dbUrl) {
      this.vertx = vertx;
      this.handle = handle;
      this.api = new Api(vertx, handle.httpPort());
      this.db = PgBuilder.pool().connectingTo(PgConnectOptions.fromUri(dbUrl)).using(vertx).build();
    }

    static Node start(JsonObject config) {
      Vertx vertx = Vertx.vertx();
      return new Node(vertx, TestCloudSync.deploy(vertx, config), config.getString("pg.url"));
    }

    String newUser() {
      return api.newUser("feed-" + UUID.randomUUID() + "@example.com");
    }

    HttpResponse<Buffer> send(HttpMethod method, String path, String token, JsonObject body) {
      HttpRequest<Buffer> request = api.request(method, path, token);
      return body == null ? request.send().await() : request.sendJsonObject(body).await();
    }

    JsonObject expect(HttpResponse<Buffer> response, int status) {
      assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
      return response.body() == null || response.body().length() == 0 ? null : response.bodyAsJsonObject();
    }

    String space(String token, String name) {
      return expect(send(HttpMethod.POST, "/api/v1/spaces", token, new JsonObject().put("name", name)), 201)
          .getString("id");
    }

    /** Creates a top-level folder: one change in the space's log. */
    String folder(String token, String space, String name) {
      return expect(send(HttpMethod.POST, "/api/v1/spaces/" + space + "/nodes", token,
          new JsonObject().put("name", name)), 201).getString("id");
    }

    void folders(String token, String space, String prefix, int count) {
      for (int i = 0; i < count; i++) {
        folder(token, space, prefix + " " + i);
      }
    }

    JsonArray changes(String token, String space) {
      return expect(send(HttpMethod.GET, "/api/v1/spaces/" + space + "/changes?cursor=0&limit=1000", token, null), 200)
          .getJsonArray("changes");
    }

    /** The value of a metric without labels on this node's /metrics. */
    double metric(String name) {
      HttpResponse<Buffer> response = send(HttpMethod.GET, "/metrics", null, null);
      assertThat(response.statusCode()).isEqualTo(200);
      for (String line : response.bodyAsString().split("\n")) {
        if (line.startsWith(name + " ")) {
          return Double.parseDouble(line.substring(name.length() + 1).trim());
        }
      }
      throw new AssertionError("no metric " + name + " on /metrics");
    }

    long position(String space) {
      Row row = db.preparedQuery("SELECT coalesce((SELECT seq FROM changefeed_positions WHERE space_id = $1::uuid), 0)")
          .execute(Tuple.of(space)).await().iterator().next();
      return row.getLong(0);
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        db.close().await();
        handle.close().await();
        vertx.close().await();
      }
    }
  }
}
