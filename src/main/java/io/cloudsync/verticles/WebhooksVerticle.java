package io.cloudsync.verticles;

import io.cloudsync.Services;
import io.cloudsync.auth.Access;
import io.cloudsync.bus.Addresses;
import io.cloudsync.bus.Bus;
import io.cloudsync.config.CloudSyncConfig;
import io.cloudsync.db.AdvisoryLock;
import io.cloudsync.notify.MailOutbox;
import io.cloudsync.notify.Mailer;
import io.cloudsync.notify.NotificationRelay;
import io.cloudsync.notify.Preferences;
import io.cloudsync.webhooks.DeliveryLog;
import io.cloudsync.webhooks.DeliveryRelay;
import io.cloudsync.webhooks.Destinations;
import io.cloudsync.storage.MasterKeys;
import io.cloudsync.webhooks.Endpoints;
import io.cloudsync.webhooks.ReceiverTrust;
import io.cloudsync.webhooks.SecretBox;
import io.cloudsync.webhooks.Sender;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.net.TrustOptions;
import io.vertx.pgclient.PgConnection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outbound notifications: webhooks (the endpoints API on the event bus, the relay that turns the
 * change log into delivery rows, and the sender of due deliveries) and, when {@code mail.host} is
 * set, e-mail (the notification relay over the same change log, and the {@link Mailer}), with the
 * e-mail preferences API.
 *
 * <p>Both relays run on one node of a cluster at a time, the one holding a PostgreSQL session-level
 * advisory lock on a connection of its own (as the change feed does); the others try the lock every
 * {@link #LOCK_RETRY_MS} ms. Every node sends: {@link Sender} and {@link Mailer} claim due rows so
 * that each attempt is sent by exactly one node.
 */
public final class WebhooksVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(WebhooksVerticle.class);
  /** Any constant works; it only has to be the same on every node and differ from other locks. */
  static final long LOCK_KEY = 0x4353_5768_6f6f_6b73L;
  static final long LOCK_RETRY_MS = 2000;
  /** How long undeploying waits for attempts in flight to be answered and recorded. */
  private static final long STOP_GRACE_MS = 2000;

  private final Services services;
  private final CloudSyncConfig.Webhooks config;
  private HttpClient client;
  private Sender sender;
  private DeliveryLog deliveryLog;
  /** Null while e-mail is off. */
  private Mailer mailer;
  private NotificationRelay notifications;
  private final DeliveryRelay deliveries = new DeliveryRelay();
  private AdvisoryLock lock;
  private boolean stopped;
  private long relayTimer = -1;
  private long sendTimer = -1;
  private Future<Void> step = Future.succeededFuture();

  public WebhooksVerticle(Services services) {
    this.services = services;
    this.config = services.config().webhooks();
  }

  @Override
  public Future<?> start() {
    Future<TrustOptions> trust = config.trustedCa().isEmpty() ? Future.succeededFuture(null)
        : vertx.executeBlocking(() -> ReceiverTrust.withExtraAuthorities(config.trustedCa().get()), false);
    return Future.all(MasterKeys.load(vertx, services.pool(), services.config().files()), trust)
        .compose(loaded -> begin(new SecretBox(loaded.resultAt(0)), loaded.resultAt(1)));
  }

  private Future<?> begin(SecretBox secrets, TrustOptions trust) {
    Destinations destinations = new Destinations(config.allowlist());
    Endpoints endpoints = new Endpoints(vertx, services.pool(), new Access(services.pool()), destinations, config, secrets);
    HttpClientOptions options = new HttpClientOptions()
        .setConnectTimeout(config.timeoutMs())
        .setKeepAlive(true)
        .setVerifyHost(true)
        .setTrustAll(false)
        .setMaxRedirects(0);
    if (trust != null) {
      options.setTrustOptions(trust);
    }
    client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(4));
    Counter succeeded = Counter.builder("cloudsync.webhooks.attempts").tag("outcome", "succeeded")
        .description("Webhook delivery attempts this node sent").register(services.metrics());
    Counter failed = Counter.builder("cloudsync.webhooks.attempts").tag("outcome", "failed")
        .description("Webhook delivery attempts this node sent").register(services.metrics());
    MailOutbox outbox = new MailOutbox(services.config().mail().enabled());
    Preferences preferences = new Preferences(services.pool(), services.config().mail().enabled());
    sender = new Sender(vertx, services.pool(), config, destinations, client, outbox, secrets,
        result -> (result.succeeded() ? succeeded : failed).increment());
    deliveryLog = new DeliveryLog(services.pool(), config.logRetention());
    lock = new AdvisoryLock(vertx, services.pgConnectOptions(), LOCK_KEY, "the webhook relay");
    CloudSyncConfig.Mail mail = services.config().mail();
    if (mail.enabled()) {
      mailer = new Mailer(vertx, services.pool(), mail);
      notifications = new NotificationRelay(mail.batchInterval());
    }
    // Rows from before secrets were encrypted, or under an earlier master key, are sealed under the
    // current one before this node sends anything; every node may do it, each row is compared and set.
    return endpoints.sealStoredSecrets()
        .onSuccess(sealed -> {
          if (sealed > 0) {
            LOG.info("Encrypted {} stored webhook secrets under the current master key", sealed);
          }
          sendTimer = vertx.setPeriodic(config.pollIntervalMs(), id -> {
            sender.tick();
            deliveryLog.tick();
            if (mailer != null) {
              mailer.tick();
            }
          });
          scheduleRelay(0);
        })
        .compose(sealed -> Future.all(List.of(
            Bus.serve(vertx, Addresses.NOTIFICATIONS_GET, preferences::get),
            Bus.serve(vertx, Addresses.NOTIFICATIONS_SET, preferences::set),
            Bus.serve(vertx, Addresses.WEBHOOKS_CREATE, endpoints::create),
            Bus.serve(vertx, Addresses.WEBHOOKS_LIST, endpoints::list),
            Bus.serve(vertx, Addresses.WEBHOOKS_GET, endpoints::get),
            Bus.serve(vertx, Addresses.WEBHOOKS_UPDATE, endpoints::update),
            Bus.serve(vertx, Addresses.WEBHOOKS_DELETE, endpoints::delete),
            Bus.serve(vertx, Addresses.WEBHOOKS_ROTATE_SECRET, endpoints::rotateSecret),
            Bus.serve(vertx, Addresses.WEBHOOKS_DELIVERIES, endpoints::deliveries),
            Bus.serve(vertx, Addresses.WEBHOOKS_REPLAY, request -> endpoints.replay(request)
                .onSuccess(replayed -> sender.tick())))));
  }

  @Override
  public Future<?> stop() {
    stopped = true;
    if (sender == null) {
      return Future.succeededFuture();
    }
    vertx.cancelTimer(relayTimer);
    vertx.cancelTimer(sendTimer);
    deliveryLog.stop();
    // Attempts still out after the grace are cut; their leases run out and another node (or this
    // one, restarted) sends them again. A relay round still running after its grace is cut too:
    // closing the lock's connection rolls it back, and the next leader does it again.
    return sender.stop(STOP_GRACE_MS)
        .compose(v -> mailer == null ? Future.succeededFuture() : mailer.stop(STOP_GRACE_MS))
        .compose(v -> step.timeout(STOP_GRACE_MS, TimeUnit.MILLISECONDS).recover(e -> Future.succeededFuture()))
        .compose(v -> lock.close())
        .compose(v -> client.close().recover(e -> Future.succeededFuture()));
  }

  private void scheduleRelay(long delayMs) {
    if (stopped) {
      return;
    }
    relayTimer = vertx.setTimer(Math.max(1, delayMs), id -> {
      relayTimer = -1;
      step = (lock.connection() != null ? relayOnce() : tryToLead()).onSuccess(this::scheduleRelay).mapEmpty();
    });
  }

  /** Answers how long to wait before the next step; never fails. */
  private Future<Long> tryToLead() {
    return lock.tryAcquire().map(held -> {
      if (!held) {
        return LOCK_RETRY_MS;
      }
      LOG.info("This node now turns the change log into webhook deliveries");
      return 0L;
    });
  }

  /** Answers how long to wait before the next step; never fails. */
  private Future<Long> relayOnce() {
    PgConnection conn = lock.connection();
    if (conn == null) {
      return Future.succeededFuture(0L);
    }
    return deliveries.round(conn)
        .compose(outcome -> {
          if (outcome.created() > 0) {
            sender.tick();
          }
          // E-mail is told from the same change log, by the same single node.
          return notifications == null ? Future.succeededFuture(outcome.more())
              : notifications.round(conn).map(more -> more || outcome.more());
        })
        .map(more -> more ? 0L : (long) config.pollIntervalMs())
        .recover(e -> {
          if (!stopped) {
            LOG.warn("Turning changes into webhook deliveries failed ({}); trying again", e.getMessage());
          }
          return Future.succeededFuture(Math.max(1000L, config.pollIntervalMs()));
        });
  }
}
