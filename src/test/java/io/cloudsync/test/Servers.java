package io.cloudsync.test;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real servers of a test run: one JVM-wide instance ({@link #get()}), each server started lazily on
 * first use (a test that only needs PostgreSQL does not pay for Kafka) and all stopped once by {@link #close()}
 * (called by {@link RealServers} through the JUnit root store, with a JVM shutdown hook as backstop).
 *
 * <p>Everything is reached on 127.0.0.1 on a random free port (Kafka's ports are bound on all interfaces, see
 * {@link KafkaBroker}). Each getter is thread-safe (one lock per server,
 * so a slow Kafka start does not hold up a PostgreSQL caller).
 *
 * <p>Use from tests: {@code @ExtendWith(RealServers.class)} and a {@code Servers servers} parameter.
 */
public final class Servers implements AutoCloseable {

  /** Connection data of the S3-compatible server (s3proxy). The bucket exists already. */
  public record S3(String endpoint, String region, String accessKey, String secretKey, String bucket) {}

  public static final String S3_BUCKET = "cloudsync-test";
  public static final String S3_REGION = "us-east-1";
  public static final String S3_ACCESS_KEY = "cloudsync-access";
  public static final String S3_SECRET_KEY = "cloudsync-secret-key";

  private static final Logger LOG = LoggerFactory.getLogger(Servers.class);
  private static final String HOST = "127.0.0.1";

  private static final Object INSTANCE_LOCK = new Object();
  private static Servers instance;

  private final Object pgLock = new Object();
  private final Object redisLock = new Object();
  private final Object kafkaLock = new Object();
  private final Object s3Lock = new Object();
  private final Object oidcLock = new Object();

  private final AtomicInteger databaseCounter = new AtomicInteger();

  /** Stop actions of the servers started so far, newest first. */
  private final Deque<NamedCloser> closers = new ArrayDeque<>();
  private boolean closed;

  private EmbeddedPostgres postgres;
  private RedisServer redis;
  private String redisUrl;
  private KafkaBroker kafka;
  private S3 s3;
  private EventLoopGroup s3ClientEventLoops;
  private MockOAuth2Server oidc;

  private Servers() {
  }

  /** The JVM-wide instance. Starts nothing by itself. */
  public static Servers get() {
    synchronized (INSTANCE_LOCK) {
      if (instance == null) {
        Servers created = new Servers();
        Runtime.getRuntime().addShutdownHook(new Thread(created::close, "cloudsync-test-servers-stop"));
        instance = created;
      }
      return instance;
    }
  }

  // ---------------------------------------------------------------- PostgreSQL

  /** The embedded PostgreSQL 14 (zonky): user {@code postgres}, trust authentication (no password), 127.0.0.1. */
  public EmbeddedPostgres postgres() {
    synchronized (pgLock) {
      if (postgres == null) {
        ensureOpen();
        long start = System.nanoTime();
        try {
          postgres = EmbeddedPostgres.builder()
            .setServerConfig("listen_addresses", HOST)
            .setServerConfig("fsync", "off")
            .setServerConfig("full_page_writes", "off")
            .setServerConfig("synchronous_commit", "off")
            .start();
        } catch (IOException e) {
          throw new UncheckedIOException("PostgreSQL did not start", e);
        }
        EmbeddedPostgres started = postgres;
        register("PostgreSQL", started::close);
        LOG.info("PostgreSQL started on {}:{} in {} ms", HOST, postgres.getPort(), millisSince(start));
      }
      return postgres;
    }
  }

  public int postgresPort() {
    return postgres().getPort();
  }

  /**
   * Creates a fresh, empty database {@code cs_<n>} and returns its URL in the form Vert.x
   * {@code PgConnectOptions.fromUri} parses: {@code postgresql://postgres@127.0.0.1:<port>/cs_<n>}.
   * No password: the embedded server uses trust authentication.
   */
  public String newDatabaseUrl() {
    EmbeddedPostgres pg = postgres();
    String name = "cs_" + databaseCounter.incrementAndGet();
    try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + name, e);
    }
    return "postgresql://postgres@" + HOST + ":" + pg.getPort() + "/" + name;
  }

  // ---------------------------------------------------------------- Redis

  /** {@code redis://127.0.0.1:<port>} of an embedded redis-server 6.2 without persistence. */
  public String redisUrl() {
    synchronized (redisLock) {
      if (redis == null) {
        ensureOpen();
        long start = System.nanoTime();
        int port = freePort();
        try {
          RedisServer server = RedisServer.newRedisServer()
            .port(port)
            .bind(HOST)
            .setting("save \"\"")
            .setting("appendonly no")
            .build();
          server.start();
          redis = server;
        } catch (IOException e) {
          throw new UncheckedIOException("Redis did not start", e);
        }
        RedisServer started = redis;
        register("Redis", started::stop);
        redisUrl = "redis://" + HOST + ":" + port;
        LOG.info("Redis started on {} in {} ms", redisUrl, millisSince(start));
      }
      return redisUrl;
    }
  }

  // ---------------------------------------------------------------- Kafka

  /** {@code 127.0.0.1:<port>} of the run's shared Kafka broker (see {@link KafkaBroker}). */
  public String kafkaBootstrap() {
    synchronized (kafkaLock) {
      if (kafka == null) {
        ensureOpen();
        long start = System.nanoTime();
        kafka = KafkaBroker.start();
        register("Kafka", kafka::close);
        LOG.info("Kafka started on {} in {} ms", kafka.bootstrap(), millisSince(start));
      }
      return kafka.bootstrap();
    }
  }

  // ---------------------------------------------------------------- S3

  /**
   * An S3-compatible server (s3proxy over an in-memory jclouds {@code transient} blob store), AWS V2/V4
   * signatures with a fixed key pair, the bucket {@value #S3_BUCKET} already created.
   */
  public S3 s3() {
    synchronized (s3Lock) {
      if (s3 == null) {
        ensureOpen();
        long start = System.nanoTime();
        BlobStoreContext context = ContextBuilder.newBuilder("transient")
          .credentials("identity", "credential")
          .build(BlobStoreContext.class);
        S3Proxy proxy = null;
        try {
          BlobStore blobStore = context.getBlobStore();
          blobStore.createContainerInLocation(null, S3_BUCKET);
          proxy = S3Proxy.builder()
            .blobStore(blobStore)
            .endpoint(URI.create("http://" + HOST + ":0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, S3_ACCESS_KEY, S3_SECRET_KEY)
            .build();
          proxy.start(); // synchronous: Jetty is started when this returns
        } catch (Exception e) {
          if (proxy != null) {
            closeQuietly("S3 (failed start)", proxy::stop);
          }
          context.close();
          throw new IllegalStateException("s3proxy did not start", e);
        }
        S3Proxy startedProxy = proxy;
        register("S3 blob store", context::close);
        register("S3", startedProxy::stop);
        s3 = new S3("http://" + HOST + ":" + proxy.getPort(), S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET);
        LOG.info("S3 (s3proxy) started on {} in {} ms", s3.endpoint(), millisSince(start));
      }
      return s3;
    }
  }

  /**
   * A new AWS SDK v2 client for {@link #s3()}: path-style, static credentials, us-east-1, Netty NIO HTTP client,
   * checksums only when required (the SDK's default checksum mode fails against s3proxy with
   * "x-amz-content-sha256 does not match"). The caller owns the client and must close it; closing is instant
   * because all these clients share one Netty event loop group owned by this class (an SDK-owned group takes
   * about 2 s to shut down gracefully on every close).
   */
  public S3AsyncClient s3Client() {
    S3 conf = s3();
    return S3AsyncClient.builder()
      .endpointOverride(URI.create(conf.endpoint()))
      .forcePathStyle(true)
      .region(Region.of(conf.region()))
      .credentialsProvider(StaticCredentialsProvider.create(
        AwsBasicCredentials.create(conf.accessKey(), conf.secretKey())))
      .httpClientBuilder(NettyNioAsyncHttpClient.builder()
        .eventLoopGroup(SdkEventLoopGroup.create(s3ClientEventLoops())))
      .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
      .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
      .build();
  }

  @SuppressWarnings("deprecation") // the SDK infers channel types only from the classic NioEventLoopGroup class
  private EventLoopGroup s3ClientEventLoops() {
    synchronized (s3Lock) {
      if (s3ClientEventLoops == null) {
        ensureOpen();
        EventLoopGroup group = new NioEventLoopGroup(2, new DefaultThreadFactory("cloudsync-test-s3-client", true));
        s3ClientEventLoops = group;
        register("S3 client event loops", () -> group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS));
      }
      return s3ClientEventLoops;
    }
  }

  // ---------------------------------------------------------------- OIDC

  /** The mock OpenID Connect provider (mock-oauth2-server), bound to 127.0.0.1. Any issuer id works. */
  public MockOAuth2Server oidc() {
    synchronized (oidcLock) {
      if (oidc == null) {
        ensureOpen();
        long start = System.nanoTime();
        MockOAuth2Server server = new MockOAuth2Server();
        try {
          server.start(InetAddress.getByName(HOST), 0);
        } catch (IOException e) {
          throw new UncheckedIOException("mock-oauth2-server did not start", e);
        }
        oidc = server;
        register("OIDC", server::shutdown);
        LOG.info("OIDC provider started on {} in {} ms", server.baseUrl(), millisSince(start));
      }
      return oidc;
    }
  }

  /**
   * The issuer URL of {@code issuerId}, exactly as the mock server reports it, e.g.
   * {@code http://localhost:<port>/default}. Note the host is {@code localhost} (the server names itself by
   * its canonical host name) even though it listens on 127.0.0.1 only; localhost resolves to 127.0.0.1 here.
   * Use this string unchanged: the discovery document's {@code issuer} and the {@code iss} of tokens issued via
   * {@code oidc().issueToken(issuerId, ...)} carry the same host, so validating against a rewritten
   * {@code 127.0.0.1} issuer would fail.
   */
  public String oidcIssuer(String issuerId) {
    return oidc().issuerUrl(issuerId).toString();
  }

  // ---------------------------------------------------------------- utilities

  /** A currently free TCP port on 127.0.0.1 (for servers that cannot bind port 0 themselves). */
  public static int freePort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(HOST, 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port", e);
    }
  }

  /**
   * Stops every started server, newest first. Idempotent; later getters of this instance fail, and the next
   * {@link #get()} returns a fresh instance (surefire re-runs failing tests in the same JVM after the first
   * JUnit run, and so after its root store, has closed).
   */
  @Override
  public void close() {
    synchronized (INSTANCE_LOCK) {
      if (instance == this) {
        instance = null;
      }
    }
    Deque<NamedCloser> toClose;
    synchronized (closers) {
      if (closed) {
        return;
      }
      closed = true;
      toClose = new ArrayDeque<>(closers);
      closers.clear();
    }
    for (NamedCloser closer : toClose) {
      long start = System.nanoTime();
      closeQuietly(closer.name(), closer.action());
      LOG.info("{} stopped in {} ms", closer.name(), millisSince(start));
    }
  }

  private void register(String name, ThrowingRunnable action) {
    synchronized (closers) {
      closers.addFirst(new NamedCloser(name, action));
    }
  }

  private void ensureOpen() {
    synchronized (closers) {
      if (closed) {
        throw new IllegalStateException("the test servers were already stopped");
      }
    }
  }

  private static void closeQuietly(String name, ThrowingRunnable action) {
    try {
      action.run();
    } catch (Exception e) {
      LOG.warn("Stopping {} failed", name, e);
    }
  }

  private static long millisSince(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private record NamedCloser(String name, ThrowingRunnable action) {}
}
