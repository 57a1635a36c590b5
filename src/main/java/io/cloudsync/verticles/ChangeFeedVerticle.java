package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.changefeed.ChangeEvents;
import io.cloudsync.changefeed.Relay;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.db.AdvisoryLock;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.pgclient.PgConnection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays the change log of every space to a Kafka topic, keyed by space id (see {@link Relay}).
 *
 * <p>One node of a cluster relays at a time: the one holding a PostgreSQL session-level advisory
 * lock on a connection of its own, kept open for as long as it relays, and the only connection
 * the relay's statements use. The other nodes try the lock every {@link #LOCK_RETRY_MS} ms. When
 * the relaying node stops or its connection drops, the session ends, the lock frees, and another
 * node goes on from the positions stored in PostgreSQL. A node that loses its connection stops
 * relaying before it could record anything more.
 *
 * <p>All state is touched on this verticle's event loop, and one step (a lock attempt or a relay
 * round) runs at a time: each schedules the next when it is done.
 */
public final class ChangeFeedVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(ChangeFeedVerticle.class);
  /** Any constant works; it only has to be the same on every node and differ from other locks. */
  static final long LOCK_KEY = 0x4353_4368_6746_6564L;
  /** How often a node that does not relay tries to take over. */
  static final long LOCK_RETRY_MS = 2000;
  /** The longest pause after failures in a row; pauses start at the poll interval and double. */
  static final long MAX_BACKOFF_MS = 30_000;
  /** How long undeploying waits for Kafka to acknowledge what was sent before closing. */
  private static final long CLOSE_GRACE_MS = 2000;

  private final Services services;
  private final CloudSyncConfig.ChangeFeed config;
  private Counter relayedCounter;
  private Counter failedCounter;
  private Relay relay;
  private KafkaProducer<String, String> producer;
  private AdvisoryLock lock;
  private boolean stopped;
  private int failures;
  private long timer = -1;
  private Future<Void> step = Future.succeededFuture();

  public ChangeFeedVerticle(Services services) {
    this.services = services;
    this.config = services.config().changeFeed();
  }

  @Override
  public Future<?> start() {
    relayedCounter = Counter.builder("cloudsync.changefeed.relayed")
        .description("Changes the change feed sent to Kafka and Kafka acknowledged")
        .register(services.metrics());
    failedCounter = Counter.builder("cloudsync.changefeed.failures")
        .description("Change feed rounds that failed; each is sent again from the stored position")
        .register(services.metrics());
    lock = new AdvisoryLock(vertx, services.pgConnectOptions(), LOCK_KEY, "the change feed");
    return services.pool().query("SELECT id::text AS id FROM installation").execute()
        .onSuccess(rows -> {
          relay = new Relay(config.topic(), ChangeEvents.source(rows.iterator().next().getString("id")));
          schedule(0);
        });
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    vertx.cancelTimer(timer);
    // Closing the producer ends a round that still waits for Kafka; that round then records what
    // Kafka acknowledged before the lock goes. Each wait is bounded: a producer that is waiting
    // for Kafka's metadata closes only once that wait is over.
    return closeProducer(CLOSE_GRACE_MS)
        .timeout(2 * CLOSE_GRACE_MS, TimeUnit.MILLISECONDS).recover(e -> Future.succeededFuture())
        .compose(v -> step.timeout(2 * CLOSE_GRACE_MS, TimeUnit.MILLISECONDS).recover(e -> Future.succeededFuture()))
        .compose(v -> lock.close());
  }

  private void schedule(long delayMs) {
    if (stopped) {
      return;
    }
    timer = vertx.setTimer(Math.max(1, delayMs), id -> {
      timer = -1;
      step = (lock.connection() != null ? relayOnce() : tryToLead()).onSuccess(this::schedule).mapEmpty();
    });
  }

  /** Answers how long to wait before the next step; never fails. */
  private Future<Long> tryToLead() {
    return lock.tryAcquire().map(held -> {
      if (!held) {
        return LOCK_RETRY_MS;
      }
      failures = 0;
      LOG.info("This node now relays the change feed to Kafka topic {}", config.topic());
      return 0L;
    });
  }

  /** Answers how long to wait before the next step; never fails. */
  private Future<Long> relayOnce() {
    PgConnection conn = lock.connection();
    if (conn == null) {
      return Future.succeededFuture(0L);
    }
    return producer()
        .compose(kafka -> relay.round(conn, kafka))
        .compose(outcome -> {
          relayedCounter.increment(outcome.relayed());
          if (outcome.failure() != null) {
            return Future.failedFuture(outcome.failure());
          }
          if (failures > 0) {
            LOG.info("The change feed relays again after {} failed attempt(s)", failures);
          }
          failures = 0;
          return Future.succeededFuture(outcome.more() ? 0L : config.pollIntervalMs());
        })
        .recover(e -> {
          if (stopped) {
            return Future.succeededFuture(0L);
          }
          failures++;
          failedCounter.increment();
          long delay = Math.min(MAX_BACKOFF_MS, config.pollIntervalMs() * (1L << Math.min(failures - 1, 20)));
          LOG.warn("Relaying the change feed failed ({}); sending again from the stored position in {} ms",
              e.getMessage(), delay);
          // A fresh producer next time: one that failed may be left in a state it cannot leave.
          closeProducer(0);
          return Future.succeededFuture(delay);
        });
  }

  private Future<KafkaProducer<String, String>> producer() {
    if (producer != null) {
      return Future.succeededFuture(producer);
    }
    Map<String, Object> settings = new HashMap<>();
    settings.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, services.config().kafkaBootstrap());
    settings.put(ProducerConfig.CLIENT_ID_CONFIG, "cloudsync-changefeed");
    settings.put(ProducerConfig.ACKS_CONFIG, "all");
    // Idempotence keeps each partition in send order across retries, with up to 5 requests in flight.
    settings.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    settings.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    settings.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    settings.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, config.sendTimeoutMs());
    settings.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(30_000, config.sendTimeoutMs() - 5));
    settings.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, config.sendTimeoutMs());
    // The Kafka client resolves the bootstrap names as it is built: not on the event loop.
    return vertx.executeBlocking(() -> new org.apache.kafka.clients.producer.KafkaProducer<>(settings,
            new StringSerializer(), new StringSerializer()), false)
        .map(created -> {
          KafkaProducer<String, String> wrapped = KafkaProducer.create(vertx, created);
          // Each send's future carries its failure to the round; without a handler the stream would
          // also report every failed send as an unhandled exception.
          wrapped.exceptionHandler(e -> LOG.debug("Change feed send failed: {}", e.getMessage()));
          if (stopped) {
            wrapped.close(0);
            throw new IllegalStateException("the change feed is stopping");
          }
          producer = wrapped;
          return wrapped;
        });
  }

  private Future<Void> closeProducer(long graceMs) {
    KafkaProducer<String, String> closing = producer;
    producer = null;
    return closing == null ? Future.succeededFuture() : closing.close(graceMs).recover(e -> Future.succeededFuture());
  }
}
