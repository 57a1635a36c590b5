package io.cloudsync.config;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * Reads the configuration sources in their fixed order — the file, then {@code CLOUDSYNC_*}
 * environment variables, then {@code cloudsync.*} system properties — each over the one before,
 * into one flat JSON object of dotted keys that {@link CloudSyncConfig#from} checks and types.
 */
public final class ConfigLoader {
  /** Environment variable naming the config file; {@code --config} on the command line wins over it. */
  public static final String CONFIG_FILE_ENV = "CLOUDSYNC_CONFIG";
  public static final Path DEFAULT_FILE = Path.of("conf", "cloudsync.yaml");

  private ConfigLoader() {
  }

  /**
   * @param file the YAML or JSON file to read, or null for none
   * @param warnings receives one line per environment variable or property that names no key
   */
  public static JsonObject load(Path file, Map<String, String> env, Properties properties, List<String> warnings) {
    JsonObject flat = new JsonObject();
    if (file != null) {
      flat.mergeIn(flatten(readFile(file)));
    }
    for (Map.Entry<String, String> entry : env.entrySet()) {
      String name = entry.getKey();
      if (!name.startsWith(Setting.ENV_PREFIX) || name.equals(CONFIG_FILE_ENV)) {
        continue;
      }
      Setting setting = Settings.all().values().stream()
          .filter(s -> s.envName().equals(name)).findFirst().orElse(null);
      if (setting == null) {
        warnings.add("unknown environment variable " + name + " (no such configuration key)");
      } else {
        flat.put(setting.name(), entry.getValue());
      }
    }
    for (String name : properties.stringPropertyNames()) {
      if (!name.startsWith(Setting.PROPERTY_PREFIX)) {
        continue;
      }
      String key = name.substring(Setting.PROPERTY_PREFIX.length());
      if (!Settings.all().containsKey(key)) {
        warnings.add("unknown system property " + name + " (no such configuration key)");
      } else {
        flat.put(key, properties.getProperty(name));
      }
    }
    return flat;
  }

  /** Chooses the file: an explicit one, else {@code CLOUDSYNC_CONFIG}, else conf/cloudsync.yaml when present. */
  public static Path chooseFile(String explicit, Map<String, String> env) {
    if (explicit != null) {
      return Path.of(explicit);
    }
    String fromEnv = env.get(CONFIG_FILE_ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Path.of(fromEnv);
    }
    return Files.isRegularFile(DEFAULT_FILE) ? DEFAULT_FILE : null;
  }

  static JsonObject readFile(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      Object parsed = new Yaml(new SafeConstructor(new LoaderOptions())).load(in);
      if (parsed == null) {
        return new JsonObject();
      }
      if (!(parsed instanceof Map<?, ?> map)) {
        throw new ConfigException(file + ": expected a mapping of keys at the top level");
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> typed = (Map<String, Object>) map;
      return new JsonObject(typed);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
    } catch (RuntimeException e) {
      if (e instanceof ConfigException) {
        throw e;
      }
      throw new ConfigException("config file " + file + " is not valid YAML or JSON: " + e.getMessage());
    }
  }

  /** Turns nested objects into dotted keys: {@code {http: {port: 1}}} → {@code {"http.port": 1}}. */
  public static JsonObject flatten(JsonObject nested) {
    JsonObject flat = new JsonObject();
    flattenInto("", nested, flat);
    return flat;
  }

  private static void flattenInto(String prefix, JsonObject object, JsonObject flat) {
    for (String key : new ArrayList<>(object.fieldNames())) {
      Object value = object.getValue(key);
      String name = prefix + key;
      if (value instanceof JsonObject child && !Settings.all().containsKey(name)) {
        flattenInto(name + ".", child, flat);
      } else {
        flat.put(name, value);
      }
    }
  }
}
