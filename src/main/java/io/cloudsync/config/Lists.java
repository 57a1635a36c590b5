package io.cloudsync.config;

import io.vertx.core.json.JsonArray;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** A list value is a YAML/JSON list or, from env and properties, a comma-separated string. */
final class Lists {
  private Lists() {
  }

  static List<String> of(Object raw) {
    List<String> out = new ArrayList<>();
    if (raw instanceof JsonArray array) {
      raw = array.getList();
    }
    if (raw instanceof Collection<?> items) {
      for (Object item : items) {
        add(out, String.valueOf(item));
      }
    } else {
      for (String part : raw.toString().split(",")) {
        add(out, part);
      }
    }
    return List.copyOf(out);
  }

  private static void add(List<String> out, String item) {
    String trimmed = item.trim();
    if (!trimmed.isEmpty()) {
      out.add(trimmed);
    }
  }
}
