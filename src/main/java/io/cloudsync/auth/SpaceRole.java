package io.cloudsync.auth;

import java.util.Locale;

/** A member's role in a space; each includes the rights of the ones below it. */
public enum SpaceRole {
  VIEWER, EDITOR, OWNER;

  public boolean atLeast(SpaceRole other) {
    return compareTo(other) >= 0;
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The role named on the wire, or null for any other text. */
  public static SpaceRole parse(String name) {
    if (name == null) {
      return null;
    }
    return switch (name) {
      case "viewer" -> VIEWER;
      case "editor" -> EDITOR;
      case "owner" -> OWNER;
      default -> null;
    };
  }
}
