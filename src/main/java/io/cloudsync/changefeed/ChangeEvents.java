package io.cloudsync.changefeed;

import io.vertx.core.json.JsonObject;

/**
 * A change as the change feed sends it: a CloudEvents 1.0 event in the JSON format (structured
 * mode), whose {@code data} is the change exactly as {@code GET …/changes} shows it.
 */
public final class ChangeEvents {
  /** The Kafka {@code content-type} header of a structured-mode CloudEvent. */
  public static final String CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8";
  public static final String TYPE_PREFIX = "io.cloudsync.change.";

  private ChangeEvents() {
  }

  /** The {@code source} of every event of one installation. */
  public static String source(String installationId) {
    return "cloudsync/" + installationId;
  }

  /** The event of one change; {@code source + id} is unique, as CloudEvents requires. */
  public static JsonObject of(JsonObject change, String source) {
    String space = change.getString("space");
    long seq = change.getLong("seq");
    return new JsonObject()
        .put("specversion", "1.0")
        .put("id", space + ":" + seq)
        .put("source", source)
        .put("type", TYPE_PREFIX + change.getString("kind"))
        .put("subject", space)
        .put("time", change.getString("at"))
        .put("datacontenttype", "application/json")
        .put("sequence", sequence(seq))
        .put("data", change);
  }

  /**
   * The CloudEvents sequence extension is a string whose lexicographic order is the order of the
   * events; zero-padding to the width of the largest bigint makes string order the number order.
   */
  public static String sequence(long seq) {
    return String.format("%019d", seq);
  }
}
