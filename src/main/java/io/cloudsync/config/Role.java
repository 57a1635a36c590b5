package io.cloudsync.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The verticles a process can run; {@code roles} in the config picks them. {@code CHANGEFEED} runs
 * only where {@code kafka.bootstrap} is set, and relays on one node of a cluster at a time. {@code WEBHOOKS}
 * turns the change log into deliveries on one node at a time and sends them from every node running it.
 */
public enum Role {
  GATEWAY, AUTH, METADATA, WEBHOOKS, CHANGEFEED;

  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static List<String> names() {
    return Arrays.stream(values()).map(Role::configName).toList();
  }
}
