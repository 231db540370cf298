package io.portcullis.core.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class when Netty reported a leaked buffer during it. Registered for every test through
 * JUnit's extension auto-detection. Leaks surface only after a GC and a later allocation, so both are
 * provoked here before looking.
 */
public final class LeakCheckExtension implements AfterAllCallback {

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (ResourceLeakDetector.getLevel() != ResourceLeakDetector.Level.PARANOID) {
            throw new AssertionError("tests must run with -Dio.netty.leakDetection.level=paranoid, not "
                    + ResourceLeakDetector.getLevel());
        }
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
            poke();
        }
        List<String> leaks = new ArrayList<>();
        String leak;
        while ((leak = RecordingLeakDetector.LEAKS.poll()) != null) {
            leaks.add(leak);
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " ByteBuf leak(s) reported in "
                    + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
        }
    }

    /** Tracked allocations make the detector drain its queue of collected, unreleased buffers. */
    private static void poke() {
        ByteBuf[] bufs = {
            PooledByteBufAllocator.DEFAULT.directBuffer(16),
            PooledByteBufAllocator.DEFAULT.heapBuffer(16),
            UnpooledByteBufAllocator.DEFAULT.directBuffer(16),
            UnpooledByteBufAllocator.DEFAULT.heapBuffer(16),
        };
        for (ByteBuf b : bufs) {
            b.release();
        }
    }
}
