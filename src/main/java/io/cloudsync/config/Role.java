package io.cloudsync.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** The verticles a process can run; {@code roles} in the config picks them. */
public enum Role {
  GATEWAY, AUTH, METADATA;

  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static List<String> names() {
    return Arrays.stream(values()).map(Role::configName).toList();
  }
}
