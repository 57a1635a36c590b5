package io.cloudsync.storage;

import io.netty.buffer.Unpooled;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.buffer.BufferInternal;
import java.nio.ByteBuffer;

/**
 * Buffers and arrays handed between the chunk pipeline's stages without copying them:
 * {@code Buffer.buffer(byte[])} and {@code Buffer.getBytes()} each copy, which for every chunk of
 * every upload adds up to a pass over the data. Vert.x 5 leaves wrapping to its internal API.
 */
final class Buffers {
  private Buffers() {
  }

  /** A buffer over the array itself; nobody may change the array afterwards. */
  static Buffer wrap(byte[] bytes) {
    return BufferInternal.buffer(Unpooled.wrappedBuffer(bytes));
  }

  /** The buffer's bytes as a view where it can give one, else as a copy; for reading only. */
  static ByteBuffer view(Buffer buffer) {
    return buffer instanceof BufferInternal internal ? internal.getByteBuf().nioBuffer()
        : ByteBuffer.wrap(buffer.getBytes());
  }
}
