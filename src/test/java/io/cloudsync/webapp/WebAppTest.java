package io.cloudsync.webapp;

import static org.assertj.core.api.Assertions.assertThat;

import io.cloudsync.CloudSyncHandle;
import io.cloudsync.auth.Totp;
import io.cloudsync.test.Api;
import io.cloudsync.test.RealServers;
import io.cloudsync.test.Servers;
import io.cloudsync.test.TestCloudSync;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chromium.ChromiumNetworkConditions;

/**
 * The web app end to end in real headless Chromium: two browsers, two users, one shared space. Screenshots of
 * each main screen go to target/screenshots. The browser tests are skipped, with a message, where Chromium is
 * not installed; the one on static files runs everywhere.
 */
@DisplayName("The web app, in two headless Chromium browsers")
@ExtendWith(RealServers.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WebAppTest {
  private static final Path SCREENSHOTS = Path.of("target", "screenshots");
  private static final String PASSWORD = "a long passphrase 42";
  private static final String NO_CHROMIUM =
      "Chromium is not installed (apt-get install chromium chromium-driver): the browser tests are skipped";

  private Vertx vertx;
  private CloudSyncHandle server;
  private String base;
  private Path[] chromium;

  @BeforeAll
  void start(Servers servers) {
    Optional<Path[]> installed = Browser.installed();
    if (installed.isEmpty()) {
      System.out.println("WebAppTest: " + NO_CHROMIUM);
    }
    chromium = installed.orElse(null);
    vertx = Vertx.vertx();
    server = TestCloudSync.deploy(vertx, TestCloudSync.config(servers));
    base = "http://127.0.0.1:" + server.httpPort();
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close().await();
    }
    if (vertx != null) {
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("serves the app, the client and its libraries with a strict CSP and cache headers")
  void servesStaticFiles() {
    WebClient web = WebClient.create(vertx);
    try {
      HttpResponse<Buffer> index = web.getAbs(base + "/").send().await();
      assertThat(index.statusCode()).isEqualTo(200);
      assertThat(index.getHeader("Content-Type")).startsWith("text/html");
      assertThat(index.getHeader("Cache-Control")).isEqualTo("no-cache");
      assertThat(index.getHeader("Content-Security-Policy")).contains("script-src 'self'")
          .doesNotContain("unsafe-inline").doesNotContain("unsafe-eval");
      assertThat(index.bodyAsString()).doesNotContain("<script>").contains("src=\"/app/app.js\"");

      HttpResponse<Buffer> client = web.getAbs(base + "/client/cloudsync.js").send().await();
      assertThat(client.statusCode()).isEqualTo(200);
      assertThat(client.getHeader("Content-Type")).contains("javascript");
      assertThat(client.bodyAsString()).contains("export class CloudSync");

      for (String vendor : new String[] {"/vendor/sockjs-client/1.6.1/dist/sockjs.min.js",
          "/vendor/eventbus-bridge-client.js/1.0.0/vertx-eventbus.js", "/vendor/tus-js-client/4.3.1/dist/tus.min.js"}) {
        HttpResponse<Buffer> file = web.getAbs(base + vendor).send().await();
        assertThat(file.statusCode()).as(vendor).isEqualTo(200);
        assertThat(file.getHeader("Cache-Control")).as(vendor).contains("immutable");
        assertThat(file.body().length()).as(vendor).isGreaterThan(1000);
      }
      HttpResponse<Buffer> missing = web.getAbs(base + "/app/nothing.js").send().await();
      assertThat(missing.statusCode()).isEqualTo(404);
      assertThat(missing.bodyAsJsonObject().getString("code")).isEqualTo("not_found");
      HttpResponse<Buffer> providers = web.getAbs(base + "/api/v1/auth/providers").send().await();
      assertThat(providers.bodyAsJsonObject().getJsonArray("providers")).isEmpty();
    } finally {
      web.close();
    }
  }

  @Test
  @Timeout(120)
  @DisplayName("two users share a space: upload with progress, live within a second, rename, delete, restore, download")
  void twoUsersShareASpace() throws Exception {
    Assumptions.assumeTrue(chromium != null, NO_CHROMIUM);
    byte[] content = new byte[3 * 1024 * 1024 + 123];
    new Random(7).nextBytes(content);
    Path dir = Files.createTempDirectory("cloudsync-upload");
    Path file = dir.resolve("report.bin");
    Files.write(file, content);
    String ann = "ann." + System.nanoTime() + "@example.com";
    String bob = "bob." + System.nanoTime() + "@example.com";

    try (Browser a = new Browser("ann", chromium, SCREENSHOTS); Browser b = new Browser("bob", chromium, SCREENSHOTS)) {
      signUp(a, ann, "Ann <b>bold</b>");
      a.screenshot("02-spaces");
      signUp(b, bob, "Bob");
      // A display name is text, never markup.
      assertThat(a.find("#whoami").getText()).isEqualTo("Ann <b>bold</b>");
      assertThat(a.all("#whoami b")).isEmpty();

      a.type("#space-name", "Team <i>space</i>");
      a.click("#form-space button[type=submit]");
      a.visible("#breadcrumbs");
      a.await(Duration.ofSeconds(10), "live connection", d -> a.find("#live-status").getText().equals("Live"));
      assertThat(a.find("#breadcrumbs").getText()).contains("Team <i>space</i>");
      String spaceUrl = a.driver.getCurrentUrl();

      a.click("#open-share");
      a.type("#share-email", bob);
      a.find("#share-role").sendKeys("Editor");
      a.click("#form-share button[type=submit]");
      a.await(Duration.ofSeconds(10), "bob listed as member", d -> a.find("#members").getText().contains(bob));
      a.screenshot("04-share-dialog");
      a.click("#dialog-share .close");

      // Bob's spaces list picks the share up without a reload.
      WebElement shared = b.await(Duration.ofSeconds(15), "shared space in bob's list",
          d -> b.all("#spaces-list a").stream().filter(l -> l.getText().equals("Team <i>space</i>")).findFirst()
              .orElse(null));
      shared.click();
      b.await(Duration.ofSeconds(10), "bob live", d -> b.find("#live-status").getText().equals("Live"));
      assertThat(b.driver.getCurrentUrl()).isEqualTo(spaceUrl);

      // Slow Ann's uploads down so the progress bar has something to show.
      ChromiumNetworkConditions slow = new ChromiumNetworkConditions();
      slow.setLatency(Duration.ofMillis(5));
      slow.setUploadThroughput(1024 * 1024);
      slow.setDownloadThroughput(50 * 1024 * 1024);
      a.driver.setNetworkConditions(slow);
      a.find("#upload-input").sendKeys(file.toString());
      WebElement upload = a.visible("#uploads li[data-upload='report.bin']");
      a.await(Duration.ofSeconds(20), "visible progress", d -> {
        String progress = upload.getAttribute("data-progress");
        return progress != null && Long.parseLong(progress) > 0 && Long.parseLong(progress) < content.length;
      });
      a.screenshot("05-upload-progress");
      a.await(Duration.ofSeconds(30), "upload done", d -> "done".equals(upload.getAttribute("data-state")));
      a.driver.deleteNetworkConditions();
      assertThat(Integer.parseInt(upload.getAttribute("data-updates"))).isGreaterThan(1);
      long doneAt = Long.parseLong(upload.getAttribute("data-done-at"));

      // Bob sees it live, within a second of Ann's upload completing (both clocks are this machine's).
      WebElement row = b.visible("#files tr[data-name='report.bin']");
      long liveAt = Long.parseLong(row.getAttribute("data-live-at"));
      assertThat(liveAt - doneAt).as("ms from Ann's upload to Bob's screen").isLessThan(1000);
      a.visible("#files tr[data-name='report.bin']");
      a.screenshot("03-folder");

      // Ann renames; Bob sees the new name.
      a.click("#files tr[data-name='report.bin'] button[aria-label='Rename report.bin']");
      a.type("#rename-name", "report-final.bin");
      a.click("#form-rename button[value=ok]");
      b.visible("#files tr[data-name='report-final.bin']");
      b.gone("#files tr[data-name='report.bin']");

      // Ann deletes; it leaves Bob's screen; she restores it from the trash and it comes back.
      a.click("#files tr[data-name='report-final.bin'] button[aria-label='Delete report-final.bin']");
      b.gone("#files tr[data-name='report-final.bin']");
      a.click("#open-trash");
      a.visible("#trash-list li[data-name='report-final.bin']");
      a.screenshot("06-trash");
      a.click("#trash-list li[data-name='report-final.bin'] button[aria-label='Restore report-final.bin']");
      a.gone("#trash-list li[data-name='report-final.bin']");
      a.click("#dialog-trash .close");
      b.visible("#files tr[data-name='report-final.bin']");

      // Bob downloads it: the very bytes Ann uploaded.
      b.click("#files tr[data-name='report-final.bin'] button[aria-label='Download report-final.bin']");
      assertThat(b.downloaded("report-final.bin")).isEqualTo(content);

      // Ann uploads a new version while Bob writes one: the manual policy asks her, and she overwrites.
      String space = spaceUrl.substring(spaceUrl.indexOf("#/space/") + "#/space/".length());
      Api api = new Api(vertx, server.httpPort());
      String bobToken = api.signIn(bob, PASSWORD).getString("access_token");
      byte[] annsEdit = new byte[2 * 1024 * 1024];
      new Random(8).nextBytes(annsEdit);
      Path annsFile = Files.createDirectories(dir.resolve("edit")).resolve("report-final.bin");
      Files.write(annsFile, annsEdit);
      a.driver.setNetworkConditions(slow);
      a.find("#upload-input").sendKeys(annsFile.toString());
      WebElement edit = a.visible("#uploads li[data-upload='report-final.bin']");
      a.await(Duration.ofSeconds(20), "edit under way", d -> edit.getAttribute("data-progress") != null);
      HttpResponse<Buffer> bobsPut = api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/report-final.bin",
          bobToken).sendBuffer(Buffer.buffer("Bob's version")).await();
      assertThat(bobsPut.statusCode()).isEqualTo(200);
      a.visible("#dialog-conflict");
      a.driver.deleteNetworkConditions();
      assertThat(a.find("#conflict-text").getText()).contains("report-final.bin");
      a.screenshot("09-conflict");
      a.click("#form-conflict button[value=overwrite]");
      a.await(Duration.ofSeconds(20), "overwrite done", d -> "done".equals(edit.getAttribute("data-state")));
      b.await(Duration.ofSeconds(5), "bob sees the new size", d -> b.find("#files tr[data-name='report-final.bin']")
          .getText().contains("2.0 MB"));

      // The history has all three; restoring the first brings Ann's original bytes back.
      a.click("#files tr[data-name='report-final.bin'] button[aria-label='Versions of report-final.bin']");
      // Versions are numbered by the node's version, which renames and moves raise too.
      a.await(Duration.ofSeconds(10), "three versions", d -> a.all("#versions-list li").size() == 3);
      assertThat(a.all("#versions-list li").get(2).getAttribute("data-version")).isEqualTo("1");
      a.screenshot("07-versions");
      a.click("#versions-list li[data-version='1'] button[aria-label='Restore version 1']");
      a.gone("#dialog-versions[open]");
      b.await(Duration.ofSeconds(5), "bob sees the restored size", d -> b.find("#files tr[data-name='report-final.bin']")
          .getText().contains("3.0 MB"));
      a.click("#files tr[data-name='report-final.bin'] button[aria-label='Download report-final.bin']");
      assertThat(a.downloaded("report-final.bin")).isEqualTo(content);

      // A reload in the middle of an upload: picking the file again continues where it stopped.
      byte[] big = new byte[4 * 1024 * 1024];
      new Random(9).nextBytes(big);
      Path bigFile = dir.resolve("big.bin");
      Files.write(bigFile, big);
      ChromiumNetworkConditions slower = new ChromiumNetworkConditions();
      slower.setLatency(Duration.ofMillis(5));
      slower.setUploadThroughput(512 * 1024);
      slower.setDownloadThroughput(50 * 1024 * 1024);
      a.driver.setNetworkConditions(slower);
      a.find("#upload-input").sendKeys(bigFile.toString());
      WebElement first = a.visible("#uploads li[data-upload='big.bin']");
      a.await(Duration.ofSeconds(30), "half the upload", d -> {
        String progress = first.getAttribute("data-progress");
        return progress != null && Long.parseLong(progress) > big.length / 2;
      });
      a.driver.navigate().refresh();
      a.driver.deleteNetworkConditions();
      a.await(Duration.ofSeconds(10), "resume hint", d -> a.find("#resume-hint").isDisplayed()
          && a.find("#resume-hint").getText().contains("big.bin"));
      a.screenshot("10-resume-after-reload");
      a.find("#upload-input").sendKeys(bigFile.toString());
      WebElement resumed = a.visible("#uploads li[data-upload='big.bin']");
      a.await(Duration.ofSeconds(20), "resumed upload done", d -> "done".equals(resumed.getAttribute("data-state")));
      assertThat(Long.parseLong(resumed.getAttribute("data-first-progress"))).as("where the upload resumed")
          .isGreaterThan(big.length / 4);
      b.click("#files tr[data-name='big.bin'] button[aria-label='Download big.bin']");
      assertThat(b.downloaded("big.bin")).isEqualTo(big);

      // A folder made by keyboard, a file dropped onto the list, moved into the folder, found by search.
      a.find("#folder-name").sendKeys("Docs", Keys.ENTER);
      b.visible("#files tr[data-name='Docs']");
      a.script("const file = new File(['dropped by Ann'], 'dropped.txt', {type: 'text/plain'});"
          + "const data = new DataTransfer(); data.items.add(file);"
          + "const zone = document.getElementById('dropzone');"
          + "zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));"
          + "zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));");
      WebElement dropped = a.visible("#uploads li[data-upload='dropped.txt']");
      a.await(Duration.ofSeconds(10), "drop uploaded", d -> "done".equals(dropped.getAttribute("data-state")));
      b.visible("#files tr[data-name='dropped.txt']");
      a.click("#files tr[data-name='dropped.txt'] button[aria-label='Move dropped.txt']");
      a.visible("#move-target option[value='']");
      a.find("#move-target").sendKeys("/Docs");
      a.click("#form-move button[value=ok]");
      b.gone("#files tr[data-name='dropped.txt']");
      a.type("#search-query", "dropped");
      a.click("#form-search button[type=submit]");
      a.visible("#search-list a").click();
      a.visible("#files tr[data-name='dropped.txt']");
      assertThat(a.find("#breadcrumbs").getText().replace("\n", " ")).contains("Docs");
      a.screenshot("11-subfolder");
      a.find("#breadcrumbs li:nth-child(2) a").click();
      a.visible("#files tr[data-name='Docs']");

      // Every control on the folder screen and in its dialogs has a name a screen reader can say.
      assertThat(a.script(UNLABELLED_CONTROLS)).asList().isEmpty();

      // The same folder on a phone-sized screen.
      a.narrow(true);
      a.visible("#files tr[data-name='report-final.bin']");
      a.screenshot("08-folder-narrow");
      a.narrow(false);

      // Ann takes Bob off the space: his browser leaves it at once.
      a.click("#open-share");
      String bobId = a.await(Duration.ofSeconds(10), "bob's member row",
          d -> a.all("#members li").stream().filter(li -> li.getText().contains(bob)).findFirst()
              .map(li -> li.getAttribute("data-user")).orElse(null));
      a.click("#members li[data-user='" + bobId + "'] button");
      b.await(Duration.ofSeconds(5), "bob back at his spaces", d -> "spaces".equals(b.find("body").getAttribute("data-screen")));
      assertThat(b.find("#notice").getText()).contains("no longer have access");
    }
  }

  @Test
  @Timeout(90)
  @DisplayName("the sign-in page offers the configured providers, asks for a TOTP code and takes an OAuth sign-in's tokens")
  void signInPaths(Servers servers) throws Exception {
    Assumptions.assumeTrue(chromium != null, NO_CHROMIUM);
    // A second installation, configured for GitHub sign-in; one CloudSync per Vert.x instance.
    Vertx otherVertx = Vertx.vertx();
    CloudSyncHandle other = TestCloudSync.deploy(otherVertx, TestCloudSync.config(servers)
        .put("auth.oauth.redirect_base", "https://sync.example.com")
        .put("auth.github.client_id", "cloudsync-test").put("auth.github.client_secret", "not used")
        // GitHub's authorize page: the other installation's 404 stands in for it, so the browser stays on this machine.
        .put("auth.github.site", base)
        // The shortest access tokens allowed: the client refreshes them a quarter of their life ahead, at 22.5 s.
        .put("auth.access_token_ttl", 30));
    // The browser reaches this installation through a proxy the test can cut.
    try (CuttableProxy proxy = new CuttableProxy(otherVertx, other.httpPort());
         Browser c = new Browser("carol", chromium, SCREENSHOTS)) {
      String url = "http://127.0.0.1:" + proxy.port();
      Api api = new Api(otherVertx, other.httpPort());
      String token = api.newUser("carol@example.com");
      String secret = api.post("/api/v1/auth/mfa/setup", token, null).bodyAsJsonObject().getString("secret");
      long step = Totp.step(System.currentTimeMillis() / 1000);
      assertThat(api.post("/api/v1/auth/mfa/verify", token, new JsonObject().put("code", Totp.code(secret, step)))
          .statusCode()).isEqualTo(200);

      c.open(url + "/");
      WebElement github = c.visible("#oauth-buttons a");
      assertThat(github.getText()).isEqualTo("Sign in with GitHub");
      assertThat(github.getAttribute("href")).isEqualTo(url + "/api/v1/auth/oauth/github/start");
      c.type("#signin-email", "carol@example.com");
      c.type("#signin-password", Api.PASSWORD);
      c.click("#form-signin button[type=submit]");
      c.visible("#signin-totp");
      c.screenshot("12-totp-prompt");
      c.find("#signin-totp").sendKeys(Totp.code(secret, step + 1), Keys.ENTER);
      c.visible("#form-space");
      c.click("#sign-out");
      c.visible("#form-signin");

      // Tokens in the fragment of a link this tab did not ask for (someone else's account): removed, not taken.
      api.signup("mallory@example.com", Api.PASSWORD);
      JsonObject planted = api.signIn("mallory@example.com", Api.PASSWORD);
      c.open("about:blank");
      c.open(url + "/#access_token=" + planted.getString("access_token") + "&refresh_token="
          + planted.getString("refresh_token") + "&token_type=Bearer&expires_in=" + planted.getValue("expires_in"));
      c.await(Duration.ofSeconds(10), "sign-in page", d -> "auth".equals(c.find("body").getAttribute("data-screen")));
      assertThat(c.driver.getCurrentUrl()).doesNotContain("access_token");
      assertThat(c.find("#whoami").isDisplayed()).isFalse();
      assertThat(c.find("#form-signin").isDisplayed()).isTrue();

      // An OAuth sign-in starts with the provider's button and ends on the app with the tokens in the fragment,
      // which the app takes and removes.
      api.signup("dave@example.com", Api.PASSWORD);
      JsonObject pair = api.signIn("dave@example.com", Api.PASSWORD);
      c.visible("#oauth-buttons a").click();
      c.await(Duration.ofSeconds(10), "at the provider",
          d -> d.getCurrentUrl().startsWith(base + "/login/oauth/authorize?"));
      c.open(url + "/#access_token=" + pair.getString("access_token") + "&refresh_token="
          + pair.getString("refresh_token") + "&token_type=Bearer&expires_in=" + pair.getValue("expires_in"));
      c.visible("#form-space");
      long landed = System.currentTimeMillis();
      assertThat(c.find("#whoami").getText()).contains("dave");
      assertThat(c.driver.getCurrentUrl()).doesNotContain("access_token");
      // No token in any storage while the page is open (it waits in sessionStorage only across a reload).
      assertThat(c.script("return sessionStorage.length + ':' + localStorage.length")).isEqualTo("0:0");

      // The network drops while a change lands; the client comes back, with a refreshed token, and catches up.
      c.type("#space-name", "Dave's");
      c.click("#form-space button[type=submit]");
      c.await(Duration.ofSeconds(10), "live", d -> c.find("#live-status").getText().equals("Live"));
      String spaceUrl = c.driver.getCurrentUrl();
      String space = spaceUrl.substring(spaceUrl.indexOf("#/space/") + "#/space/".length());
      proxy.down();
      c.await(Duration.ofSeconds(20), "drop noticed", d -> c.find("#live-status").getText().equals("Reconnecting…"));
      assertThat(api.request(HttpMethod.PUT, "/api/v1/spaces/" + space + "/files/while-offline.txt",
          pair.getString("access_token")).sendBuffer(Buffer.buffer("made while the browser was offline")).await()
          .statusCode()).isEqualTo(200);
      // Down until the access token is due for a refresh, so the way back needs one.
      Thread.sleep(Math.max(1000, landed + 24_000 - System.currentTimeMillis()));
      proxy.up();
      c.visible("#files tr[data-name='while-offline.txt']");
      c.await(Duration.ofSeconds(20), "live again", d -> c.find("#live-status").getText().equals("Live"));
      c.find("#folder-name").sendKeys("After refresh", Keys.ENTER);
      c.visible("#files tr[data-name='After refresh']");
      // The page refreshed its tokens: the refresh token it landed with was rotated and is dead now (presenting
      // it again counts as reuse and ends that sign-in, so this comes last).
      assertThat(api.post("/api/v1/auth/refresh", new JsonObject().put("refresh_token", pair.getString("refresh_token")))
          .statusCode()).isEqualTo(401);
    } finally {
      other.close().await();
      otherVertx.close().await();
    }
  }

  /** Buttons, links, inputs and selects (visible or in a dialog) without an accessible name, as CSS-ish paths. */
  private static final String UNLABELLED_CONTROLS = String.join("\n",
      "const named = c => (c.getAttribute('aria-label') || '').trim()",
      "  || (c.labels && [...c.labels].some(l => l.textContent.trim()))",
      "  || (['BUTTON', 'A'].includes(c.tagName) && c.textContent.trim());",
      "return [...document.querySelectorAll('button, a[href], input, select, textarea')]",
      "  .filter(c => c.type !== 'hidden' && (c.offsetParent !== null || c.closest('dialog')) && !named(c))",
      "  .map(c => c.tagName.toLowerCase() + (c.id ? '#' + c.id : '') + (c.className ? '.' + c.className : ''));");

  private void signUp(Browser browser, String email, String name) {
    browser.open(base + "/");
    browser.visible("#form-signin");
    browser.screenshot("01-sign-in");
    browser.click("#tab-signup");
    browser.type("#signup-name", name);
    browser.type("#signup-email", email);
    browser.type("#signup-password", PASSWORD);
    browser.click("#form-signup button[type=submit]");
    browser.visible("#form-space");
  }
}
