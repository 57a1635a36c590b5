package io.cloudsync.notify;

import io.vertx.core.Future;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;

/**
 * Queues mail in {@code mail_outbox}, inside the caller's transaction, so a mail exists exactly when
 * the event it tells of was committed. Does nothing while e-mail is off ({@code mail.host} empty):
 * nothing piles up that would be sent, stale, once it is turned on.
 */
public final class MailOutbox {
  private final boolean enabled;

  public MailOutbox(boolean enabled) {
    this.enabled = enabled;
  }

  /** Tells the endpoint's creator and the space's owner of record that the endpoint was disabled, and why. */
  public Future<Void> endpointDisabled(SqlClient conn, String endpointId, String reason) {
    if (!enabled) {
      return Future.succeededFuture();
    }
    return conn.preparedQuery("INSERT INTO mail_outbox (kind, recipient, subject, body) "
            + "SELECT DISTINCT 'webhook_disabled', u.email, 'CloudSync: a webhook of \"' || s.name || '\" was disabled', "
            + "format(E'The webhook endpoint %s of the space \"%s\" was disabled: %s.\\n\\n'"
            + " || E'Deliveries to it stop until it is enabled again. Once the receiver works, enable it with\\n'"
            + " || E'PATCH /api/v1/spaces/%s/webhooks/%s {\"enabled\": true}\\n', e.url, s.name, $2::text, s.id, e.id) "
            + "FROM webhook_endpoints e JOIN spaces s ON s.id = e.space_id "
            + "JOIN users u ON u.id = e.created_by OR u.id = s.owner_id "
            + "WHERE e.id = $1::uuid AND u.disabled_at IS NULL")
        .execute(Tuple.of(endpointId, reason))
        .mapEmpty();
  }
}
