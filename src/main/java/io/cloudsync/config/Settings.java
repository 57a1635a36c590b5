package io.cloudsync.config;

import io.cloudsync.config.Setting.Type;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The one list of configuration keys, their types, defaults and meaning. */
public final class Settings {
  private static final Map<String, Setting> ALL = new LinkedHashMap<>();

  public static final Setting HTTP_HOST = string("http.host", "0.0.0.0", "Address the HTTP server binds to.");
  public static final Setting HTTP_PORT = integer("http.port", 8080, "HTTP port (0 picks a free port).");
  public static final Setting HTTP_INSTANCES = integer("http.instances", 0,
      "Gateway verticle instances (event loops serving HTTP); 0 means one per CPU core.");
  public static final Setting HTTP_TLS_CERT = string("http.tls.cert", "",
      "PEM certificate chain; TLS 1.2/1.3 is on when this and http.tls.key are set.");
  public static final Setting HTTP_TLS_KEY = string("http.tls.key", "", "PEM private key for http.tls.cert.");
  public static final Setting HTTP_CORS_ORIGINS = list("http.cors.origins", List.of(),
      "Browser origins allowed to call the API cross-site (exact, e.g. https://app.example.com); empty allows none.");
  public static final Setting HTTP_BODY_LIMIT_JSON = size("http.body_limit.json", 1L << 20,
      "Largest JSON request body in bytes (suffixes k, m, g); larger answers 413.");
  public static final Setting HTTP_SHUTDOWN_TIMEOUT = integer("http.shutdown_timeout", 30,
      "Seconds in-flight requests may take to finish after SIGTERM before connections are closed.");
  public static final Setting HTTP_TRUSTED_PROXIES = list("http.trusted_proxies", List.of(),
      "Proxies (IPs or CIDRs) whose X-Forwarded-For is believed for the client address; empty believes none.");
  public static final Setting RATELIMIT_ENABLED = bool("ratelimit.enabled", true,
      "Token-bucket rate limiting per user (per client IP before sign-in); Redis-backed when redis.url is set.");
  public static final Setting RATELIMIT_API_PER_MINUTE = integer("ratelimit.api_per_minute", 100,
      "Requests per minute per user (or client IP) across the API.");
  public static final Setting RATELIMIT_AUTH_PER_MINUTE = integer("ratelimit.auth_per_minute", 10,
      "Requests per minute per client IP to sign-in, sign-up, refresh and MFA endpoints.");
  public static final Setting DATA_DIR = string("data_dir", "data",
      "Directory for the embedded PostgreSQL (data_dir/pg) and local chunks (data_dir/blobs).");
  public static final Setting PG_URL = string("pg.url", "",
      "PostgreSQL URL (postgresql://user:password@host:5432/db); empty starts the embedded PostgreSQL.");
  public static final Setting PG_POOL_SIZE = integer("pg.pool_size", 16, "Connections in the PostgreSQL pool.");
  public static final Setting PG_FILES_POOL_SIZE = integer("pg.files_pool_size", 8,
      "Connections of the files role's own PostgreSQL pool, on its own event loop (besides pg.pool_size).");
  public static final Setting PG_EMBEDDED_PORT = integer("pg.embedded_port", 0,
      "Port of the embedded PostgreSQL on 127.0.0.1; 0 picks a free one. Set it to let other local nodes share it.");
  public static final Setting REDIS_URL = string("redis.url", "",
      "Redis URL (redis://host:6379); empty keeps rate limits and the token denylist in-process.");
  public static final Setting KAFKA_BOOTSTRAP = string("kafka.bootstrap", "",
      "Kafka bootstrap servers (host:9092,...); empty turns the change feed off.");
  public static final Setting CHANGEFEED_TOPIC = string("changefeed.topic", "cloudsync.changes",
      "Kafka topic the change feed writes every change to, keyed by space id.");
  public static final Setting CHANGEFEED_POLL_INTERVAL_MS = integer("changefeed.poll_interval_ms", 500,
      "Milliseconds between the relaying node's looks for changes not yet in Kafka.");
  public static final Setting CHANGEFEED_SEND_TIMEOUT_MS = integer("changefeed.send_timeout_ms", 30_000,
      "Milliseconds Kafka has to acknowledge a record; past it the relay backs off and sends again from the stored position.");
  public static final Setting WEBHOOKS_ALLOWLIST = list("webhooks.allowlist", List.of(),
      "Hosts or CIDRs webhook URLs may reach although they are loopback, private, link-local or otherwise internal; "
          + "empty allows public addresses only.");
  public static final Setting WEBHOOKS_MAX_ENDPOINTS = integer("webhooks.max_endpoints", 20,
      "Webhook endpoints one space may have.");
  public static final Setting WEBHOOKS_TIMEOUT_MS = integer("webhooks.timeout_ms", 15_000,
      "Milliseconds a receiver has to connect and answer a delivery; past it the attempt failed.");
  public static final Setting WEBHOOKS_RETRY_SCHEDULE = list("webhooks.retry_schedule",
      List.of("0s", "5s", "5m", "30m", "2h", "5h", "10h", "14h", "20h", "24h"),
      "Delay before each attempt of a delivery (ms, s, m, h, d), the first after the change; "
          + "each later delay is jittered by 10%. After the last attempt fails the delivery is dead.");
  public static final Setting WEBHOOKS_RETRY_AFTER_MAX = integer("webhooks.retry_after_max", 86_400,
      "Most seconds a receiver's Retry-After (on 429 or 503) may postpone the next attempt.");
  public static final Setting WEBHOOKS_SECRET_OVERLAP = integer("webhooks.secret_overlap", 86_400,
      "Seconds the previous secret of an endpoint keeps signing next to the new one after a rotation.");
  public static final Setting WEBHOOKS_POLL_INTERVAL_MS = integer("webhooks.poll_interval_ms", 1000,
      "Milliseconds between a node's looks for new changes and for deliveries that are due.");
  public static final Setting WEBHOOKS_CONCURRENCY = integer("webhooks.concurrency", 16,
      "Deliveries one node sends at once (each to a different endpoint).");
  public static final Setting WEBHOOKS_CIRCUIT_FAILURES = integer("webhooks.circuit_failures", 5,
      "Failed attempts in a row after which an endpoint's deliveries are postponed for webhooks.circuit_cooldown.");
  public static final Setting WEBHOOKS_CIRCUIT_COOLDOWN = integer("webhooks.circuit_cooldown", 60,
      "Seconds an endpoint's deliveries wait once its circuit opened; then one attempt probes it.");
  public static final Setting WEBHOOKS_DISABLE_AFTER = string("webhooks.disable_after", "5d",
      "How long (ms, s, m, h, d) an endpoint may fail without one success before it is disabled and its owners told.");
  public static final Setting WEBHOOKS_LOG_RETENTION = string("webhooks.log_retention", "30d",
      "How long (ms, s, m, h, d) succeeded and dead deliveries stay in the delivery log after their last attempt; pending ones stay until done.");
  public static final Setting WEBHOOKS_TRUSTED_CA = string("webhooks.trusted_ca", "",
      "PEM file of CA certificates that https receivers may be signed by, besides the JVM's trusted authorities.");
  public static final Setting MAIL_HOST = string("mail.host", "",
      "SMTP server that sends CloudSync's e-mail; empty turns e-mail off.");
  public static final Setting MAIL_PORT = integer("mail.port", 587, "SMTP port.");
  public static final Setting MAIL_USERNAME = string("mail.username", "", "SMTP user; empty sends without logging in.");
  public static final Setting MAIL_PASSWORD = string("mail.password", "", "SMTP password.");
  public static final Setting MAIL_FROM = string("mail.from", "cloudsync@localhost", "The From address of CloudSync's mail.");
  public static final Setting MAIL_STARTTLS = choice("mail.starttls", "optional", List.of("disabled", "optional", "required"),
      "STARTTLS on the SMTP connection: disabled, optional (when offered) or required.");
  public static final Setting MAIL_SSL = bool("mail.ssl", false, "Connect to the SMTP server over TLS from the start (port 465).");
  public static final Setting MAIL_MAX_ATTEMPTS = integer("mail.max_attempts", 8,
      "Attempts to send one mail (1 min, then doubling up to 1 h apart) before it is kept as failed.");
  public static final Setting NOTIFICATIONS_BATCH_INTERVAL = string("notifications.batch_interval", "5m",
      "New files in a space are told to an opted-in member in one mail at most this often (ms, s, m, h, d; from 100ms to 1d).");
  public static final Setting BLOB_TYPE = choice("blob.type", "local", List.of("local", "s3"),
      "Where file chunks are stored: local directory or S3-compatible store.");
  public static final Setting BLOB_LOCAL_DIR = string("blob.local.dir", "",
      "Chunk directory for blob.type=local; empty means data_dir/blobs.");
  public static final Setting BLOB_S3_ENDPOINT = string("blob.s3.endpoint", "",
      "S3 endpoint URL for S3-compatible stores; empty uses AWS for blob.s3.region.");
  public static final Setting BLOB_S3_REGION = string("blob.s3.region", "us-east-1", "S3 region.");
  public static final Setting BLOB_S3_BUCKET = string("blob.s3.bucket", "", "S3 bucket (must exist).");
  public static final Setting BLOB_S3_ACCESS_KEY = string("blob.s3.access_key", "",
      "S3 access key; empty uses the AWS default credential chain.");
  public static final Setting BLOB_S3_SECRET_KEY = string("blob.s3.secret_key", "", "S3 secret key.");
  public static final Setting BLOB_S3_PATH_STYLE = bool("blob.s3.path_style", false,
      "Path-style bucket addressing (most S3-compatible servers want true).");
  public static final Setting CLUSTER = bool("cluster", false,
      "Join a Hazelcast cluster (cluster.xml) instead of running a single local Vert.x.");
  public static final Setting CLUSTER_MEMBERS = list("cluster_members", List.of(),
      "Hazelcast TCP-IP members (host or host:port); empty keeps the members of cluster.xml.");
  public static final Setting CLUSTER_HOST = string("cluster_host", "",
      "Address this node's Hazelcast and event bus bind to and announce; empty lets Hazelcast choose.");
  public static final Setting CLUSTER_PORT = integer("cluster_port", 5701,
      "Hazelcast port (the next free one is taken when it is in use).");
  public static final Setting ROLES = list("roles", List.of("all"),
      "Which verticles this process runs: any of " + String.join(", ", Role.names()) + ", or all.");
  public static final Setting FILES_MAX_FILE_SIZE = size("files.max_file_size", 5L << 30,
      "Largest file in bytes (suffixes k, m, g); larger uploads answer 413 before their body is read.");
  public static final Setting FILES_FOLDER_ENTRY_LIMIT = integer("files.folder_entry_limit", 10_000,
      "Most entries (files and folders, trash excluded) one folder may hold.");
  public static final Setting FILES_USER_QUOTA = size("files.user_quota", 0,
      "Bytes of file and document content (all kept versions) each user may own across their spaces; 0 means no quota.");
  public static final Setting FILES_TRASH_RETENTION_DAYS = integer("files.trash_retention_days", 30,
      "Days a deleted node stays in the trash before it is purged for good.");
  public static final Setting DOCS_MAX_SIZE = size("docs.max_size", 1L << 20,
      "Largest JSON document in bytes, as stored (compact UTF-8); larger answers 413 document_too_large.");
  public static final Setting DOCS_MAX_VERSIONS = integer("docs.max_versions", 100,
      "Versions kept per document, newest first; older ones are dropped as new ones are written.");
  public static final Setting DOCS_CHANGE_INLINE_MAX = size("docs.change_inline_max", 32L << 10,
      "Largest document patch or content a change entry carries, in bytes; past it the entry says to re-read.");
  public static final Setting UPLOADS_EXPIRE_HOURS = integer("uploads.expire_hours", 24,
      "Hours an unfinished resumable (tus) upload is kept after its last byte arrived.");
  public static final Setting SYNC_PING_INTERVAL = integer("sync.ping_interval", 25,
      "Seconds between the server's keep-alives: WebSocket pings on /api/v1/sync, SockJS heartbeats on /eventbus.");
  public static final Setting SYNC_IDLE_TIMEOUT = integer("sync.idle_timeout", 75,
      "Seconds a live client may stay silent before it is disconnected: no frame (pongs included) on /api/v1/sync, "
          + "no bridge ping on /eventbus (the stock client pings every 5 s).");
  public static final Setting SYNC_MAX_SESSION = integer("sync.max_session", 86_400,
      "Seconds a /api/v1/sync connection lives at most; the client then reconnects with its cursors.");
  public static final Setting SYNC_MAX_SUBSCRIPTIONS = integer("sync.max_subscriptions", 200,
      "Spaces one /api/v1/sync connection may subscribe to, or one /eventbus connection register for.");
  public static final Setting SYNC_MAX_MESSAGE = size("sync.max_message", 64L << 10,
      "Largest WebSocket message a client may send in bytes; larger closes the connection with 1009.");
  public static final Setting SYNC_SEND_QUEUE = size("sync.send_queue", 256L << 10,
      "Bytes of changes queued for one slow live connection before the server stops writing to it.");
  public static final Setting SYNC_SLOW_CONSUMER_TIMEOUT = integer("sync.slow_consumer_timeout", 10,
      "Seconds a live connection's send queue may stay full before the client is disconnected with its cursors.");
  public static final Setting SYNC_LONG_POLL_MAX = integer("sync.long_poll_max", 60,
      "Largest wait (seconds) a GET /changes long-poll may ask for.");
  public static final Setting SYNC_MAX_FILTERED_SUBSCRIPTIONS = integer("sync.max_filtered_subscriptions", 10,
      "Subscriptions of one live connection that may use path_prefix, types or snapshot (each holds its space's "
          + "folder tree in memory).");
  public static final Setting SYNC_MAX_PREFIX_LENGTH = integer("sync.max_prefix_length", 1024,
      "Longest path_prefix a live subscription may name, in characters.");
  public static final Setting SYNC_MAX_TRACKED_FOLDERS = integer("sync.max_tracked_folders", 20_000,
      "Folders a space may hold for a filtered or snapshot subscription to it (each costs a few hundred bytes per "
          + "such subscription); larger spaces refuse them.");
  public static final Setting SYNC_PRESENCE_MAX_STATE = size("sync.presence_max_state", 1024,
      "Largest presence state (the JSON a client sets, e.g. the node it edits) in bytes.");
  public static final Setting SYNC_PRESENCE_MAX_MEMBERS = integer("sync.presence_max_members", 256,
      "Most connections present in one space at a time; more are refused presence (they still get changes).");
  public static final Setting SYNC_PRESENCE_HEARTBEAT = integer("sync.presence_heartbeat", 5,
      "Seconds between a node's re-announcements of the presence entries of its connections.");
  public static final Setting SYNC_PRESENCE_TIMEOUT = integer("sync.presence_timeout", 15,
      "Seconds after which a presence entry that was not re-announced (its node died) is dropped with a leave.");
  public static final Setting STORAGE_MASTER_KEY = string("storage.master_key", "",
      "Base64 of 32 random bytes: the AES-256 master key that wraps each chunk's data key. Empty generates one, "
          + "stored in PostgreSQL; set it in production and keep it apart from the database.");
  public static final Setting STORAGE_MASTER_KEY_ID = string("storage.master_key_id", "k1",
      "Id recorded with every chunk encrypted under storage.master_key; change it when you change the key.");
  public static final Setting STORAGE_PREVIOUS_MASTER_KEYS = list("storage.previous_master_keys", List.of(),
      "Earlier master keys as id:base64, so chunks written under them stay readable after a rotation.");
  public static final Setting AUTH_ISSUER = string("auth.issuer", "cloudsync",
      "The iss claim of access tokens; set it to the public URL of the installation.");
  public static final Setting AUTH_AUDIENCE = string("auth.audience", "cloudsync-api", "The aud claim of access tokens.");
  public static final Setting AUTH_ACCESS_TOKEN_TTL = integer("auth.access_token_ttl", 900,
      "Seconds an access token is valid.");
  public static final Setting AUTH_REFRESH_TOKEN_TTL = integer("auth.refresh_token_ttl", 2_592_000,
      "Seconds a sign-in (refresh token family) lasts at most, however often it is refreshed.");
  public static final Setting AUTH_SIGNING_KEY = string("auth.signing_key", "",
      "PEM file with an EC P-256 private key (PKCS#8) that signs access tokens (ES256); empty generates one, "
          + "stored in PostgreSQL. A new file rotates: earlier keys keep verifying until their tokens expire.");
  public static final Setting AUTH_ADMIN_EMAILS = list("auth.admin_emails", List.of(),
      "Emails that get the admin role when they sign up (the first account is always admin).");
  public static final Setting AUTH_OAUTH_REDIRECT_BASE = string("auth.oauth.redirect_base", "",
      "Public base URL of this server (https://sync.example.com); provider callbacks are "
          + "<base>/api/v1/auth/oauth/<provider>/callback. Required for OAuth sign-in.");
  public static final Setting AUTH_OAUTH_SUCCESS_URL = string("auth.oauth.success_url", "/",
      "Where the browser goes after an OAuth sign-in; tokens follow in the URL fragment.");
  public static final Setting AUTH_GOOGLE_CLIENT_ID = string("auth.google.client_id", "", "Google OAuth client id; empty turns Google sign-in off.");
  public static final Setting AUTH_GOOGLE_CLIENT_SECRET = string("auth.google.client_secret", "", "Google OAuth client secret.");
  public static final Setting AUTH_GITHUB_CLIENT_ID = string("auth.github.client_id", "", "GitHub OAuth app client id; empty turns GitHub sign-in off.");
  public static final Setting AUTH_GITHUB_CLIENT_SECRET = string("auth.github.client_secret", "", "GitHub OAuth app client secret.");
  public static final Setting AUTH_GITHUB_SITE = string("auth.github.site", "https://github.com", "GitHub (Enterprise) web URL.");
  public static final Setting AUTH_GITHUB_API = string("auth.github.api", "https://api.github.com", "GitHub (Enterprise) API URL.");
  public static final Setting AUTH_OIDC_ISSUER = string("auth.oidc.issuer", "",
      "Issuer URL of any OpenID Connect provider (found by discovery); empty turns the oidc provider off.");
  public static final Setting AUTH_OIDC_CLIENT_ID = string("auth.oidc.client_id", "", "OIDC client id.");
  public static final Setting AUTH_OIDC_CLIENT_SECRET = string("auth.oidc.client_secret", "", "OIDC client secret.");
  public static final Setting LOG_FORMAT = choice("log.format", "text", List.of("text", "json"),
      "Log line format on standard output.");
  public static final Setting LOG_LEVEL = choice("log.level", "info",
      List.of("trace", "debug", "info", "warn", "error"), "Level of CloudSync's own loggers.");

  private Settings() {
  }

  public static Map<String, Setting> all() {
    return ALL;
  }

  private static Setting add(Setting setting) {
    ALL.put(setting.name(), setting);
    return setting;
  }

  private static Setting string(String name, String def, String text) {
    return add(new Setting(name, Type.STRING, def, text, List.of()));
  }

  private static Setting integer(String name, int def, String text) {
    return add(new Setting(name, Type.INT, def, text, List.of()));
  }

  private static Setting size(String name, long def, String text) {
    return add(new Setting(name, Type.LONG, def, text, List.of()));
  }

  private static Setting bool(String name, boolean def, String text) {
    return add(new Setting(name, Type.BOOL, def, text, List.of()));
  }

  private static Setting list(String name, List<String> def, String text) {
    return add(new Setting(name, Type.LIST, def, text, List.of()));
  }

  private static Setting choice(String name, String def, List<String> choices, String text) {
    return add(new Setting(name, Type.CHOICE, def, text, choices));
  }
}
