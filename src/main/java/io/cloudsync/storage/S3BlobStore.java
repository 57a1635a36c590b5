package io.cloudsync.storage;

import io.cloudsync.config.CloudSyncConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.net.URI;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3AsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Chunks in an S3 bucket through the non-blocking AWS SDK v2 client; works with any
 * S3-compatible endpoint. Checksums are sent only when an operation requires them, which is what
 * S3-compatible servers accept.
 */
public final class S3BlobStore implements BlobStore {
  private static final String PREFIX = "chunks/";

  private final Vertx vertx;
  private final S3AsyncClient client;
  private final String bucket;

  S3BlobStore(Vertx vertx, S3AsyncClient client, String bucket) {
    this.vertx = vertx;
    this.client = client;
    this.bucket = bucket;
  }

  static S3BlobStore create(Vertx vertx, CloudSyncConfig.S3 config) {
    S3AsyncClientBuilder builder = S3AsyncClient.builder()
        .region(Region.of(config.region()))
        .forcePathStyle(config.pathStyle())
        .httpClientBuilder(NettyNioAsyncHttpClient.builder())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    if (!config.endpoint().isEmpty()) {
      builder.endpointOverride(URI.create(config.endpoint()));
    }
    builder.credentialsProvider(config.accessKey().isEmpty()
        ? DefaultCredentialsProvider.builder().build()
        : StaticCredentialsProvider.create(AwsBasicCredentials.create(config.accessKey(), config.secretKey())));
    return new S3BlobStore(vertx, builder.build(), config.bucket());
  }

  private static String objectKey(String key) {
    return PREFIX + BlobStore.checkKey(key);
  }

  @Override
  public Future<Void> put(String key, Buffer data) {
    String name = objectKey(key);
    return Future.fromCompletionStage(client.putObject(r -> r.bucket(bucket).key(name),
        AsyncRequestBody.fromBytes(data.getBytes())), vertx.getOrCreateContext()).mapEmpty();
  }

  @Override
  public Future<Buffer> get(String key) {
    String name = objectKey(key);
    return Future.fromCompletionStage(client.getObject(r -> r.bucket(bucket).key(name),
            AsyncResponseTransformer.toBytes()), vertx.getOrCreateContext())
        .<Buffer>map(bytes -> Buffer.buffer(bytes.asByteArray()))
        .recover(e -> Future.failedFuture(isMissing(e) ? new BlobNotFoundException(key) : e));
  }

  @Override
  public Future<Boolean> exists(String key) {
    String name = objectKey(key);
    return Future.fromCompletionStage(client.headObject(r -> r.bucket(bucket).key(name)), vertx.getOrCreateContext())
        .map(true)
        .recover(e -> isMissing(e) ? Future.succeededFuture(false) : Future.failedFuture(e));
  }

  @Override
  public Future<Void> delete(String key) {
    String name = objectKey(key);
    return Future.fromCompletionStage(client.deleteObject(r -> r.bucket(bucket).key(name)), vertx.getOrCreateContext())
        .mapEmpty();
  }

  @Override
  public Future<Void> probe() {
    String name = "probe/" + UUID.randomUUID();
    return Future.fromCompletionStage(client.putObject(r -> r.bucket(bucket).key(name),
            AsyncRequestBody.fromBytes(new byte[] {1})), vertx.getOrCreateContext())
        .compose(put -> Future.fromCompletionStage(client.deleteObject(r -> r.bucket(bucket).key(name)),
            vertx.getOrCreateContext()))
        .mapEmpty();
  }

  private static boolean isMissing(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return cause instanceof NoSuchKeyException || (cause instanceof S3Exception s3 && s3.statusCode() == 404);
  }

  @Override
  public Future<Void> close() {
    return vertx.executeBlocking(() -> {
      client.close();
      return null;
    }, false);
  }
}
