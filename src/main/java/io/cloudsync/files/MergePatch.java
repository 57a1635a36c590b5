package io.cloudsync.files;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * RFC 7396 JSON Merge Patch, and the field paths the per-field conflict rule compares.
 *
 * <p>A <em>field</em> is a JSON Pointer (RFC 6901) to a member of the document: {@code /title},
 * {@code /settings/theme}. A patch touches the members it sets or removes; where it sets a member
 * to an object and the member was an object already, it touches only the members inside it, so
 * {@code {"settings":{"theme":"dark"}}} touches {@code /settings/theme}, not {@code /settings}.
 * Two fields overlap when they are equal or one lies inside the other. Arrays are values, never
 * merged: a patch that changes one element of an array touches the whole array.
 */
public final class MergePatch {
  private MergePatch() {
  }

  /** The target with the patch applied (RFC 7396 section 2); neither argument is changed. */
  public static Object apply(Object target, Object patch) {
    if (!(patch instanceof JsonObject patchObject)) {
      return copy(patch);
    }
    JsonObject result = target instanceof JsonObject object ? object.copy() : new JsonObject();
    for (String key : patchObject.fieldNames()) {
      Object value = patchObject.getValue(key);
      if (value == null) {
        result.remove(key);
      } else {
        result.put(key, apply(result.getValue(key), value));
      }
    }
    return result;
  }

  /** A merge patch that turns {@code from} into {@code to}, or null when no merge patch can (a member set to null). */
  public static JsonObject diff(JsonObject from, JsonObject to) {
    JsonObject patch = rawDiff(from, to);
    return Objects.equals(apply(from, patch), to) ? patch : null;
  }

  private static JsonObject rawDiff(JsonObject from, JsonObject to) {
    JsonObject patch = new JsonObject();
    for (String key : from.fieldNames()) {
      if (!to.containsKey(key)) {
        patch.putNull(key);
      }
    }
    for (String key : to.fieldNames()) {
      Object before = from.getValue(key);
      Object after = to.getValue(key);
      if (from.containsKey(key) && Objects.equals(before, after)) {
        continue;
      }
      if (before instanceof JsonObject a && after instanceof JsonObject b) {
        patch.put(key, rawDiff(a, b));
      } else {
        patch.put(key, copy(after));
      }
    }
    return patch;
  }

  /**
   * The fields the patch touches when applied to {@code base}: the members it sets or removes,
   * looking inside a member only where both the patch and the base hold an object there.
   */
  public static List<String> touched(JsonObject base, JsonObject patch) {
    List<String> out = new ArrayList<>();
    touched(base, patch, "", out);
    return out;
  }

  private static void touched(JsonObject base, JsonObject patch, String prefix, List<String> out) {
    for (String key : patch.fieldNames()) {
      String path = prefix + "/" + escape(key);
      Object value = patch.getValue(key);
      Object before = base == null ? null : base.getValue(key);
      if (value instanceof JsonObject inner && before instanceof JsonObject innerBase && !inner.isEmpty()) {
        touched(innerBase, inner, path, out);
      } else {
        out.add(path);
      }
    }
  }

  /** The fields whose values differ between the two documents. */
  public static List<String> changed(JsonObject from, JsonObject to) {
    List<String> out = new ArrayList<>();
    changed(from, to, "", out);
    return out;
  }

  private static void changed(JsonObject from, JsonObject to, String prefix, List<String> out) {
    for (String key : from.fieldNames()) {
      if (!to.containsKey(key)) {
        out.add(prefix + "/" + escape(key));
      }
    }
    for (String key : to.fieldNames()) {
      Object before = from.getValue(key);
      Object after = to.getValue(key);
      if (from.containsKey(key) && Objects.equals(before, after)) {
        continue;
      }
      String path = prefix + "/" + escape(key);
      if (before instanceof JsonObject a && after instanceof JsonObject b) {
        changed(a, b, path, out);
      } else {
        out.add(path);
      }
    }
  }

  /** The fields of {@code mine} that overlap one of {@code theirs}; the whole document is the field "". */
  public static List<String> overlapping(List<String> mine, List<String> theirs) {
    List<String> out = new ArrayList<>();
    for (String field : mine) {
      for (String other : theirs) {
        if (overlap(field, other)) {
          out.add(field);
          break;
        }
      }
    }
    return out;
  }

  static boolean overlap(String a, String b) {
    return a.equals(b) || a.startsWith(b + "/") || b.startsWith(a + "/") || a.isEmpty() || b.isEmpty();
  }

  /**
   * The member a pointer names in the document, as {@code {"path", "value"}}; without
   * {@code "value"} when the document has no such member.
   */
  public static JsonObject valueAt(JsonObject document, String pointer) {
    JsonObject out = new JsonObject().put("path", pointer);
    if (pointer.isEmpty()) {
      return out.put("value", document.copy());
    }
    Object at = document;
    for (String token : pointer.substring(1).split("/", -1)) {
      String key = unescape(token);
      if (!(at instanceof JsonObject object) || !object.containsKey(key)) {
        return out;
      }
      at = object.getValue(key);
    }
    return out.put("value", copy(at));
  }

  static String escape(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }

  static String unescape(String token) {
    return token.replace("~1", "/").replace("~0", "~");
  }

  private static Object copy(Object value) {
    if (value instanceof JsonObject object) {
      return object.copy();
    }
    if (value instanceof JsonArray array) {
      return array.copy();
    }
    return value;
  }
}
