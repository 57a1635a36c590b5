package io.cloudsync.files;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("JSON merge patch and the fields it touches")
class MergePatchTest {
  @ParameterizedTest(name = "{0} patched with {1} is {2}")
  @DisplayName("applies every example of RFC 7396 appendix A")
  @CsvSource(delimiter = '|', value = {
      "{\"a\":\"b\"}|{\"a\":\"c\"}|{\"a\":\"c\"}",
      "{\"a\":\"b\"}|{\"b\":\"c\"}|{\"a\":\"b\",\"b\":\"c\"}",
      "{\"a\":\"b\"}|{\"a\":null}|{}",
      "{\"a\":\"b\",\"b\":\"c\"}|{\"a\":null}|{\"b\":\"c\"}",
      "{\"a\":[\"b\"]}|{\"a\":\"c\"}|{\"a\":\"c\"}",
      "{\"a\":\"c\"}|{\"a\":[\"b\"]}|{\"a\":[\"b\"]}",
      "{\"a\":{\"b\":\"c\"}}|{\"a\":{\"b\":\"d\",\"c\":null}}|{\"a\":{\"b\":\"d\"}}",
      "{\"a\":[{\"b\":\"c\"}]}|{\"a\":[1]}|{\"a\":[1]}",
      "[\"a\",\"b\"]|[\"c\",\"d\"]|[\"c\",\"d\"]",
      "{\"a\":\"b\"}|[\"c\"]|[\"c\"]",
      "{\"a\":\"foo\"}|null|null",
      "{\"a\":\"foo\"}|\"bar\"|\"bar\"",
      "{\"e\":null}|{\"a\":1}|{\"e\":null,\"a\":1}",
      "[1,2]|{\"a\":\"b\",\"c\":null}|{\"a\":\"b\"}",
      "{}|{\"a\":{\"bb\":{\"ccc\":null}}}|{\"a\":{\"bb\":{}}}"})
  void rfcExamples(String target, String patch, String result) {
    assertThat(MergePatch.apply(Json.decodeValue(target), Json.decodeValue(patch))).isEqualTo(Json.decodeValue(result));
  }

  @Test
  @DisplayName("a diff turns one document into the other, and is null where only a member set to null would")
  void diff() {
    JsonObject from = new JsonObject("{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"e\":[1]}");
    JsonObject to = new JsonObject("{\"a\":1,\"b\":{\"c\":5},\"f\":true}");
    JsonObject patch = MergePatch.diff(from, to);
    assertThat(patch).isEqualTo(new JsonObject("{\"b\":{\"c\":5,\"d\":null},\"e\":null,\"f\":true}"));
    assertThat(MergePatch.apply(from, patch)).isEqualTo(to);
    assertThat(MergePatch.diff(from, new JsonObject("{\"a\":null}"))).isNull();
  }

  @Test
  @DisplayName("fields are JSON pointers, looked into only where base and patch both hold objects")
  void fields() {
    JsonObject base = new JsonObject("{\"s\":{\"theme\":\"light\"},\"t\":\"x\",\"a/b\":1}");
    assertThat(MergePatch.touched(base, new JsonObject("{\"s\":{\"theme\":\"dark\"},\"t\":{\"u\":1},\"a/b\":null}")))
        .containsExactly("/s/theme", "/t", "/a~1b");
    assertThat(MergePatch.changed(base, new JsonObject("{\"s\":{\"theme\":\"light\",\"font\":1},\"t\":\"x\"}")))
        .containsExactlyInAnyOrder("/a~1b", "/s/font");
    assertThat(MergePatch.overlapping(List.of("/s/theme", "/t", "/x"), List.of("/s", "/tt", "/x/y")))
        .containsExactly("/s/theme", "/x");
    assertThat(MergePatch.overlapping(List.of("/a"), List.of(""))).containsExactly("/a");
    assertThat(MergePatch.valueAt(base, "/a~1b")).isEqualTo(new JsonObject().put("path", "/a~1b").put("value", 1));
    assertThat(MergePatch.valueAt(base, "/s/none")).isEqualTo(new JsonObject().put("path", "/s/none"));
  }
}
