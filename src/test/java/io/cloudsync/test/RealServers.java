package io.cloudsync.test;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension giving tests the real servers of this run: {@code @ExtendWith(RealServers.class)}, then
 * declare a {@link Servers} parameter (test method, lifecycle method or constructor).
 *
 * <p>There is one {@link Servers} per JVM. Servers start lazily on the first getter call and are stopped once,
 * when the JUnit root context closes (end of the run): the extension stores a closer in the root store. A JVM
 * shutdown hook registered by {@link Servers#get()} is the backstop if the root store is never closed.
 */
public final class RealServers implements BeforeAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(RealServers.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    servers(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == Servers.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return servers(extensionContext);
  }

  private static Servers servers(ExtensionContext context) {
    ExtensionContext.Store rootStore = context.getRoot().getStore(NAMESPACE);
    return rootStore.getOrComputeIfAbsent(StopAtEndOfRun.class, key -> new StopAtEndOfRun(Servers.get()),
      StopAtEndOfRun.class).servers();
  }

  /**
   * Root-store value closed by JUnit when the run ends. JUnit 5.13 closes {@link AutoCloseable} store values;
   * {@code CloseableResource} is kept for configurations that turn that off. {@link Servers#close()} is
   * idempotent, so being closed twice is harmless.
   */
  @SuppressWarnings("deprecation")
  private record StopAtEndOfRun(Servers servers) implements AutoCloseable, ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      servers.close();
    }
  }
}
