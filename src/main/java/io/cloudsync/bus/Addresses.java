package io.cloudsync.bus;

/** Every event-bus address CloudSync uses, in one place. */
public final class Addresses {
  /** Installation facts from the metadata role: id, schema version, nodes. */
  public static final String METADATA_INFO = "cloudsync.metadata.info";

  /** Published: a token or all of a user's tokens were revoked (nodes without Redis apply it locally). */
  public static final String AUTH_REVOKED = "cloudsync.auth.revoked";
  /** Published: signing keys changed; every node reloads them. */
  public static final String AUTH_KEYS_CHANGED = "cloudsync.auth.keys-changed";

  public static final String AUTH_SIGNUP = "cloudsync.auth.signup";
  public static final String AUTH_TOKEN = "cloudsync.auth.token";
  public static final String AUTH_REFRESH = "cloudsync.auth.refresh";
  public static final String AUTH_LOGOUT = "cloudsync.auth.logout";
  public static final String AUTH_ME = "cloudsync.auth.me";
  public static final String AUTH_MFA_SETUP = "cloudsync.auth.mfa.setup";
  public static final String AUTH_MFA_VERIFY = "cloudsync.auth.mfa.verify";
  public static final String AUTH_ADMIN_USERS = "cloudsync.auth.admin.users";
  public static final String AUTH_ADMIN_SET_DISABLED = "cloudsync.auth.admin.set-disabled";
  public static final String AUTH_ADMIN_ROTATE_KEYS = "cloudsync.auth.admin.rotate-keys";
  public static final String AUTH_OAUTH_START = "cloudsync.auth.oauth.start";
  public static final String AUTH_OAUTH_CALLBACK = "cloudsync.auth.oauth.callback";

  // --- files metadata (MetadataVerticle) ---------------------------------------------------------
  /** Published after commit: one change of space {@code <id>} on {@code SYNC_SPACE_PREFIX + id}. */
  public static final String SYNC_SPACE_PREFIX = "cloudsync.sync.space.";
  /** Published: presence joins, updates, leaves, heartbeats and queries of space {@code <id>} (io.cloudsync.sync.Presence). */
  public static final String PRESENCE_SPACE_PREFIX = "cloudsync.presence.space.";
  /** One event loop's presence inbox: answers to its presence queries. */
  public static final String PRESENCE_INBOX_PREFIX = "cloudsync.presence.inbox.";
  /** Commits a file version: {actor, space, node_id | parent_id + name | path, base_version?, size, sha256, chunks, chunk_sizes, check_chunk_access?}. */
  public static final String METADATA_COMMIT = "cloudsync.metadata.commit";
  /** The manifest of a file version: {actor, space, node, version?}. */
  public static final String METADATA_CONTENT = "cloudsync.metadata.content";
  /** {actor, hashes} → {missing}: hashes the actor may not reference yet. */
  public static final String METADATA_MISSING_CHUNKS = "cloudsync.metadata.missing-chunks";
  /** {actor, hashes} → {}: the actor uploaded these chunks and may reference them. */
  public static final String METADATA_GRANT_CHUNKS = "cloudsync.metadata.grant-chunks";
  /** Runs the trash retention purge and chunk collection now: {} → {purged, chunks_deleted}. */
  public static final String METADATA_PURGE_EXPIRED = "cloudsync.metadata.purge-expired";
  public static final String SPACES_CREATE = "cloudsync.metadata.spaces.create";
  public static final String SPACES_LIST = "cloudsync.metadata.spaces.list";
  public static final String SPACES_GET = "cloudsync.metadata.spaces.get";
  public static final String SPACES_UPDATE = "cloudsync.metadata.spaces.update";
  public static final String SPACES_DELETE = "cloudsync.metadata.spaces.delete";
  public static final String SPACES_MEMBERS = "cloudsync.metadata.spaces.members";
  public static final String SPACES_SHARE = "cloudsync.metadata.spaces.share";
  public static final String SPACES_UNSHARE = "cloudsync.metadata.spaces.unshare";
  public static final String SPACES_CHANGES = "cloudsync.metadata.spaces.changes";
  public static final String NODES_LIST = "cloudsync.metadata.nodes.list";
  public static final String NODES_CREATE_FOLDER = "cloudsync.metadata.nodes.create-folder";
  public static final String NODES_GET = "cloudsync.metadata.nodes.get";
  public static final String NODES_UPDATE = "cloudsync.metadata.nodes.update";
  public static final String NODES_DELETE = "cloudsync.metadata.nodes.delete";
  public static final String NODES_RESTORE = "cloudsync.metadata.nodes.restore";
  public static final String NODES_COPY = "cloudsync.metadata.nodes.copy";
  public static final String NODES_TRASH = "cloudsync.metadata.nodes.trash";
  public static final String NODES_VERSIONS = "cloudsync.metadata.nodes.versions";
  public static final String NODES_RESTORE_VERSION = "cloudsync.metadata.nodes.restore-version";
  public static final String NODES_SEARCH = "cloudsync.metadata.nodes.search";

