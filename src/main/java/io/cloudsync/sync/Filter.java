package io.cloudsync.sync;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import io.cloudsync.files.Names;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.text.Normalizer;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a live subscription asked for: a subtree ({@code path_prefix}, a folder path such as
 * {@code /Projects/2026}) and/or node types. Paths compare as names do in a folder: NFC and
 * without regard to case. Membership changes (shared, unshared) concern the whole space and always
 * match.
 *
 * @param prefix the normalized prefix ({@code /a/b}, lower case), or null for the whole space
 * @param types the node types asked for, or null for all
 */
public record Filter(String prefix, Set<String> types) {
  public static final List<String> TYPES = List.of("folder", "file", "document");

  /** The filter of a subscribe message; null fields mean no filter. Throws 400 validation_failed. */
  public static Filter parse(Object prefixValue, Object typesValue, int maxPrefixLength) {
    String prefix = null;
    if (prefixValue != null) {
      if (!(prefixValue instanceof String raw)) {
        throw bad("\"path_prefix\" must be a string such as \"/Projects/2026\"");
      }
      if (raw.length() > maxPrefixLength) {
        throw bad("\"path_prefix\" may be " + maxPrefixLength + " characters at most");
      }
      prefix = normalize(raw);
    }
    Set<String> types = null;
    if (typesValue != null) {
      if (!(typesValue instanceof JsonArray array) || array.isEmpty()) {
        throw bad("\"types\" must be a non-empty array of " + TYPES);
      }
      types = new LinkedHashSet<>();
      for (Object type : array) {
        if (!(type instanceof String name) || !TYPES.contains(name)) {
          throw bad("\"types\" may hold only " + TYPES);
        }
        types.add(name);
      }
      if (types.size() == TYPES.size()) {
        types = null;
      }
    }
    return new Filter(prefix, types == null ? null : Set.copyOf(types));
  }

  /**
   * {@code /A/b/} → {@code /a/b}; {@code /} → null (the whole space). Segments must be names as
   * {@link Names#path} takes them, as for the documents query's {@code path_prefix}.
   */
  static String normalize(String raw) {
    if (!raw.startsWith("/")) {
      throw bad("\"path_prefix\" must start with '/'");
    }
    String trimmed = raw.replaceAll("^/+|/+$", "");
    if (trimmed.isEmpty()) {
      return null;
    }
    List<String> segments;
    try {
      segments = Names.path(trimmed);
    } catch (ApiException notAName) {
      throw bad("\"path_prefix\" is not a folder path: " + notAName.getMessage());
    }
    StringBuilder path = new StringBuilder();
    for (String segment : segments) {
      path.append('/').append(key(segment));
    }
    return path.toString();
  }

  /** A name as paths compare it. */
  static String key(String name) {
    return Normalizer.normalize(name, Normalizer.Form.NFC).toLowerCase(Locale.ROOT);
  }

  public boolean filters() {
    return prefix != null || types != null;
  }

  public boolean typeMatches(String type) {
    return types == null || types.contains(type);
  }

  /** Whether a path (as {@link TreeView#pathOf} gives it) is the prefix or below it. */
  public boolean pathMatches(String path) {
    return prefix == null || path != null && (path.equals(prefix) || path.startsWith(prefix + "/"));
  }

  /** Echoed in {@code subscribed}. */
  public JsonObject toJson(String rawPrefix) {
    JsonObject json = new JsonObject();
    if (rawPrefix != null) {
      json.put("path_prefix", rawPrefix);
    }
    if (types != null) {
      json.put("types", new JsonArray(TYPES.stream().filter(types::contains).toList()));
    }
    return json;
  }

  private static ApiException bad(String message) {
    return new ApiException(ErrorCode.VALIDATION_FAILED, message);
  }
}
