package io.cloudsync.observability;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.Layout;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * Console logging for the standalone server. An application that embeds CloudSync keeps its
 * own logging set-up; it can still use {@code %rid} ({@link RequestIdConverter}) or
 * {@link JsonLogLayout} in its Logback config.
 */
public final class Logging {
  private static final String TEXT_PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level [%rid] %logger{24} - %msg%n";

  private Logging() {
  }

  /** @param format "text" or "json"; @param level the level of CloudSync's own loggers */
  public static void configureConsole(String format, String level) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    context.reset();
    Layout<ILoggingEvent> layout;
    if (format.equals("json")) {
      layout = new JsonLogLayout();
    } else {
      PatternLayout pattern = new PatternLayout();
      @SuppressWarnings("unchecked")
      Map<String, String> rules = (Map<String, String>) context.getObject(ch.qos.logback.core.CoreConstants.PATTERN_RULE_REGISTRY);
      Map<String, String> registry = rules == null ? new HashMap<>() : rules;
      registry.put("rid", RequestIdConverter.class.getName());
      context.putObject(ch.qos.logback.core.CoreConstants.PATTERN_RULE_REGISTRY, registry);
      pattern.setPattern(TEXT_PATTERN);
      layout = pattern;
    }
    layout.setContext(context);
    layout.start();
    LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
    encoder.setContext(context);
    encoder.setLayout(layout);
    encoder.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setName("console");
    console.setEncoder(encoder);
    console.start();
    Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    root.addAppender(console);
    context.getLogger("io.cloudsync").setLevel(Level.toLevel(level, Level.INFO));
    // Hazelcast's member list and the embedded database's start are worth seeing at INFO.
    context.getLogger("com.hazelcast.internal.cluster").setLevel(Level.INFO);
    // Vert.x registers some client gauges once per client; Micrometer warns about the repeats.
    context.getLogger("io.micrometer.core.instrument.MeterRegistry").setLevel(Level.ERROR);
  }
}