  /** Creates or replaces the document at a path: {actor, space, path, content, if_match?} → {node, content, created}. */
  public static final String DOCS_PUT = "cloudsync.metadata.docs.put";
  /** The document at a path or with an id: {actor, space, path | node, version?} → {node, content}. */
  public static final String DOCS_GET = "cloudsync.metadata.docs.get";
  /** Applies a JSON merge patch: {actor, space, node, patch, if_match?} → {node, content}. */
  public static final String DOCS_PATCH = "cloudsync.metadata.docs.patch";
  /** Documents by equality on top-level fields: {actor, space, path_prefix?, where, limit?, cursor?}. */
  public static final String DOCS_QUERY = "cloudsync.metadata.docs.query";

  // --- webhooks (WebhooksVerticle); each request carries {actor, space} ---------------------------
  /** {url, events?, enabled?} → the endpoint with its secret. */
  public static final String WEBHOOKS_CREATE = "cloudsync.webhooks.create";
  public static final String WEBHOOKS_LIST = "cloudsync.webhooks.list";
  /** {id}. */
  public static final String WEBHOOKS_GET = "cloudsync.webhooks.get";
  /** {id, url?, events?, enabled?}. */
  public static final String WEBHOOKS_UPDATE = "cloudsync.webhooks.update";
  public static final String WEBHOOKS_DELETE = "cloudsync.webhooks.delete";
  /** {id} → {id, secret, previous_secret_expires_at}. */
  public static final String WEBHOOKS_ROTATE_SECRET = "cloudsync.webhooks.rotate-secret";
  /** {id, status?, limit?, cursor?} → {deliveries, cursor, has_more}. */
  public static final String WEBHOOKS_DELIVERIES = "cloudsync.webhooks.deliveries";
  /** {id, delivery} → the delivery, due now. */
  public static final String WEBHOOKS_REPLAY = "cloudsync.webhooks.replay";

  // --- audit (AuthVerticle); each request carries {actor} -----------------------------------------
  /** {space, by?, kind?, from?, to?, limit?, cursor?} → {entries, cursor, has_more}: the space's change log. */
  public static final String AUDIT_SPACE = "cloudsync.audit.space";
  /** {by?, kind?, filter_space?, from?, to?, limit?, cursor?} → {entries, cursor, has_more}: admins only. */
  public static final String AUDIT_ADMIN = "cloudsync.audit.admin";

  // --- e-mail notification preferences (WebhooksVerticle) -----------------------------------------
  /** {} → {new_files, mail_enabled}. */
  public static final String NOTIFICATIONS_GET = "cloudsync.notifications.get";
  /** {new_files} → {new_files, mail_enabled}. */
  public static final String NOTIFICATIONS_SET = "cloudsync.notifications.set";

  private Addresses() {
  }
}
