package io.cloudsync.changefeed;

import io.cloudsync.files.ChangeLog;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.kafka.client.producer.KafkaProducer;
import io.vertx.kafka.client.producer.KafkaProducerRecord;
import io.vertx.kafka.client.producer.RecordMetadata;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlClient;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One round of relaying the change log to Kafka: find spaces whose log is ahead of what was
 * relayed, read their next changes in seq order, send them, wait for every acknowledgement, then
 * move each space's stored position up to its last change that Kafka acknowledged with all before
 * it. A change is never counted as relayed unless Kafka has it, so a failure anywhere means sending
 * again from the stored position: at least once, in order per space.
 *
 * <p>Spaces are visited round-robin by id, so a busy space cannot keep the others waiting.
 */
public final class Relay {
  /** At most 5,000 changes a round: every space looked at gets its next changes in the same round. */
  static final int SPACES_PER_ROUND = 50;
  static final int CHANGES_PER_SPACE = 100;
  private static final String FIRST_SPACE = "00000000-0000-0000-0000-000000000000";

  /**
   * What a round did: {@code relayed} changes acknowledged and recorded; {@code more} when work may
   * be waiting right away; {@code failure} the first send Kafka did not acknowledge, or null.
   */
  public record Outcome(int relayed, boolean more, Throwable failure) {
  }

  private final String topic;
  private final String source;
  /** Where the next round's look for pending spaces starts (exclusive). */
  private String resumeAfter = FIRST_SPACE;

  public Relay(String topic, String source) {
    this.topic = topic;
    this.source = source;
  }

  /**
   * Runs one round with the statements on {@code db} (the connection holding the relay lock).
   * Fails when the database fails; a Kafka failure is reported in the outcome after the
   * acknowledged part has been recorded.
   */
  public Future<Outcome> round(SqlClient db, KafkaProducer<String, String> producer) {
    return pending(db).compose(pending -> {
      Future<Outcome> relayed = pending.spaces().isEmpty()
          ? Future.succeededFuture(new Outcome(0, pending.lapGoesOn(), null))
          : readChanges(db, pending.spaces(), pending.positions())
              .compose(changes -> changes.isEmpty() ? Future.succeededFuture(new Outcome(0, pending.lapGoesOn(), null))
                  : send(producer, changes).compose(acks -> recordAcknowledged(db, changes, acks)));
      return relayed.onSuccess(outcome -> {
        // After a failure the same spaces come first again.
        if (outcome.failure() == null) {
          resumeAfter = pending.resumeAfter();
        }
      });
    });
  }

  /**
   * The next spaces of the lap whose log is ahead of their relayed position; {@code lapGoesOn}
   * when spaces after them, or before the cursor, may have changes waiting too.
   */
  private record Pending(List<UUID> spaces, List<Long> positions, String resumeAfter, boolean lapGoesOn) {
  }

  private Future<Pending> pending(SqlClient db) {
    boolean fromStart = resumeAfter.equals(FIRST_SPACE);
    return db.preparedQuery("SELECT s.id::text AS id, coalesce(p.seq, 0) AS relayed FROM spaces s "
            + "LEFT JOIN changefeed_positions p ON p.space_id = s.id "
            + "WHERE s.next_seq > coalesce(p.seq, 0) AND s.id > $1::uuid ORDER BY s.id LIMIT $2")
        .execute(Tuple.of(resumeAfter, SPACES_PER_ROUND))
        .map(rows -> {
          boolean lapDone = rows.size() < SPACES_PER_ROUND;
          String last = resumeAfter;
          List<UUID> spaces = new ArrayList<>();
          List<Long> positions = new ArrayList<>();
          for (Row row : rows) {
            last = row.getString("id");
            spaces.add(UUID.fromString(last));
            positions.add(row.getLong("relayed"));
          }
          return new Pending(spaces, positions, lapDone ? FIRST_SPACE : last, !lapDone || !fromStart);
        });
  }

  private Future<List<JsonObject>> readChanges(SqlClient db, List<UUID> spaces, List<Long> positions) {
    return db.preparedQuery("SELECT c.* FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS p(space, relayed, ord) "
            + "CROSS JOIN LATERAL (SELECT " + ChangeLog.COLUMNS + " FROM changes "
            + "WHERE space_id = p.space AND seq > p.relayed ORDER BY seq LIMIT $3) c "
            + "ORDER BY p.ord, c.seq")
        .execute(Tuple.tuple().addArrayOfUUID(spaces.toArray(UUID[]::new)).addArrayOfLong(positions.toArray(Long[]::new))
            .addInteger(CHANGES_PER_SPACE))
        .map(rows -> {
          List<JsonObject> changes = new ArrayList<>(rows.size());
          for (Row row : rows) {
            changes.add(ChangeLog.toJson(row));
          }
          return changes;
        });
  }

  /** Sends every change and completes when each send has succeeded or failed, never early. */
  private Future<List<Future<RecordMetadata>>> send(KafkaProducer<String, String> producer, List<JsonObject> changes) {
    // Asking for the topic's partitions first makes a broker outage cost one metadata wait, not
    // one per record: a send without metadata blocks until it arrives.
    return producer.partitionsFor(topic).map(partitions -> {
      List<Future<RecordMetadata>> acks = new ArrayList<>(changes.size());
      for (JsonObject change : changes) {
        KafkaProducerRecord<String, String> record = KafkaProducerRecord.create(topic, change.getString("space"),
            ChangeEvents.of(change, source).encode());
        record.addHeader("content-type", ChangeEvents.CONTENT_TYPE);
        acks.add(producer.send(record));
      }
      return acks;
    }).compose(acks -> Future.join(acks).transform(done -> Future.succeededFuture(acks)));
  }

  /** Moves each space's position to its last change acknowledged with all before it, in one statement. */
  private Future<Outcome> recordAcknowledged(SqlClient db, List<JsonObject> changes, List<Future<RecordMetadata>> acks) {
    Map<String, Long> reached = new LinkedHashMap<>();
    Map<String, Boolean> blocked = new LinkedHashMap<>();
    Throwable failure = null;
    int relayed = 0;
    for (int i = 0; i < changes.size(); i++) {
      String space = changes.get(i).getString("space");
      Future<RecordMetadata> ack = acks.get(i);
      if (ack.failed()) {
        blocked.put(space, true);
        failure = failure == null ? ack.cause() : failure;
      } else if (!blocked.containsKey(space)) {
        reached.put(space, changes.get(i).getLong("seq"));
        relayed++;
      }
    }
    // After a clean round more may have been written meanwhile; after a failure, back off.
    Outcome outcome = new Outcome(relayed, failure == null, failure);
    if (reached.isEmpty()) {
      return Future.succeededFuture(outcome);
    }
    return advance(db, reached).map(outcome);
  }

  private static Future<RowSet<Row>> advance(SqlClient db, Map<String, Long> reached) {
    // Joined with spaces so that a space removed meanwhile is skipped, not a foreign-key failure.
    return db.preparedQuery("INSERT INTO changefeed_positions (space_id, seq) "
            + "SELECT u.space, u.seq FROM unnest($1::uuid[], $2::bigint[]) AS u(space, seq) JOIN spaces s ON s.id = u.space "
            + "ON CONFLICT (space_id) DO UPDATE SET seq = greatest(changefeed_positions.seq, excluded.seq)")
        // Built value by value: Tuple.of(array, array) would spread the second array as varargs.
        .execute(Tuple.tuple().addArrayOfUUID(reached.keySet().stream().map(UUID::fromString).toArray(UUID[]::new))
            .addArrayOfLong(reached.values().toArray(Long[]::new)));
  }
}
