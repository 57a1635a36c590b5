package io.cloudsync.test;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.kafka.admin.KafkaAdminClient;
import io.vertx.kafka.admin.NewTopic;
import io.vertx.kafka.client.common.Node;
import io.vertx.kafka.client.consumer.KafkaConsumer;
import io.vertx.kafka.client.consumer.KafkaConsumerRecord;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import io.vertx.kafka.client.producer.RecordMetadata;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Response;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith({VertxExtension.class, RealServers.class})
@DisplayName("The real servers of the test run")
class RealServersTest {

  private static final long TIMEOUT_SECONDS = 30;

  @Test
  @DisplayName("PostgreSQL answers SELECT 1 through a Vert.x PgBuilder pool on a fresh database URL")
  void postgresAnswersThroughVertxPool(Vertx vertx, Servers servers) throws Exception {
    String url = servers.newDatabaseUrl();
    assertThat(url).matches("postgresql://postgres@127\\.0\\.0\\.1:" + servers.postgresPort() + "/cs_\\d+");

    Pool pool = pool(vertx, url);
    try {
      Row row = pool.query("SELECT 1 AS one, current_database() AS db").execute()
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS).iterator().next();
      assertThat(row.getInteger("one")).isEqualTo(1);
      assertThat(url).endsWith("/" + row.getString("db"));
    } finally {
      pool.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("Two newDatabaseUrl() calls give distinct databases whose tables do not see each other")
  void newDatabaseUrlsAreIsolated(Vertx vertx, Servers servers) throws Exception {
    String first = servers.newDatabaseUrl();
    String second = servers.newDatabaseUrl();
    assertThat(first).isNotEqualTo(second);

    Pool a = pool(vertx, first);
    Pool b = pool(vertx, second);
    try {
      a.query("CREATE TABLE items (name text)").execute().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      a.query("INSERT INTO items VALUES ('only-in-first')").execute().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      Row inFirst = a.query("SELECT count(*) AS n FROM items").execute()
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS).iterator().next();
      assertThat(inFirst.getLong("n")).isEqualTo(1L);

      Row inSecond = b.query("SELECT to_regclass('items') IS NULL AS absent, current_database() AS db").execute()
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS).iterator().next();
      assertThat(inSecond.getBoolean("absent")).isTrue();
      assertThat(second).endsWith("/" + inSecond.getString("db"));
    } finally {
      a.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      b.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("Redis stores and returns a value through the Vert.x Redis client")
  void redisSetAndGet(Vertx vertx, Servers servers) throws Exception {
    String url = servers.redisUrl();
    assertThat(url).startsWith("redis://127.0.0.1:");

    Redis client = Redis.createClient(vertx, url);
    try {
      RedisAPI redis = RedisAPI.api(client);
      String key = "cloudsync:test:" + UUID.randomUUID();
      Response set = redis.set(List.of(key, "hello redis")).await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(set.toString()).isEqualTo("OK");
      Response got = redis.get(key).await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(got.toString()).isEqualTo("hello redis");
    } finally {
      client.close();
    }
  }

  @Test
  @DisplayName("Kafka delivers a record from a Vert.x KafkaProducer to a subscribed Vert.x KafkaConsumer")
  void kafkaProduceAndConsume(Vertx vertx, Servers servers) throws Exception {
    String bootstrap = servers.kafkaBootstrap();
    assertThat(bootstrap).startsWith("127.0.0.1:");
    String topic = "cloudsync-test-" + UUID.randomUUID();

    KafkaAdminClient admin = KafkaAdminClient.create(vertx, Map.of("bootstrap.servers", bootstrap));
    try {
      // The broker advertises the same 127.0.0.1 address the clients bootstrap from.
      Node broker = admin.describeCluster().await(TIMEOUT_SECONDS, TimeUnit.SECONDS).getNodes().get(0);
      assertThat(broker.getHost() + ":" + broker.getPort()).isEqualTo(bootstrap);
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    } finally {
      admin.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    KafkaProducer<String, String> producer = KafkaProducer.create(vertx, Map.of(
      "bootstrap.servers", bootstrap,
      "key.serializer", "org.apache.kafka.common.serialization.StringSerializer",
      "value.serializer", "org.apache.kafka.common.serialization.StringSerializer",
      "acks", "all"));
    KafkaConsumer<String, String> consumer = KafkaConsumer.create(vertx, Map.of(
      "bootstrap.servers", bootstrap,
      "group.id", "cloudsync-test-" + UUID.randomUUID(),
      "auto.offset.reset", "earliest",
      "enable.auto.commit", "false",
      "key.deserializer", "org.apache.kafka.common.serialization.StringDeserializer",
      "value.deserializer", "org.apache.kafka.common.serialization.StringDeserializer"));
    try {
      RecordMetadata sent = producer.send(KafkaProducerRecord.create(topic, "file-1", "changed"))
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(sent.getTopic()).isEqualTo(topic);
      assertThat(sent.getOffset()).isZero();

      Promise<KafkaConsumerRecord<String, String>> received = Promise.promise();
      consumer.handler(received::tryComplete);
      consumer.exceptionHandler(received::tryFail);
      consumer.subscribe(topic).await(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      KafkaConsumerRecord<String, String> record = received.future().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(record.topic()).isEqualTo(topic);
      assertThat(record.key()).isEqualTo("file-1");
      assertThat(record.value()).isEqualTo("changed");
      assertThat(record.offset()).isZero();
    } finally {
      consumer.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      producer.close().await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }
  }

  @Test
  @DisplayName("S3 (s3proxy) stores an object in the test bucket and returns it through the AWS SDK async client")
  void s3PutAndGet(Servers servers) {
    Servers.S3 s3 = servers.s3();
    assertThat(s3.endpoint()).startsWith("http://127.0.0.1:");
    assertThat(s3.bucket()).isEqualTo("cloudsync-test");
    assertThat(s3.region()).isEqualTo("us-east-1");

    String key = "dir/" + UUID.randomUUID() + ".txt";
    String content = "hello s3 — ünïcödé";
    try (S3AsyncClient client = servers.s3Client()) {
      client.putObject(b -> b.bucket(s3.bucket()).key(key).contentType("text/plain"),
        AsyncRequestBody.fromString(content)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);

      ResponseBytes<GetObjectResponse> got = client.getObject(b -> b.bucket(s3.bucket()).key(key),
        AsyncResponseTransformer.toBytes()).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(got.asUtf8String()).isEqualTo(content);
      assertThat(got.response().contentType()).isEqualTo("text/plain");
    } catch (Exception e) {
      throw new AssertionError("S3 round trip failed", e);
    }
  }

  @Test
  @DisplayName("The OIDC provider publishes a discovery document naming its issuer and JWKS endpoint")
  void oidcDiscovery(Vertx vertx, Servers servers) throws Exception {
    String issuer = servers.oidcIssuer("default");
    assertThat(issuer).matches("http://localhost:\\d+/default");

    WebClient web = WebClient.create(vertx);
    try {
      HttpResponse<?> response = web.getAbs(issuer + "/.well-known/openid-configuration").send()
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(response.statusCode()).isEqualTo(200);
      JsonObject discovery = response.bodyAsJsonObject();
      assertThat(discovery.getString("issuer")).isEqualTo(issuer);
      assertThat(discovery.getString("jwks_uri")).isEqualTo(issuer + "/jwks");

      HttpResponse<?> jwks = web.getAbs(discovery.getString("jwks_uri")).send()
        .await(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      assertThat(jwks.statusCode()).isEqualTo(200);
      assertThat(jwks.bodyAsJsonObject().getJsonArray("keys")).isNotEmpty();
    } finally {
      web.close();
    }
  }

  private static Pool pool(Vertx vertx, String url) {
    return PgBuilder.pool()
      .with(new PoolOptions().setMaxSize(2))
      .connectingTo(PgConnectOptions.fromUri(url))
      .using(vertx)
      .build();
  }
}
