package io.cloudsync.webapp;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * One headless Chromium (Debian's {@code chromium}, driven through its {@code chromedriver}) with its own profile,
 * so two of them are two users that share nothing, and a download directory of its own.
 */
final class Browser implements AutoCloseable {
  private static final List<Path> CHROMIUM = List.of(Path.of("/usr/bin/chromium"), Path.of("/usr/bin/chromium-browser"),
      Path.of("/usr/bin/google-chrome"));
  private static final List<Path> DRIVER = List.of(Path.of("/usr/bin/chromedriver"),
      Path.of("/usr/lib/chromium/chromedriver"));

  final ChromeDriver driver;
  final Path downloads;
  private final String name;
  private final Path screenshots;

  /** The installed Chromium and its driver, if both are there (env CHROMIUM_BIN and CHROMEDRIVER_BIN first). */
  static Optional<Path[]> installed() {
    Optional<Path> chromium = find(System.getenv("CHROMIUM_BIN"), CHROMIUM);
    Optional<Path> driver = find(System.getenv("CHROMEDRIVER_BIN"), DRIVER);
    return chromium.isPresent() && driver.isPresent()
        ? Optional.of(new Path[] {chromium.get(), driver.get()}) : Optional.empty();
  }

  private static Optional<Path> find(String configured, List<Path> candidates) {
    if (configured != null && !configured.isBlank()) {
      Path path = Path.of(configured);
      return Files.isExecutable(path) ? Optional.of(path) : Optional.empty();
    }
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  Browser(String name, Path[] installed, Path screenshots) throws IOException {
    this.name = name;
    this.screenshots = screenshots;
    this.downloads = Files.createTempDirectory("cloudsync-downloads-" + name);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(installed[0].toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,900", "--no-first-run", "--disable-extensions", "--disable-background-networking",
        "--user-data-dir=" + Files.createTempDirectory("cloudsync-profile-" + name));
    options.setExperimentalOption("prefs", Map.of(
        "download.default_directory", downloads.toString(),
        "download.prompt_for_download", false,
        "safebrowsing.enabled", false));
    options.setCapability("goog:loggingPrefs", Map.of("browser", "ALL"));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(installed[1].toFile())
        .usingAnyFreePort()
        .build();
    this.driver = new ChromeDriver(service, options);
    // Downloads in headless mode go where the test can read them.
    driver.executeCdpCommand("Browser.setDownloadBehavior", Map.of("behavior", "allow",
        "downloadPath", downloads.toString()));
  }

  void open(String url) {
    driver.get(url);
  }

  WebElement find(String css) {
    return driver.findElement(By.cssSelector(css));
  }

  List<WebElement> all(String css) {
    return driver.findElements(By.cssSelector(css));
  }

  /** Waits for a condition, polling every 20 ms. */
  <T> T await(Duration timeout, String what, Function<ChromeDriver, T> condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    while (true) {
      try {
        T value = condition.apply(driver);
        if (value != null && !Boolean.FALSE.equals(value)) {
          return value;
        }
      } catch (org.openqa.selenium.NoSuchElementException | org.openqa.selenium.StaleElementReferenceException e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(name + ": timed out after " + timeout.toMillis() + " ms waiting for " + what, last);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(name + ": interrupted waiting for " + what, e);
      }
    }
  }

  /** Waits until an element is there and displayed, and answers it. */
  WebElement visible(String css) {
    return await(Duration.ofSeconds(10), "visible " + css, d -> {
      List<WebElement> found = d.findElements(By.cssSelector(css));
      return found.isEmpty() || !found.get(0).isDisplayed() ? null : found.get(0);
    });
  }

  void gone(String css) {
    await(Duration.ofSeconds(10), "gone " + css, d -> d.findElements(By.cssSelector(css)).isEmpty());
  }

  void type(String css, String text) {
    WebElement input = visible(css);
    input.clear();
    input.sendKeys(text);
  }

  void click(String css) {
    visible(css).click();
  }

  Object script(String js, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(js, args);
  }

  void narrow(boolean narrow) {
    driver.manage().window().setSize(narrow ? new Dimension(390, 844) : new Dimension(1280, 900));
  }

  void screenshot(String file) {
    try {
      Files.createDirectories(screenshots);
      Files.write(screenshots.resolve(file + ".png"), driver.getScreenshotAs(OutputType.BYTES));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for a finished download of this name and answers its bytes. */
  byte[] downloaded(String fileName) {
    File file = downloads.resolve(fileName).toFile();
    await(Duration.ofSeconds(10), "download of " + fileName, d -> file.isFile()
        && !downloads.resolve(fileName + ".crdownload").toFile().exists() ? Boolean.TRUE : null);
    try {
      return Files.readAllBytes(file.toPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      driver.manage().logs().get("browser").forEach(entry -> System.out.println("[" + name + " console] " + entry));
    } catch (RuntimeException ignored) {
      // logs are a help only
    }
    driver.quit();
  }
}
