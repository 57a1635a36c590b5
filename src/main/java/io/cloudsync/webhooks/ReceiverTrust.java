package io.cloudsync.webhooks;

import io.vertx.core.net.TrustOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * Whom https receivers may be signed by: the JVM's trusted authorities, and the CA certificates of
 * {@code webhooks.trusted_ca} (an internal CA, or a receiver's own self-signed certificate) besides.
 * Host names are still verified against the certificate.
 */
public final class ReceiverTrust {
  private ReceiverTrust() {
  }

  /** Trust options for the webhook client: the JVM's authorities and those in the PEM file. Blocking. */
  public static TrustOptions withExtraAuthorities(Path pem) throws IOException, GeneralSecurityException {
    Collection<? extends Certificate> extra;
    try (InputStream in = Files.newInputStream(pem)) {
      extra = CertificateFactory.getInstance("X.509").generateCertificates(in);
    }
    if (extra.isEmpty()) {
      throw new CertificateException(pem + " holds no PEM certificate");
    }
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int n = 0;
    for (Certificate certificate : extra) {
      store.setCertificateEntry("webhooks-trusted-" + n++, certificate);
    }
    X509TrustManager own = x509(store);
    X509TrustManager jvm = x509(null);
    return TrustOptions.wrap(new Either(List.of(own, jvm)));
  }

  private static X509TrustManager x509(KeyStore store) throws GeneralSecurityException {
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509TrustManager x509) {
        return x509;
      }
    }
    throw new GeneralSecurityException("no X.509 trust manager in " + factory.getAlgorithm());
  }

  /** Trusts a server chain that any of its managers trusts. */
  private static final class Either implements X509TrustManager {
    private final List<X509TrustManager> managers;

    Either(List<X509TrustManager> managers) {
      this.managers = managers;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      CertificateException last = null;
      for (X509TrustManager manager : managers) {
        try {
          manager.checkServerTrusted(chain, authType);
          return;
        } catch (CertificateException e) {
          last = e;
        }
      }
      throw last;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("the webhook client trusts no clients");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      List<X509Certificate> all = new ArrayList<>();
      for (X509TrustManager manager : managers) {
        all.addAll(List.of(manager.getAcceptedIssuers()));
      }
      return all.toArray(X509Certificate[]::new);
    }
  }
}
