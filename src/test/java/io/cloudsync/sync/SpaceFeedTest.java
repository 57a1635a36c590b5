package io.cloudsync.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.bus.Addresses;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The live feed of one event loop")
class SpaceFeedTest {
  private static Vertx vertx;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  /** A feed made on an event loop of its own, with no database (the periodic check is not started). */
  private static SpaceFeed feed() {
    return vertx.getOrCreateContext().<SpaceFeed>executeBlocking(() -> new SpaceFeed(vertx, null)).await();
  }

  private static void publish(String space, long seq) {
    vertx.eventBus().publish(Addresses.SYNC_SPACE_PREFIX + space, new JsonObject().put("space", space)
        .put("seq", seq).put("kind", "created").put("v", 1));
  }

  private static void awaitCount(List<?> list, int count) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 5000;
    while (list.size() < count && System.currentTimeMillis() < deadline) {
      Thread.sleep(10);
    }
    assertThat(list).hasSize(count);
  }

  private static SpaceFeed.Listener collecting(List<Long> seqs) {
    return new SpaceFeed.Listener() {
      @Override
      public void change(SpaceFeed.LiveChange change) {
        seqs.add(change.seq());
      }

      @Override
      public void head(long seq) {
      }

      @Override
      public void notice(String type) {
      }
    };
  }

  @Test
  @DisplayName("hand changes over in order when publishes overtake each other, and a change whose predecessor never comes after a moment")
  void overtaking() throws Exception {
    SpaceFeed feed = feed();
    String space = UUID.randomUUID().toString();
    List<Long> seqs = new CopyOnWriteArrayList<>();
    feed.listen(space, collecting(seqs)).await();
    publish(space, 1);
    publish(space, 3);
    publish(space, 2);
    awaitCount(seqs, 3);
    assertThat(seqs).containsExactly(1L, 2L, 3L);

    long start = System.nanoTime();
    publish(space, 5);
    awaitCount(seqs, 4);
    assertThat(seqs).containsExactly(1L, 2L, 3L, 5L);
    assertThat((System.nanoTime() - start) / 1_000_000).as("waited for 4 first")
        .isGreaterThanOrEqualTo(SpaceFeed.REORDER_MILLIS - 50);
    publish(space, 4);
    awaitCount(seqs, 5);
    assertThat(seqs).as("a late one still reaches listeners, which drop what they already have")
        .containsExactly(1L, 2L, 3L, 5L, 4L);
  }
}
