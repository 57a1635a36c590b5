package io.cloudsync.changefeed;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Change events")
class ChangeEventsTest {
  @Test
  @DisplayName("carry a sequence whose text order is the order of the changes, as the CloudEvents extension requires")
  void sequenceSortsAsText() {
    List<Long> seqs = List.of(1L, 9L, 10L, 99L, 100L, 123_456_789L, Long.MAX_VALUE);
    List<String> texts = new ArrayList<>(seqs.stream().map(ChangeEvents::sequence).toList());
    List<String> sorted = new ArrayList<>(texts);
    sorted.sort(String::compareTo);

    assertThat(sorted).isEqualTo(texts);
    assertThat(texts).allSatisfy(text -> assertThat(text).hasSize(19));
    assertThat(texts).extracting(Long::parseLong).isEqualTo(seqs);
  }
}
