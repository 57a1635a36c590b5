package io.cloudsync.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Mail, notification and webhook-health settings")
class MailConfigTest {
  @Test
  @DisplayName("mail is off by default; webhooks disable after 5 days and keep their log 30; digests at most every 5 minutes")
  void defaults() {
    CloudSyncConfig config = CloudSyncConfig.defaults();
    assertThat(config.mail().enabled()).isFalse();
    assertThat(config.mail().batchInterval()).isEqualTo(Duration.ofMinutes(5));
    assertThat(config.mail().starttls()).isEqualTo("optional");
    assertThat(config.webhooks().disableAfter()).isEqualTo(Duration.ofDays(5));
    assertThat(config.webhooks().logRetention()).isEqualTo(Duration.ofDays(30));
    assertThat(config.webhooks().trustedCa()).isEmpty();
  }

  @Test
  @DisplayName("reads the keys and refuses bad values, naming the key")
  void checked() {
    CloudSyncConfig config = CloudSyncConfig.from(new JsonObject().put("mail.host", "smtp.example.com")
        .put("mail.from", "CloudSync <sync@example.com>").put("notifications.batch_interval", "90s")
        .put("webhooks.disable_after", "36h").put("webhooks.log_retention", "7d"));
    assertThat(config.mail().enabled()).isTrue();
    assertThat(config.mail().batchInterval()).isEqualTo(Duration.ofSeconds(90));
    assertThat(config.webhooks().disableAfter()).isEqualTo(Duration.ofHours(36));
    assertThat(config.webhooks().logRetention()).isEqualTo(Duration.ofDays(7));
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("mail.from", "not an address")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("mail.from");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("webhooks.disable_after", "forever")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("webhooks.disable_after");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("webhooks.log_retention", "forever")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("webhooks.log_retention");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("notifications.batch_interval", "2d")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("notifications.batch_interval");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("mail.starttls", "sometimes")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("mail.starttls");
    assertThatThrownBy(() -> CloudSyncConfig.from(new JsonObject().put("webhooks.trusted_ca", "/no/such/file.pem")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("webhooks.trusted_ca");
  }
}
