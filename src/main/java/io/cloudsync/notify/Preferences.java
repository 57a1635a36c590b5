package io.cloudsync.notify;

import io.cloudsync.auth.Access;
import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/**
 * A user's e-mail notification preferences. Being told that a space was shared with you needs no
 * opt-in; mail about new files in spaces shared with you does ({@code new_files}).
 */
public final class Preferences {
  private final Pool pool;
  private final boolean mailEnabled;

  public Preferences(Pool pool, boolean mailEnabled) {
    this.pool = pool;
    this.mailEnabled = mailEnabled;
  }

  /** {@code {actor}} → {@code {new_files, mail_enabled}}. */
  public Future<JsonObject> get(JsonObject request) {
    String user = request.getString("actor");
    if (!Access.isUuid(user)) {
      return Future.failedFuture(new ApiException(ErrorCode.UNAUTHORIZED, "Sign in first"));
    }
    return pool.preparedQuery("SELECT new_files FROM notification_preferences WHERE user_id = $1::uuid")
        .execute(Tuple.of(user))
        .map(rows -> answer(rows.size() == 1 && rows.iterator().next().getBoolean("new_files")));
  }

  /** {@code {actor, new_files}} → {@code {new_files, mail_enabled}}. */
  public Future<JsonObject> set(JsonObject request) {
    String user = request.getString("actor");
    if (!Access.isUuid(user)) {
      return Future.failedFuture(new ApiException(ErrorCode.UNAUTHORIZED, "Sign in first"));
    }
    if (!(request.getValue("new_files") instanceof Boolean newFiles)) {
      return Future.failedFuture(new ApiException(ErrorCode.VALIDATION_FAILED, "new_files must be true or false"));
    }
    return pool.preparedQuery("INSERT INTO notification_preferences (user_id, new_files) VALUES ($1::uuid, $2) "
            + "ON CONFLICT (user_id) DO UPDATE SET new_files = $2, updated_at = now()")
        .execute(Tuple.of(user, newFiles))
        .map(rows -> answer(newFiles));
  }

  private JsonObject answer(boolean newFiles) {
    return new JsonObject().put("new_files", newFiles).put("mail_enabled", mailEnabled);
  }
}
