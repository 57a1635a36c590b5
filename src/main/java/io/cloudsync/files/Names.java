package io.cloudsync.files;

import io.cloudsync.errors.ApiException;
import io.cloudsync.errors.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * File and folder names. A name is stored NFC-normalized (macOS clients send NFD; without this the
 * same visible name would be two files) and must be something every client file system can hold
 * as one path segment: 1 to 255 UTF-8 bytes, not blank, not "." or "..", no '/', '\', NUL or other
 * control characters. Names are unique per folder without regard to case; a case-only twin is
 * refused with 409 {@code name_taken} rather than renamed, so that nothing is silently moved.
 */
public final class Names {
  public static final int MAX_BYTES = 255;

  private Names() {
  }

  /** The normalized name, or a 400 {@code invalid_name} saying what is wrong. */
  public static String require(String raw) {
    if (raw == null) {
      throw invalid("A name is required");
    }
    String name = Normalizer.normalize(raw, Normalizer.Form.NFC);
    if (name.isBlank()) {
      throw invalid("A name cannot be empty or blank");
    }
    if (name.equals(".") || name.equals("..")) {
      throw invalid("'.' and '..' are not names");
    }
    if (name.codePoints().anyMatch(c -> c == '/' || c == '\\' || Character.isISOControl(c))) {
      throw invalid("A name cannot contain '/', '\\' or control characters");
    }
    if (name.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
      throw invalid("A name can be at most " + MAX_BYTES + " bytes of UTF-8");
    }
    return name;
  }

  /** Splits "docs/2024/report.pdf" into validated segments; empty segments from doubled or edge slashes are refused. */
  public static List<String> path(String raw) {
    if (raw == null || raw.isEmpty()) {
      throw invalid("A path is required");
    }
    List<String> segments = new ArrayList<>();
    for (String segment : raw.split("/", -1)) {
      segments.add(require(segment));
    }
    return segments;
  }

  /**
   * The n-th alternative of a taken name, keeping the extension: "report (restored).pdf",
   * "report (restored 2).pdf"; shortened to stay within the byte limit.
   */
  public static String variant(String name, String label, int n) {
    String suffix = " (" + label + (n > 1 ? " " + n : "") + ")";
    int dot = name.lastIndexOf('.');
    String stem = dot > 0 ? name.substring(0, dot) : name;
    String extension = dot > 0 ? name.substring(dot) : "";
    String candidate = stem + suffix + extension;
    while (candidate.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES && stem.length() > 1) {
      stem = stem.substring(0, stem.offsetByCodePoints(stem.length(), -1));
      candidate = stem + suffix + extension;
    }
    return candidate;
  }

  /** A space's display name: 1 to 200 characters, NFC, no control characters; '/' is fine here. */
  public static String spaceName(String raw) {
    if (raw == null || raw.isBlank()) {
      throw invalid("A space needs a name");
    }
    String name = Normalizer.normalize(raw.strip(), Normalizer.Form.NFC);
    if (name.length() > 200 || name.codePoints().anyMatch(Character::isISOControl)) {
      throw invalid("A space name can be at most 200 characters without control characters");
    }
    return name;
  }

  private static ApiException invalid(String message) {
    return new ApiException(ErrorCode.INVALID_NAME, message);
  }
}
