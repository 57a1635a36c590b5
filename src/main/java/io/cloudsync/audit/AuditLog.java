package io.cloudsync.audit;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * Writes entries of the installation-wide audit trail ({@code audit_events}, append-only in the
 * database). Callers pass the connection of the transaction that makes the change when there is
 * one, so the change and its entry commit together or not at all. The {@code space.shared} and
 * {@code space.unshared} entries are not written here but by a trigger on the change log.
 */
public final class AuditLog {
  public static final String LOGIN = "auth.login";
  public static final String LOGIN_FAILED = "auth.login_failed";
  public static final String MFA_ENABLED = "auth.mfa_enabled";
  public static final String MFA_SETUP = "auth.mfa_setup";
  public static final String TOKEN_REVOKED = "auth.token_revoked";
  public static final String USER_DISABLED = "admin.user_disabled";
  public static final String USER_ENABLED = "admin.user_enabled";
  public static final String KEYS_ROTATED = "admin.keys_rotated";
  public static final String WEBHOOK_CREATED = "webhook.created";
  public static final String WEBHOOK_UPDATED = "webhook.updated";
  public static final String WEBHOOK_DELETED = "webhook.deleted";
  public static final String WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated";
  public static final String WEBHOOK_DISABLED = "webhook.disabled";

  private AuditLog() {
  }

  /** One audit entry; any of actor, space, target and ip may be null. */
  public record Entry(String kind, String actor, String space, String target, String ip, JsonObject details) {
    public Entry {
      details = details == null ? new JsonObject() : details;
    }
  }

  public static Future<Void> append(SqlClient client, Entry entry) {
    return client.preparedQuery("INSERT INTO audit_events (kind, actor, space_id, target, ip, details) "
            + "VALUES ($1, $2::uuid, $3::uuid, $4, $5, $6::jsonb)")
        .execute(Tuple.of(entry.kind(), entry.actor(), entry.space(), entry.target(), entry.ip(), entry.details()))
        .mapEmpty();
  }
}
