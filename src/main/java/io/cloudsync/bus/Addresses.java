package io.cloudsync.bus;

/** Every event-bus address CloudSync uses, in one place. */
public final class Addresses {
  /** Installation facts from the metadata role: id, schema version, nodes. */
  public static final String METADATA_INFO = "cloudsync.metadata.info";

  private Addresses() {
  }
}
