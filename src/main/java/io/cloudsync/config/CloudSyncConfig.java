package io.cloudsync.config;

import io.cloudsync.handlers.ClientAddress;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The whole configuration, typed and checked. Build it with {@link #from(JsonObject)} from nested
 * or dotted keys; unset keys take their defaults from {@link Settings}.
 */
public record CloudSyncConfig(
    Http http, Path dataDir, Pg pg, String redisUrl, String kafkaBootstrap, Blob blob,
    Cluster cluster, Set<Role> roles, Log log, Auth auth, Files files, List<String> unknownKeys, RateLimit rateLimit,
    Sync sync, ChangeFeed changeFeed, Webhooks webhooks, Mail mail, Docs docs) {

  public record Http(String host, int port, int instances, Optional<Tls> tls, List<String> corsOrigins,
                     long jsonBodyLimit, Duration shutdownTimeout) {
  }

  /** Live connections ({@code /api/v1/sync}) and long-polls; durations in seconds, sizes in bytes. */
  public record Sync(int pingInterval, int idleTimeout, int maxSession, int maxSubscriptions, int maxMessage,
                     int sendQueue, int slowConsumerTimeout, int longPollMax, int maxFilteredSubscriptions,
                     int maxPrefixLength, int maxTrackedFolders, int presenceMaxState, int presenceMaxMembers,
                     int presenceHeartbeat, int presenceTimeout) {
  }

  public record Tls(Path cert, Path key) {
  }

  /** {@code url} is empty when the embedded PostgreSQL is to be used. */
  public record Pg(String url, int poolSize, int filesPoolSize, int embeddedPort) {
    public boolean embedded() {
      return url.isEmpty();
    }
  }

  public record Blob(String type, Path localDir, S3 s3) {
  }

  public record S3(String endpoint, String region, String bucket, String accessKey, String secretKey,
                   boolean pathStyle) {
  }

  public record Cluster(boolean enabled, List<String> members, String host, int port) {
  }

  public record Log(String format, String level) {
  }

  /** Token, account and sign-in provider settings; {@code signingKey} is empty when keys are generated. */
  public record Auth(String issuer, String audience, int accessTokenTtl, int refreshTokenTtl, String signingKey,
                     List<String> adminEmails, String redirectBase, String successUrl, OAuthClient google,
                     OAuthClient github, String githubSite, String githubApi, String oidcIssuer, OAuthClient oidc) {
  }

  /**
   * File limits and chunk encryption. {@code userQuota} 0 means none; {@code masterKey} is empty
   * when the key is generated; {@code previousMasterKeys} maps key id to base64 key.
   */
  public record Files(long maxFileSize, int folderEntryLimit, long userQuota, int trashRetentionDays,
                      int uploadExpireHours, String masterKey, String masterKeyId,
                      java.util.Map<String, String> previousMasterKeys) {
  }

  /** JSON documents: the size of one, versions kept per document, the most a change entry carries of one. */
  public record Docs(long maxSize, int maxVersions, long changeInlineMax) {
  }

  /** An OAuth client registration; off when the client id is empty. */
  public record OAuthClient(String clientId, String clientSecret) {
    public boolean enabled() {
      return !clientId.isEmpty();
    }
  }

  /** {@code trustedProxies} are IPs or CIDR blocks, checked to parse. */
  public record RateLimit(boolean enabled, int apiPerMinute, int authPerMinute, List<String> trustedProxies) {
  }

  /** The Kafka change feed; it runs only where {@code kafkaBootstrap} is set. */
  public record ChangeFeed(String topic, int pollIntervalMs, int sendTimeoutMs) {
  }

  /**
   * Webhook delivery: {@code retrySchedule} is the delay before each attempt (its size is the number
   * of attempts); {@code allowlist} the operator's hosts and CIDRs exempt from the SSRF guard;
   * {@code logRetention} how long finished deliveries stay in the delivery log.
   */
  public record Webhooks(List<String> allowlist, int maxEndpoints, int timeoutMs, List<Duration> retrySchedule,
                         Duration retryAfterMax, Duration secretOverlap, int pollIntervalMs, int concurrency,
                         int circuitFailures, Duration circuitCooldown, Duration disableAfter,
                         Duration logRetention, Optional<Path> trustedCa) {
  }

  /**
   * E-mail over SMTP; off when {@code host} is empty. {@code batchInterval} is the least time between
   * two mails about new files in one space to one member.
   */
  public record Mail(String host, int port, String username, String password, String from, String starttls,
                     boolean ssl, int maxAttempts, Duration batchInterval) {
    public boolean enabled() {
      return !host.isEmpty();
    }
  }

  private static final Pattern DURATION = Pattern.compile("^(\\d{1,9})\\s*(ms|s|m|h|d)$");

  /** A duration such as {@code 250ms}, {@code 5s}, {@code 30m}, {@code 2h} or {@code 1d}; null when it is none. */
  static Duration duration(String text) {
    java.util.regex.Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      return null;
    }
    long n = Long.parseLong(m.group(1));
    return switch (m.group(2)) {
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
  }

  /** Kafka's own rule for topic names. */
  private static final Pattern TOPIC = Pattern.compile("^[A-Za-z0-9._-]{1,249}$");

  private static final Pattern ORIGIN = Pattern.compile("^https?://[A-Za-z0-9.\\-\\[\\]:]+$");

  public boolean runs(Role role) {
    return roles.contains(role);
  }

  public static CloudSyncConfig defaults() {
    return from(new JsonObject());
  }

  /** Checks and types the configuration; throws {@link ConfigException} naming the first bad key. */
  public static CloudSyncConfig from(JsonObject config) {
    JsonObject flat = ConfigLoader.flatten(config);
    List<String> unknown = new ArrayList<>();
    for (String key : flat.fieldNames()) {
      if (!Settings.all().containsKey(key)) {
        unknown.add(key);
      }
    }
    Values v = new Values(flat);

    String host = v.string(Settings.HTTP_HOST);
    if (host.isEmpty()) {
      throw Settings.HTTP_HOST.invalid(host, "a host name or address");
    }
    int port = v.range(Settings.HTTP_PORT, 0, 65535);
    int instances = v.range(Settings.HTTP_INSTANCES, 0, 256);
    String cert = v.string(Settings.HTTP_TLS_CERT);
    String key = v.string(Settings.HTTP_TLS_KEY);
    Optional<Tls> tls = Optional.empty();
    if (!cert.isEmpty() || !key.isEmpty()) {
      if (cert.isEmpty() || key.isEmpty()) {
        throw new ConfigException("http.tls.cert and http.tls.key must be set together");
      }
      tls = Optional.of(new Tls(readable(Settings.HTTP_TLS_CERT, cert), readable(Settings.HTTP_TLS_KEY, key)));
    }
    List<String> origins = v.list(Settings.HTTP_CORS_ORIGINS);
    for (String origin : origins) {
      if (!ORIGIN.matcher(origin).matches()) {
        throw Settings.HTTP_CORS_ORIGINS.invalid(origin, "exact origins such as https://app.example.com");
      }
    }
    Http http = new Http(host, port, instances, tls, origins,
        v.positive(Settings.HTTP_BODY_LIMIT_JSON),
        Duration.ofSeconds(v.range(Settings.HTTP_SHUTDOWN_TIMEOUT, 0, 3600)));

    String dataDirText = v.string(Settings.DATA_DIR);
    if (dataDirText.isEmpty()) {
      throw Settings.DATA_DIR.invalid(dataDirText, "a directory");
    }
    Path dataDir = Path.of(dataDirText).toAbsolutePath().normalize();

    String pgUrl = v.string(Settings.PG_URL);
    if (!pgUrl.isEmpty() && !(pgUrl.startsWith("postgresql://") || pgUrl.startsWith("postgres://"))) {
      throw Settings.PG_URL.invalid(pgUrl, "a URL like postgresql://user:password@host:5432/db");
    }
    Pg pg = new Pg(pgUrl, v.range(Settings.PG_POOL_SIZE, 1, 1000), v.range(Settings.PG_FILES_POOL_SIZE, 1, 1000),
        v.range(Settings.PG_EMBEDDED_PORT, 0, 65535));

    String redisUrl = v.string(Settings.REDIS_URL);
    if (!redisUrl.isEmpty() && !(redisUrl.startsWith("redis://") || redisUrl.startsWith("rediss://"))) {
      throw Settings.REDIS_URL.invalid(redisUrl, "a URL like redis://host:6379");
    }

    String blobType = v.string(Settings.BLOB_TYPE);
    String localDir = v.string(Settings.BLOB_LOCAL_DIR);
    S3 s3 = new S3(v.string(Settings.BLOB_S3_ENDPOINT), v.string(Settings.BLOB_S3_REGION),
        v.string(Settings.BLOB_S3_BUCKET), v.string(Settings.BLOB_S3_ACCESS_KEY),
        v.string(Settings.BLOB_S3_SECRET_KEY), v.bool(Settings.BLOB_S3_PATH_STYLE));
    if (blobType.equals("s3") && s3.bucket().isEmpty()) {
      throw Settings.BLOB_S3_BUCKET.invalid("", "a bucket name when blob.type is s3");
    }
    Blob blob = new Blob(blobType,
        localDir.isEmpty() ? dataDir.resolve("blobs") : Path.of(localDir).toAbsolutePath().normalize(), s3);

    Cluster cluster = new Cluster(v.bool(Settings.CLUSTER), v.list(Settings.CLUSTER_MEMBERS),
        v.string(Settings.CLUSTER_HOST), v.range(Settings.CLUSTER_PORT, 1, 65535));

    Set<Role> roles = EnumSet.noneOf(Role.class);
    for (String name : v.list(Settings.ROLES)) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.equals("all")) {
        roles.addAll(EnumSet.allOf(Role.class));
      } else if (Role.names().contains(lower)) {
        roles.add(Role.valueOf(lower.toUpperCase(Locale.ROOT)));
      } else {
        throw Settings.ROLES.invalid(name, "roles from " + String.join(", ", Role.names()) + " or all");
      }
    }
    if (roles.isEmpty()) {
      throw Settings.ROLES.invalid("", "at least one role");
    }

    String signingKey = v.string(Settings.AUTH_SIGNING_KEY);
    if (!signingKey.isEmpty()) {
      readable(Settings.AUTH_SIGNING_KEY, signingKey);
    }
    String redirectBase = v.string(Settings.AUTH_OAUTH_REDIRECT_BASE);
    if (!redirectBase.isEmpty() && !ORIGIN.matcher(redirectBase).matches()) {
      throw Settings.AUTH_OAUTH_REDIRECT_BASE.invalid(redirectBase, "a base URL such as https://sync.example.com, without a path");
    }
    OAuthClient google = new OAuthClient(v.string(Settings.AUTH_GOOGLE_CLIENT_ID), v.string(Settings.AUTH_GOOGLE_CLIENT_SECRET));
    OAuthClient github = new OAuthClient(v.string(Settings.AUTH_GITHUB_CLIENT_ID), v.string(Settings.AUTH_GITHUB_CLIENT_SECRET));
    OAuthClient oidc = new OAuthClient(v.string(Settings.AUTH_OIDC_CLIENT_ID), v.string(Settings.AUTH_OIDC_CLIENT_SECRET));
    String oidcIssuer = v.string(Settings.AUTH_OIDC_ISSUER);
    if (oidc.enabled() && oidcIssuer.isEmpty()) {
      throw Settings.AUTH_OIDC_ISSUER.invalid("", "the issuer URL when auth.oidc.client_id is set");
    }
    if ((google.enabled() || github.enabled() || oidc.enabled()) && redirectBase.isEmpty()) {
      throw Settings.AUTH_OAUTH_REDIRECT_BASE.invalid("", "the public base URL when an OAuth provider is configured");
    }
    List<String> adminEmails = v.list(Settings.AUTH_ADMIN_EMAILS).stream()
        .map(e -> e.toLowerCase(Locale.ROOT)).toList();
    Auth auth = new Auth(v.string(Settings.AUTH_ISSUER), v.string(Settings.AUTH_AUDIENCE),
        v.range(Settings.AUTH_ACCESS_TOKEN_TTL, 30, 86_400), v.range(Settings.AUTH_REFRESH_TOKEN_TTL, 300, 31_536_000),
        signingKey, adminEmails, redirectBase, v.string(Settings.AUTH_OAUTH_SUCCESS_URL), google, github,
        v.string(Settings.AUTH_GITHUB_SITE), v.string(Settings.AUTH_GITHUB_API), oidcIssuer, oidc);

    List<String> trustedProxies = v.list(Settings.HTTP_TRUSTED_PROXIES);
    for (String proxy : trustedProxies) {
      try {
        ClientAddress.network(proxy);
      } catch (IllegalArgumentException e) {
        throw Settings.HTTP_TRUSTED_PROXIES.invalid(proxy, "IP addresses or CIDR blocks such as 10.0.0.0/8 or fd00::/8");
      }
    }
    RateLimit rateLimit = new RateLimit(v.bool(Settings.RATELIMIT_ENABLED),
        v.range(Settings.RATELIMIT_API_PER_MINUTE, 1, 1_000_000), v.range(Settings.RATELIMIT_AUTH_PER_MINUTE, 1, 1_000_000),
        trustedProxies);

    String masterKey = v.string(Settings.STORAGE_MASTER_KEY);
    if (!masterKey.isEmpty() && !isKey(masterKey)) {
      throw Settings.STORAGE_MASTER_KEY.invalid("(hidden)", "base64 of exactly 32 bytes");
    }
    java.util.Map<String, String> previousKeys = new java.util.LinkedHashMap<>();
    for (String entry : v.list(Settings.STORAGE_PREVIOUS_MASTER_KEYS)) {
      int colon = entry.indexOf(':');
      if (colon <= 0 || !isKey(entry.substring(colon + 1))) {
        throw Settings.STORAGE_PREVIOUS_MASTER_KEYS.invalid("(hidden)", "entries id:base64-of-32-bytes");
      }
      previousKeys.put(entry.substring(0, colon), entry.substring(colon + 1));
    }
    String masterKeyId = v.string(Settings.STORAGE_MASTER_KEY_ID);
    if (!masterKeyId.matches("[A-Za-z0-9._-]{1,64}")) {
      throw Settings.STORAGE_MASTER_KEY_ID.invalid(masterKeyId, "1 to 64 letters, digits, dots, dashes or underscores");
    }
    Files files = new Files(v.positive(Settings.FILES_MAX_FILE_SIZE), v.range(Settings.FILES_FOLDER_ENTRY_LIMIT, 1, 10_000_000),
        v.nonNegative(Settings.FILES_USER_QUOTA), v.range(Settings.FILES_TRASH_RETENTION_DAYS, 0, 3650),
        v.range(Settings.UPLOADS_EXPIRE_HOURS, 1, 24 * 365), masterKey, masterKeyId, java.util.Map.copyOf(previousKeys));

    Sync sync = new Sync(v.range(Settings.SYNC_PING_INTERVAL, 1, 3600), v.range(Settings.SYNC_IDLE_TIMEOUT, 2, 7200),
        v.range(Settings.SYNC_MAX_SESSION, 10, 31_536_000), v.range(Settings.SYNC_MAX_SUBSCRIPTIONS, 1, 100_000),
        (int) v.sizeRange(Settings.SYNC_MAX_MESSAGE, 1024, 16L << 20),
        (int) v.sizeRange(Settings.SYNC_SEND_QUEUE, 1024, 64L << 20),
        v.range(Settings.SYNC_SLOW_CONSUMER_TIMEOUT, 1, 3600), v.range(Settings.SYNC_LONG_POLL_MAX, 1, 600),
        v.range(Settings.SYNC_MAX_FILTERED_SUBSCRIPTIONS, 0, 100_000), v.range(Settings.SYNC_MAX_PREFIX_LENGTH, 1, 65_536),
        v.range(Settings.SYNC_MAX_TRACKED_FOLDERS, 1, 10_000_000),
        (int) v.sizeRange(Settings.SYNC_PRESENCE_MAX_STATE, 2, 64L << 10),
        v.range(Settings.SYNC_PRESENCE_MAX_MEMBERS, 1, 100_000), v.range(Settings.SYNC_PRESENCE_HEARTBEAT, 1, 3600),
        v.range(Settings.SYNC_PRESENCE_TIMEOUT, 2, 7200));
    if (sync.presenceTimeout() <= sync.presenceHeartbeat()) {
      throw Settings.SYNC_PRESENCE_TIMEOUT.invalid(String.valueOf(sync.presenceTimeout()),
          "more than sync.presence_heartbeat (" + sync.presenceHeartbeat() + "), or live entries would expire");
    }

    String topic = v.string(Settings.CHANGEFEED_TOPIC);
    if (!TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
      throw Settings.CHANGEFEED_TOPIC.invalid(topic, "a Kafka topic name: 1 to 249 letters, digits, dots, dashes or underscores");
    }
    ChangeFeed changeFeed = new ChangeFeed(topic, v.range(Settings.CHANGEFEED_POLL_INTERVAL_MS, 10, 60_000),
        v.range(Settings.CHANGEFEED_SEND_TIMEOUT_MS, 1000, 3_600_000));

    List<String> allowlist = v.list(Settings.WEBHOOKS_ALLOWLIST);
    for (String entry : allowlist) {
      if (!io.cloudsync.webhooks.Destinations.isAllowlistEntry(entry)) {
        throw Settings.WEBHOOKS_ALLOWLIST.invalid(entry, "host names, IP addresses or CIDR blocks such as 10.0.0.0/8");
      }
    }
    List<Duration> schedule = new ArrayList<>();
    for (String step : v.list(Settings.WEBHOOKS_RETRY_SCHEDULE)) {
      Duration delay = duration(step);
      if (delay == null || delay.compareTo(Duration.ofDays(7)) > 0) {
        throw Settings.WEBHOOKS_RETRY_SCHEDULE.invalid(step, "durations such as 0s, 5s, 5m, 2h or 1d, each at most 7d");
      }
      schedule.add(delay);
    }
    if (schedule.isEmpty() || schedule.size() > 50) {
      throw Settings.WEBHOOKS_RETRY_SCHEDULE.invalid(String.join(",", v.list(Settings.WEBHOOKS_RETRY_SCHEDULE)),
          "1 to 50 delays, one per attempt");
    }
    Webhooks webhooks = new Webhooks(allowlist, v.range(Settings.WEBHOOKS_MAX_ENDPOINTS, 1, 1000),
        v.range(Settings.WEBHOOKS_TIMEOUT_MS, 100, 120_000), List.copyOf(schedule),
        Duration.ofSeconds(v.range(Settings.WEBHOOKS_RETRY_AFTER_MAX, 0, 7 * 86_400)),
        Duration.ofSeconds(v.range(Settings.WEBHOOKS_SECRET_OVERLAP, 0, 30 * 86_400)),
        v.range(Settings.WEBHOOKS_POLL_INTERVAL_MS, 10, 60_000), v.range(Settings.WEBHOOKS_CONCURRENCY, 1, 1000),
        v.range(Settings.WEBHOOKS_CIRCUIT_FAILURES, 1, 1000), Duration.ofSeconds(v.range(Settings.WEBHOOKS_CIRCUIT_COOLDOWN, 1, 86_400)),
        durationIn(v, Settings.WEBHOOKS_DISABLE_AFTER, Duration.ofSeconds(1), Duration.ofDays(365)),
        durationIn(v, Settings.WEBHOOKS_LOG_RETENTION, Duration.ofSeconds(1), Duration.ofDays(3650)),
        v.string(Settings.WEBHOOKS_TRUSTED_CA).isEmpty() ? Optional.empty()
            : Optional.of(readable(Settings.WEBHOOKS_TRUSTED_CA, v.string(Settings.WEBHOOKS_TRUSTED_CA))));

    String mailFrom = v.string(Settings.MAIL_FROM);
    String fromAddress = mailFrom.contains("<") && mailFrom.endsWith(">")
        ? mailFrom.substring(mailFrom.lastIndexOf('<') + 1, mailFrom.length() - 1) : mailFrom;
    if (!fromAddress.matches("[^@\\s<>]{1,64}@[^@\\s<>]{1,253}")) {
      throw Settings.MAIL_FROM.invalid(mailFrom, "an address such as cloudsync@example.com or CloudSync <cloudsync@example.com>");
    }
    Mail mail = new Mail(v.string(Settings.MAIL_HOST), v.range(Settings.MAIL_PORT, 1, 65535), v.string(Settings.MAIL_USERNAME),
        v.string(Settings.MAIL_PASSWORD), mailFrom, v.string(Settings.MAIL_STARTTLS), v.bool(Settings.MAIL_SSL),
        v.range(Settings.MAIL_MAX_ATTEMPTS, 1, 100),
        durationIn(v, Settings.NOTIFICATIONS_BATCH_INTERVAL, Duration.ofMillis(100), Duration.ofDays(1)));

    Docs docs = new Docs(v.sizeRange(Settings.DOCS_MAX_SIZE, 2, 64L << 20), v.range(Settings.DOCS_MAX_VERSIONS, 1, 100_000),
        v.sizeRange(Settings.DOCS_CHANGE_INLINE_MAX, 0, 16L << 20));

    return new CloudSyncConfig(http, dataDir, pg, redisUrl, v.string(Settings.KAFKA_BOOTSTRAP), blob, cluster,
        Set.copyOf(roles), new Log(v.string(Settings.LOG_FORMAT), v.string(Settings.LOG_LEVEL)), auth, files,
        List.copyOf(unknown), rateLimit, sync, changeFeed, webhooks, mail, docs);
  }

  private static Duration durationIn(Values v, Setting setting, Duration min, Duration max) {
    String text = v.string(setting);
    Duration value = duration(text);
    if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw setting.invalid(text, "a duration such as 30s, 5m, 2h or 5d, from " + min + " to " + max);
    }
    return value;
  }

  private static boolean isKey(String base64) {
    try {
      return java.util.Base64.getDecoder().decode(base64.trim()).length == 32;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static Path readable(Setting setting, String file) {
    Path path = Path.of(file);
    if (!java.nio.file.Files.isReadable(path)) {
      throw setting.invalid(file, "a readable PEM file");
    }
    return path;
  }

  /** Typed reads of the flat values; each falls back to the key's default. */
  private record Values(JsonObject flat) {
    Object get(Setting setting) {
      return setting.parse(flat.getValue(setting.name()));
    }

    String string(Setting setting) {
      return (String) get(setting);
    }

    boolean bool(Setting setting) {
      return (Boolean) get(setting);
    }

    @SuppressWarnings("unchecked")
    List<String> list(Setting setting) {
      return (List<String>) get(setting);
    }

    int range(Setting setting, int min, int max) {
      int value = (Integer) get(setting);
      if (value < min || value > max) {
        throw setting.invalid(value, "a number from " + min + " to " + max);
      }
      return value;
    }

    long nonNegative(Setting setting) {
      long value = (Long) get(setting);
      if (value < 0) {
        throw setting.invalid(value, "zero or a positive size");
      }
      return value;
    }

    long sizeRange(Setting setting, long min, long max) {
      long value = (Long) get(setting);
      if (value < min || value > max) {
        throw setting.invalid(value, "a size from " + min + " to " + max + " bytes");
      }
      return value;
    }

    long positive(Setting setting) {
      long value = (Long) get(setting);
      if (value <= 0) {
        throw setting.invalid(value, "a positive size");
      }
      return value;
    }
  }

}
