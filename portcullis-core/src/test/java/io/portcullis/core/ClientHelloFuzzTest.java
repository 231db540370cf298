package io.portcullis.core;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Fuzzes the ClientHello parser: whatever the bytes, it returns a hello or throws
 * {@link MalformedClientHelloException}, never anything else.
 *
 * <p>In a plain {@code mvn verify} this replays the seed inputs in {@code ClientHelloFuzzTestInputs/} (regression
 * mode). To fuzz for real, for {@code maxDuration} (raise it here for a long run):
 * <pre>
 * JAZZER_FUZZ=1 mvn -pl portcullis-core -am test -Dtest=ClientHelloFuzzTest -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * Jazzer then keeps the inputs it finds under {@code portcullis-core/.cifuzz-corpus/} (ignored by git) and writes
 * a crashing input next to the seed inputs, where it becomes a regression test once committed.
 */
class ClientHelloFuzzTest {

    @FuzzTest(maxDuration = "2m")
    void parsesOrRejects(byte[] body) {
        ByteBuf buf = Unpooled.wrappedBuffer(body);
        try {
            ClientHelloParser.parse(buf);
        } catch (MalformedClientHelloException expected) {
            // the only failure allowed
        } finally {
            buf.release();
        }
    }
}
