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

  private Addresses() {
  }
}
